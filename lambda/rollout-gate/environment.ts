/**
 * The environment of the rollout gate's functions, which its construct (`lib/rollout-gate.ts`) sets:
 * where the cluster's API is and which cluster the EKS token names.
 */
export const ENV_CLUSTER_NAME = 'CORTEX_CLUSTER_NAME';
/** The API server's URL. */
export const ENV_CLUSTER_ENDPOINT = 'CORTEX_CLUSTER_ENDPOINT';
/** The cluster's certificate authority (base64 PEM); empty for the system's CAs. */
export const ENV_CLUSTER_CA = 'CORTEX_CLUSTER_CA';
