/**
 * The limits and defaults the proxy's flags share with a cortex.yaml's fields and the charts' checks, written
 * once. The file sits among the proxy's sources so that the proxy's image (built from images/proxy alone) and
 * `npx cortex-proxy` compile it in; lib/config and constructs import it from here. No imports: the proxy stays
 * standalone.
 */

/** TCP ports a server can listen on or be reached at. */
export const PORT_RANGE = { min: 1, max: 65535 } as const;

/**
 * `pod.max_concurrency` (`--max-concurrency`): requests let into the user's server at once. At most 30000, as
 * in Cortex: each of them holds two connections in the proxy (the client's, the user server's).
 */
export const MAX_CONCURRENCY_RANGE = { min: 1, max: 30000 } as const;

/**
 * `pod.max_queue_length` (`--max-queue-length`): requests that may wait beyond those, each holding its client's
 * connection. 0 is no queue: past max_concurrency a request gets 503 at once, for servers where a wait is worse
 * than a retry elsewhere (Cortex asked for at least 1; every file it accepted is still accepted).
 */
export const MAX_QUEUE_LENGTH_RANGE = { min: 0, max: 30000 } as const;

/** What a pod's proxy gets when the cortex.yaml leaves them out, and what `cortex-proxy` takes without flags. */
export const QUEUE_DEFAULTS = {
  maxConcurrency: 1,
  maxQueueLength: 100,
} as const;

/**
 * The longest a request may take, the default `networking.timeout`: the proxy's queue and upstream timeouts
 * default to it, so that it never gives up on a request before the gateway does.
 */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 600;

/**
 * The proxy's timeouts on silence (a request head that does not arrive, a body that stops moving): nginx's 60 s.
 * A chart passes `networking.timeout` instead when that is shorter (the gateway has given up by then).
 */
export const SILENCE_TIMEOUT_SECONDS = 60;
