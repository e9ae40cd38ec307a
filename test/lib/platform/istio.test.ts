import { Template } from 'aws-cdk-lib/assertions';
import { Istio, UPSTREAM_TCP_KEEPALIVE, istiodValues } from '../../../lib/platform/istio';
import { dependsOn, helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('Istio', () => {
  // GIVEN Istio on a cluster, synthesized once
  const stack = newStack();
  const istio = new Istio(stack, 'Istio', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);

  test('base: the CRDs, Istio 1.30.3 from the Istio repository, in istio-system', () => {
    expect(helmRelease(template, 'istio-base').properties).toMatchObject({
      Chart: 'base',
      Repository: 'https://istio-release.storage.googleapis.com/charts',
      Version: '1.30.3',
      Namespace: 'istio-system',
    });
    expect(helmValues(template, 'istio-base')).toEqual({ defaultRevision: 'default' });
  });

  test('istiod: the same version, waited for, after base', () => {
    const istiod = helmRelease(template, 'istiod');
    expect(istiod.properties).toMatchObject({
      Chart: 'istiod',
      Repository: 'https://istio-release.storage.googleapis.com/charts',
      Version: '1.30.3',
      Namespace: 'istio-system',
      Wait: true,
    });
    expect(dependsOn(template, istiod.logicalId, helmRelease(template, 'istio-base').logicalId)).toBe(true);
    expect(helmValues(template, 'istio-base')).not.toHaveProperty('resources');
    expect(helmValues(template, 'istiod')).toEqual(istiodValues());
    expect(istio.version).toBe('1.30.3');
  });

  test("TCP keepalive towards the APIs' pods (meshConfig.tcpKeepalive): probes every 60 s of silence, 5 unanswered close the connection", () => {
    expect(helmValues(template, 'istiod').meshConfig).toEqual({ tcpKeepalive: { time: '60s', interval: '60s', probes: 5 } });
    expect(UPSTREAM_TCP_KEEPALIVE).toEqual({ time: '60s', interval: '60s', probes: 5 });
  });

  test('version, repository and values are overridable', () => {
    const other = newStack();
    new Istio(other, 'Istio', {
      cluster: importedCluster(other),
      version: '1.29.1',
      repository: 'https://mirror.example.com/istio',
      values: { resources: { requests: { cpu: '1' } } },
      baseValues: { base: { enableIstioConfigCRDs: true } },
    });
    const t = Template.fromStack(other);
    expect(helmRelease(t, 'istiod').properties).toMatchObject({ Version: '1.29.1', Repository: 'https://mirror.example.com/istio' });
    expect(helmRelease(t, 'istio-base').properties).toMatchObject({ Version: '1.29.1' });
    expect(helmValues(t, 'istiod').resources.requests).toEqual({ cpu: '1', memory: '512Mi' });
    expect(helmValues(t, 'istio-base')).toEqual({ defaultRevision: 'default', base: { enableIstioConfigCRDs: true } });
  });

  test('refuses an Istio without networking.istio.io/v1', () => {
    const other = newStack();
    expect(() => new Istio(other, 'Istio', { cluster: importedCluster(other), version: '1.21.6' })).toThrow(
      /istio\.version \("1\.21\.6"\) must be 1\.22\.0 or newer: the APIs' VirtualServices and the APIs gateway are networking\.istio\.io\/v1 objects/,
    );
  });

  test('refuses a version range', () => {
    const other = newStack();
    expect(() => new Istio(other, 'Istio', { cluster: importedCluster(other), version: '1.30.x' })).toThrow(
      /istio\.version \("1\.30\.x"\) must be an exact chart version/,
    );
  });
});
