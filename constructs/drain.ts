/**
 * How a terminating API pod drains, so that a rolling update (or a scale-down, or a node drain)
 * drops no request. See docs/kubernetes-objects.md, "Draining".
 *
 * t = 0           the pod is deleted; its endpoint turns "terminating" and istiod pushes the change
 *                 to the gateway's Envoy, which keeps routing here for a few seconds meanwhile.
 * t = delay       the proxy's preStop sleep ends; it gets SIGTERM, accepts nothing new (nothing new
 *                 arrives any more) and drains its queue and in-flight requests.
 * t = delay + W   the user containers' preStop sleep ends; they get SIGTERM. Until then they serve
 *                 whatever the proxy still forwards.
 * t = grace       the kubelet kills whatever is left.
 */

/** How long the gateway may keep sending new requests to a deleted pod (Envoy endpoint propagation). */
export const ENDPOINT_PROPAGATION_SECONDS = 15;

/**
 * Upper bound of the window user containers keep serving after the proxy starts draining. A sleep
 * cannot end early, so every terminating pod holds its node's resources (a GPU...) that long even
 * when idle; 45 s clears the backlog of any reasonably sized proxy queue.
 */
export const MAX_DRAIN_WINDOW_SECONDS = 45;

/** The floor of terminationGracePeriodSeconds. */
export const MIN_TERMINATION_GRACE_PERIOD_SECONDS = 60;

/** Slack after the last request could have ended, for the processes to exit. */
const EXIT_SLACK_SECONDS = 5;

export interface DrainPlan {
  /** preStop sleep of the proxy sidecar. */
  readonly proxyPreStopSleepSeconds: number;
  /** Default preStop sleep of user containers (a user `pre_stop` replaces it). */
  readonly userPreStopSleepSeconds: number;
  /** The pod's terminationGracePeriodSeconds. */
  readonly terminationGracePeriodSeconds: number;
  /** The proxy's `--drain-timeout`: what is left of the grace period after its preStop, less the exit slack. */
  readonly proxyDrainTimeoutSeconds: number;
}

/**
 * The drain timings for an API whose gateway timeout is `timeoutSeconds`. No request admitted
 * before the endpoint left the gateway outlives `delay + timeoutSeconds` (the gateway gives up on
 * it then), so the grace period covers that, and the drain window need never exceed it.
 */
export function drainPlan(timeoutSeconds: number): DrainPlan {
  const delay = ENDPOINT_PROPAGATION_SECONDS;
  const window = Math.min(timeoutSeconds, MAX_DRAIN_WINDOW_SECONDS);
  const terminationGracePeriodSeconds = Math.max(
    MIN_TERMINATION_GRACE_PERIOD_SECONDS,
    Math.ceil(delay + timeoutSeconds + EXIT_SLACK_SECONDS),
  );
  return {
    proxyPreStopSleepSeconds: delay,
    userPreStopSleepSeconds: delay + window,
    terminationGracePeriodSeconds,
    proxyDrainTimeoutSeconds: terminationGracePeriodSeconds - delay - EXIT_SLACK_SECONDS,
  };
}
