import { checkAddonVersion, checkChartVersion, checkMinimumVersion } from '../../../lib/platform/validation';
import {
  CHARTS,
  EKS_ADDON_VERSIONS,
  ISTIO_VERSION,
  KUBERNETES_VERSION_IMAGES,
  MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION_FOR_API_METRICS,
  SUPPORTED_KUBERNETES_VERSIONS,
} from '../../../lib/platform/versions';

describe('pinned versions', () => {
  test('Istio and KEDA match the CRDs the charts in constructs/ were generated from (constructs/imports)', () => {
    expect(ISTIO_VERSION).toBe('1.30.3');
    expect([CHARTS.istioBase.version, CHARTS.istiod.version, CHARTS.istioGateway.version]).toEqual(['1.30.3', '1.30.3', '1.30.3']);
    expect(CHARTS.keda.version).toBe('2.20.2');
  });

  test.each(Object.entries(CHARTS))('%s is pinned to an exact version of a named chart', (_name, source) => {
    expect(() => checkChartVersion('version', source.version)).not.toThrow();
    expect(source.chart).toMatch(/^[a-z0-9-]+$/);
    expect(source.repository).toMatch(/^(https:\/\/|oci:\/\/)/);
  });

  test('an OCI repository is the reference of the chart itself (what the kubectl handler pulls)', () => {
    expect(CHARTS.neuron.repository.endsWith(`/${CHARTS.neuron.chart}`)).toBe(true);
  });

  test.each(SUPPORTED_KUBERNETES_VERSIONS)('the images pinned for %s are of that minor', (minor) => {
    const images = KUBERNETES_VERSION_IMAGES[minor];
    expect(images.clusterAutoscaler).toMatch(new RegExp(`^v${minor.replace('.', '\\.')}\\.\\d+$`));
    expect(images.kubeScheduler).toMatch(new RegExp(`^v${minor.replace('.', '\\.')}\\.\\d+-eks-${minor.replace('.', '-')}-\\d+$`));
  });

  test.each(Object.entries(EKS_ADDON_VERSIONS))('the %s EKS add-on is pinned to a version as EKS lists them', (_name, version) => {
    expect(() => checkAddonVersion('addonVersion', version)).not.toThrow();
  });

  test('the CloudWatch add-on: new enough for the per-API metrics agent, and of the 4.x line (no OTel Container Insights agent)', () => {
    const pinned = EKS_ADDON_VERSIONS.cloudWatchObservability;
    expect(() => checkMinimumVersion('v', pinned, MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION_FOR_API_METRICS, '')).not.toThrow();
    expect(() => checkMinimumVersion('v', pinned, '4.2.0', '')).not.toThrow();
    expect(pinned).toMatch(/^v4\./);
  });

  test('supports the project default, Kubernetes 1.36', () => {
    expect(SUPPORTED_KUBERNETES_VERSIONS).toContain('1.36');
  });
});
