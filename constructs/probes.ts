import { k8s } from 'cdk8s-plus-30';
import type { PreStopHandler, ProbeHandler, ProbeSpec } from '../lib/config/types';

/** A container's `lifecycle`, as rendered JSON (written when the typings lacked the `sleep` action; cdk8s-plus-30's have it). */
export type LifecycleJson = { preStop: Record<string, unknown> };

function handlerToKube(handler: ProbeHandler): Pick<k8s.Probe, 'httpGet' | 'tcpSocket' | 'exec'> {
  switch (handler.type) {
    case 'http_get':
      return { httpGet: { port: k8s.IntOrString.fromNumber(handler.port), path: handler.path } };
    case 'tcp_socket':
      return { tcpSocket: { port: k8s.IntOrString.fromNumber(handler.port) } };
    case 'exec':
      return { exec: { command: [...handler.command] } };
  }
}

/** A `readiness_probe` / `liveness_probe` / `startup_probe`, every field explicit (the spec is fully defaulted). */
export function probeToKube(probe: ProbeSpec): k8s.Probe {
  return {
    ...handlerToKube(probe.handler),
    initialDelaySeconds: probe.initialDelaySeconds,
    timeoutSeconds: probe.timeoutSeconds,
    periodSeconds: probe.periodSeconds,
    successThreshold: probe.successThreshold,
    failureThreshold: probe.failureThreshold,
  };
}

/**
 * The default preStop hook: Kubernetes' native sleep action (beta, on by default since 1.30), which
 * the kubelet runs itself, so it works on distroless images that have no `sleep` binary.
 */
export function sleepPreStop(seconds: number): LifecycleJson {
  return { preStop: { sleep: { seconds } } };
}

/** A user's `pre_stop` hook. */
export function userPreStop(handler: PreStopHandler): LifecycleJson {
  const kube: k8s.LifecycleHandler =
    handler.type === 'http_get'
      ? { httpGet: { port: k8s.IntOrString.fromNumber(handler.port), path: handler.path } }
      : { exec: { command: [...handler.command] } };
  return { preStop: k8s.toJson_LifecycleHandler(kube) as Record<string, unknown> };
}
