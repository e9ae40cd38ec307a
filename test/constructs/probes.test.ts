import { k8s } from 'cdk8s-plus-30';
import { probeToKube, sleepPreStop, userPreStop } from '../../constructs/probes';
import { probe } from './fixtures';

describe('probes', () => {
  test('GIVEN an http_get probe THEN httpGet with port and path, and every timing', () => {
    const spec = probe({ type: 'http_get', port: 8080, path: '/healthz' }, { initialDelaySeconds: 5, failureThreshold: 10 });
    expect(k8s.toJson_Probe(probeToKube(spec))).toEqual({
      httpGet: { port: 8080, path: '/healthz' },
      initialDelaySeconds: 5,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 10,
    });
  });

  test('GIVEN a tcp_socket probe THEN tcpSocket', () => {
    expect(k8s.toJson_Probe(probeToKube(probe({ type: 'tcp_socket', port: 9000 })))).toMatchObject({ tcpSocket: { port: 9000 } });
  });

  test('GIVEN an exec probe THEN exec with the command, copied', () => {
    const command = ['check'];
    const kube = k8s.toJson_Probe(probeToKube(probe({ type: 'exec', command })));
    expect(kube).toMatchObject({ exec: { command: ['check'] } });
    expect(kube!.exec.command).not.toBe(command);
  });

  test('the default preStop is the native sleep action', () => {
    expect(sleepPreStop(15)).toEqual({ preStop: { sleep: { seconds: 15 } } });
  });

  test('a user pre_stop maps to httpGet or exec', () => {
    expect(userPreStop({ type: 'http_get', port: 8080, path: '/stop' })).toEqual({ preStop: { httpGet: { port: 8080, path: '/stop' } } });
    expect(userPreStop({ type: 'exec', command: ['stop.sh'] })).toEqual({ preStop: { exec: { command: ['stop.sh'] } } });
  });
});
