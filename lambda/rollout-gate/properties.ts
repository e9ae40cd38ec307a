/**
 * The properties of a rollout gate resource, as its construct writes them and its handler reads them.
 * CloudFormation hands every scalar over as a string.
 */
export const PROPERTY = {
  apiName: 'ApiName',
  namespace: 'Namespace',
  deployment: 'Deployment',
  specHash: 'SpecHash',
  timeoutSeconds: 'TimeoutSeconds',
  deployTimeInputs: 'DeployTimeInputs',
} as const;

/** What one gate waits for. */
export interface RolloutGateProperties {
  /** The API, for the messages. */
  readonly apiName: string;
  readonly namespace: string;
  /** The Deployment's name. */
  readonly deployment: string;
  /** The pod template's `cortex.dev/spec-hash`: the revision this gate waits for. */
  readonly specHash: string;
  /** How long the rollout may take, from the resource's create or update, before the gate fails it. */
  readonly timeoutSeconds: number;
  /**
   * The pod template's deploy-time values (image URIs of assets...), resolved by CloudFormation. The handler
   * does not read them: they are there so that a change of one, which rolls the pods without changing the
   * spec hash, updates the resource and so runs the gate again.
   */
  readonly deployTimeInputs: readonly string[];
}

/** Reads and checks a gate's properties; throws an Error naming the property that is wrong. */
export function parseProperties(raw: Record<string, unknown> | undefined): RolloutGateProperties {
  const props = raw ?? {};
  const text = (key: string): string => {
    const value = props[key];
    if (typeof value !== 'string' || value === '') {
      throw new Error(`rollout gate: property ${key} (${JSON.stringify(value)}) must be a non-empty string`);
    }
    return value;
  };
  const apiName = text(PROPERTY.apiName);
  const namespace = text(PROPERTY.namespace);
  const deployment = text(PROPERTY.deployment);
  const specHash = text(PROPERTY.specHash);
  const timeoutText = props[PROPERTY.timeoutSeconds];
  const timeoutSeconds = typeof timeoutText === 'number' ? timeoutText : Number(timeoutText);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw new Error(`rollout gate: property ${PROPERTY.timeoutSeconds} (${JSON.stringify(timeoutText)}) must be a positive whole number of seconds`);
  }
  const inputs = props[PROPERTY.deployTimeInputs];
  return {
    apiName,
    namespace,
    deployment,
    specHash,
    timeoutSeconds,
    deployTimeInputs: Array.isArray(inputs) ? inputs.map(String) : [],
  };
}
