import { apisNamespaceObject } from '../../../lib/platform/apis-namespace';
import { validateObjects } from '../../schema/validate';

describe('apisNamespaceObject', () => {
  test('a Namespace with Istio sidecar injection disabled, valid against the Kubernetes schema', () => {
    const ns = apisNamespaceObject('cortex');
    expect(ns).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'cortex', labels: { 'istio-injection': 'disabled', 'app.kubernetes.io/managed-by': 'cortex-cdk' } },
    });
    expect(validateObjects([ns])).toEqual([]);
  });
});
