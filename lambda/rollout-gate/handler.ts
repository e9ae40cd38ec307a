import type {
  CdkCustomResourceEvent,
  CdkCustomResourceIsCompleteEvent,
  CdkCustomResourceIsCompleteResponse,
  CdkCustomResourceResponse,
} from 'aws-lambda';
import { checkRollout } from './gate';
import type { KubeReader } from './kube-client';
import { parseProperties } from './properties';

/** The attribute onEvent sets and isComplete reads: when the wait began (ISO 8601). */
export const STARTED_AT = 'StartedAt';

/**
 * The provider framework's onEvent: a create or update starts the wait (isComplete does the waiting);
 * a delete has nothing to wait for. The physical id names the Deployment, so that it stays the same
 * across updates of one API.
 */
export async function onEventHandler(event: CdkCustomResourceEvent, now: Date = new Date()): Promise<CdkCustomResourceResponse> {
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const props = parseProperties(event.ResourceProperties);
  return {
    PhysicalResourceId: `rollout-gate/${props.namespace}/${props.deployment}`,
    Data: { [STARTED_AT]: now.toISOString() },
  };
}

/** What isComplete works with: the cluster's API and the clock. */
export interface IsCompleteContext {
  readonly client: KubeReader;
  /** @default - now */
  readonly now?: Date;
  /** Where progress is written. @default console.log */
  readonly log?: (line: string) => void;
}

/**
 * The provider framework's isComplete, called every query interval until it returns `IsComplete: true`
 * or throws: a delete is complete at once; a create or update when the Deployment's rollout is
 * (see {@link checkRollout}). A thrown error fails the resource with its message.
 */
export async function isCompleteHandler(
  event: CdkCustomResourceIsCompleteEvent,
  context: IsCompleteContext,
): Promise<CdkCustomResourceIsCompleteResponse> {
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  const log = context.log ?? ((line: string) => console.log(line));
  const props = parseProperties(event.ResourceProperties);
  const now = context.now ?? new Date();
  const startedAt = Date.parse(String((event.Data as Record<string, unknown> | undefined)?.[STARTED_AT] ?? ''));
  // Without a start (an event not from this onEvent), count from now: the gate waits its whole timeout.
  const elapsedSeconds = Number.isNaN(startedAt) ? 0 : Math.max(0, (now.getTime() - startedAt) / 1000);
  const where = `${props.namespace}/${props.deployment} (${props.specHash})`;
  const check = await checkRollout(context.client, props, elapsedSeconds);
  if (check.complete) {
    log(`rollout of ${where} complete: ${check.note}`);
    return { IsComplete: true };
  }
  log(`rollout of ${where} after ${Math.round(elapsedSeconds)}s: ${check.progress}`);
  return { IsComplete: false };
}
