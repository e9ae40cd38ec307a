import { MANAGED_BY, MANAGED_BY_LABEL } from '../../constructs/names';

/**
 * The APIs' namespace. Istio's sidecar injection is off for the whole namespace (`istio-injection:
 * disabled`), on top of each API pod's `sidecar.istio.io/inject: "false"`: the gateway routes to the API
 * Services directly, and a sidecar would only add latency and a second proxy to drain.
 */
export function apisNamespaceObject(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'istio-injection': 'disabled', [MANAGED_BY_LABEL]: MANAGED_BY } },
  };
}
