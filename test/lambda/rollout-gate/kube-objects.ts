/**
 * Fixtures of the rollout gate's tests: Kubernetes objects as the API server sends them (JSON, timestamps
 * as strings), the gate's resource properties as CloudFormation sends them (scalars as strings), and
 * provider-framework events.
 */
import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent } from 'aws-lambda';

export const NAMESPACE = 'cortex';
export const API = 'iris';
export const SPEC_HASH = '4228a5cc03be191d';
export const OLD_SPEC_HASH = '0123456789abcdef';
const SELECTOR = { 'cortex.dev/api-name': API, 'cortex.dev/api-kind': 'RealtimeAPI' };

/** What the API server answers for objects; typed loosely, as the JSON it is. */
export type Json = Record<string, any>;

export interface DeploymentState {
  readonly replicas?: number;
  readonly updated?: number;
  /** status.replicas: old and new pods together. */
  readonly total?: number;
  readonly available?: number;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly specHash?: string;
  readonly conditions?: Json[];
}

/** The API's Deployment; by default a complete rollout of 2 replicas of {@link SPEC_HASH}. */
export function deployment(state: DeploymentState = {}): Json {
  const replicas = state.replicas ?? 2;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: API, namespace: NAMESPACE, generation: state.generation ?? 4, labels: SELECTOR },
    spec: {
      replicas,
      selector: { matchLabels: SELECTOR },
      template: {
        metadata: { labels: SELECTOR, annotations: { 'cortex.dev/spec-hash': state.specHash ?? SPEC_HASH } },
        spec: { containers: [{ name: 'api', image: 'registry.example.com/iris:2' }] },
      },
    },
    status: {
      observedGeneration: state.observedGeneration ?? state.generation ?? 4,
      replicas: state.total ?? replicas,
      updatedReplicas: state.updated ?? replicas,
      availableReplicas: state.available ?? replicas,
      readyReplicas: state.available ?? replicas,
      conditions: state.conditions ?? [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

export interface PodState {
  readonly phase?: string;
  readonly specHash?: string;
  readonly conditions?: Json[];
  readonly containerStatuses?: Json[];
  readonly initContainerStatuses?: Json[];
  readonly reason?: string;
  readonly message?: string;
}

/** A pod of the API; by default of the new revision, running and ready. */
export function pod(name: string, state: PodState = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NAMESPACE,
      labels: { ...SELECTOR, 'pod-template-hash': '5d8c7f' },
      annotations: { 'cortex.dev/spec-hash': state.specHash ?? SPEC_HASH },
    },
    spec: { containers: [{ name: 'api', image: 'registry.example.com/iris:2' }] },
    status: {
      phase: state.phase ?? 'Running',
      reason: state.reason,
      message: state.message,
      conditions: state.conditions ?? [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }],
      containerStatuses: state.containerStatuses ?? [ready('api')],
      initContainerStatuses: state.initContainerStatuses,
    },
  };
}

export function ready(container: string): Json {
  return { name: container, image: 'registry.example.com/iris:2', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2025-01-01T00:00:00Z' } } };
}

export function crashLooping(container: string, restarts: number, exitCode = 1, reason = 'Error'): Json {
  return {
    name: container,
    image: 'registry.example.com/iris:2',
    imageID: '',
    ready: false,
    restartCount: restarts,
    state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 40s restarting failed container=${container}` } },
    lastState: { terminated: { exitCode, reason, startedAt: '2025-01-01T00:00:00Z', finishedAt: '2025-01-01T00:00:05Z' } },
  };
}

export function imagePullFailing(container: string, image: string, reason = 'ImagePullBackOff', message = `Back-off pulling image "${image}"`): Json {
  return { name: container, image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } };
}

export function runningNotReady(container: string): Json {
  return { ...ready(container), ready: false };
}

/** The pod's conditions when the scheduler found no node for it. */
export function unschedulable(message: string): Json[] {
  return [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }];
}

export function event(podName: string, reason: string, message: string, lastTimestamp = '2025-01-01T00:01:00Z'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${podName}.${reason}`, namespace: NAMESPACE },
    involvedObject: { kind: 'Pod', name: podName, namespace: NAMESPACE },
    reason,
    message,
    type: 'Warning',
    lastTimestamp,
  };
}

export function list(kind: string, items: Json[]): Json {
  return { apiVersion: 'v1', kind, metadata: { resourceVersion: '1' }, items };
}

/** The gate's properties as CloudFormation sends them: every scalar a string. */
export function gateProperties(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:framework-onEvent',
    ApiName: API,
    Namespace: NAMESPACE,
    Deployment: API,
    SpecHash: SPEC_HASH,
    TimeoutSeconds: '600',
    ...overrides,
  };
}

const COMMON = {
  ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:framework-onEvent',
  ResponseURL: 'https://cloudformation-custom-resource-response.example.com/',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Cortex-Apis00/1',
  RequestId: 'request-1',
  LogicalResourceId: 'irisRolloutGate1A2B3C4D',
  ResourceType: 'Custom::CortexRolloutGate',
};

/** A provider-framework event for onEvent. */
export function onEventEvent(requestType: 'Create' | 'Update' | 'Delete', properties = gateProperties()): CdkCustomResourceEvent {
  const physical = requestType === 'Create' ? {} : { PhysicalResourceId: `rollout-gate/${NAMESPACE}/${API}` };
  const old = requestType === 'Update' ? { OldResourceProperties: gateProperties({ SpecHash: OLD_SPEC_HASH }) } : {};
  return { ...COMMON, RequestType: requestType, ResourceProperties: properties, ...physical, ...old } as unknown as CdkCustomResourceEvent;
}

/** A provider-framework event for isComplete: the request plus what onEvent returned (the start time). */
export function isCompleteEvent(
  startedAt: Date,
  requestType: 'Create' | 'Update' | 'Delete' = 'Update',
  properties = gateProperties(),
): CdkCustomResourceIsCompleteEvent {
  return {
    ...COMMON,
    RequestType: requestType,
    ResourceProperties: properties,
    PhysicalResourceId: `rollout-gate/${NAMESPACE}/${API}`,
    Data: { StartedAt: startedAt.toISOString() },
  } as unknown as CdkCustomResourceIsCompleteEvent;
}
