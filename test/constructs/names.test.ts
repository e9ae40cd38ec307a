import {
  API_KIND_LABEL,
  API_NAME_LABEL,
  MANAGED_BY_LABEL,
  objectLabels,
  selectorLabels,
  serviceHost,
} from '../../constructs/names';

describe('names', () => {
  test('GIVEN an API WHEN its selector labels are asked THEN exactly the name and kind labels', () => {
    expect(selectorLabels('iris', 'RealtimeAPI')).toEqual({ [API_NAME_LABEL]: 'iris', [API_KIND_LABEL]: 'RealtimeAPI' });
  });

  test('object labels add who manages the object, on top of the selector labels', () => {
    const labels = objectLabels('split', 'TrafficSplitter');
    expect(labels).toMatchObject(selectorLabels('split', 'TrafficSplitter'));
    expect(labels[MANAGED_BY_LABEL]).toBe('cortex-cdk');
  });

  test('the Service host is the cluster-local DNS name', () => {
    expect(serviceHost('iris', 'cortex')).toBe('iris.cortex.svc.cluster.local');
  });
});
