"""The watchdog: a process whose predictor hangs stops being ready, then exits so that its container restarts.

gunicorn's worker timeout, inside the process. Two things can wedge a runtime process:

- **Every predict thread is stuck in one call** (a ``predict`` waiting forever on a lock, a socket, a
  device...), or, with server-side batching, **the running batch is** (one batch runs at a time, so it
  holds every later request, however many threads are free). Checked on the event loop at every server
  tick (0.1 s): once every one of the ``threads_per_process`` threads has been in its current call (or the
  batch in ``predict``) for ``stuck_after`` seconds (``networking.timeout``: by then the proxy has
  answered 504 and the client has gone), the process is *stuck*: ``/healthz`` answers 503 (the proxy's readiness check follows it, so the pod leaves the
  Service's endpoints), and the log shows where each thread is. If a thread returns within ``grace``
  seconds, the process is ready again; otherwise it exits with code 3 (``EXIT_STUCK``) and the kubelet
  restarts the container. With several processes, one stuck process makes the whole replica not ready
  (``shared``), and its exit stops the others (serve.py).
- **The event loop itself is blocked** (an ``async def predict`` that never yields, a C extension that holds
  the GIL): nothing in the process can answer, so the proxy's readiness check times out, and no Python code
  can run to exit. faulthandler's watchdog thread, written in C, needs neither the loop nor the GIL: the loop
  re-arms it about once a second, and when the loop has not done so for ``stuck_after + grace`` seconds it
  writes every thread's traceback to stderr and exits the process (code 1).

Both are armed only once the predictor is ready: ``__init__`` may legitimately hold the GIL for long
(unpickling a large model). After SIGTERM (``draining``) the stuck check stops and faulthandler is re-armed
for the drain deadline plus ``DRAIN_EXIT_MARGIN_SECONDS``, so the process exits even if its shutdown hangs.
"""

import faulthandler
import logging
import os
import sys
import time
import traceback
from typing import Any, Callable, Optional

from .threads import PredictThreads

logger = logging.getLogger("cortex_runtime")

#: The exit code of a process the watchdog stopped because every predict thread was stuck.
EXIT_STUCK = 3
#: How often (at most) the loop re-arms faulthandler; each re-arm starts a new C thread.
REARM_INTERVAL_SECONDS = 1.0
#: After SIGTERM, how long past the drain deadline the process may take to exit before faulthandler ends it.
DRAIN_EXIT_MARGIN_SECONDS = 5.0


class Watchdog:
    def __init__(
        self,
        threads: PredictThreads,
        *,
        stuck_after: float,
        grace: float,
        api_name: str,
        ready: Callable[[], bool],
        shared: Optional[Any] = None,
        batcher: Optional[Any] = None,
        clock: Callable[[], float] = time.monotonic,
        exit_process: Callable[[int], Any] = os._exit,
    ) -> None:
        """``shared``: a multiprocessing ``Value('i')`` counting the replica's stuck processes, or None;
        ``batcher``: the server-side Batcher (its ``running_since``), or None."""
        if not stuck_after > 0:
            raise ValueError(f"stuck_after ({stuck_after}) must be > 0")
        if not grace >= 0:
            raise ValueError(f"grace ({grace}) must be >= 0")
        self.threads = threads
        self.stuck_after = stuck_after
        self.grace = grace
        self.api_name = api_name
        self.ready = ready
        self.shared = shared
        self.batcher = batcher
        self.clock = clock
        self.exit_process = exit_process
        #: When this process became stuck (clock time), or None.
        self.stuck_since: Optional[float] = None
        self._reason: Optional[str] = None
        self._draining = False
        self._armed_at: Optional[float] = None
        self._rearm_interval = min(REARM_INTERVAL_SECONDS, (stuck_after + grace) / 4)

    def stuck_reason(self) -> Optional[str]:
        """Why the replica is not fit to serve (this process or another one is stuck), or None."""
        if self._reason is not None:
            return self._reason
        if self.shared is not None and self.shared.value > 0:
            return "another process of this replica has every predict thread stuck"
        return None

    def tick(self) -> None:
        """Called on the event loop, about every 0.1 s, while the server runs."""
        if self._draining:
            return
        now = self.clock()
        if self.ready():
            self._rearm_loop_deadline(now)
        cause = self._stuck_cause(now)
        if cause is not None:
            if self.stuck_since is None:
                self._become_stuck(now, cause)
            elif now - self.stuck_since >= self.grace:
                self._exit()
        elif self.stuck_since is not None:
            self._recover(now)

    def draining(self, drain_timeout: float) -> None:
        """SIGTERM: no more stuck checks; the process must be gone by the drain deadline plus a margin."""
        self._draining = True
        self._arm(drain_timeout + DRAIN_EXIT_MARGIN_SECONDS)

    def stop(self) -> None:
        """The server stopped by itself: nothing left to watch."""
        self._draining = True
        try:
            faulthandler.cancel_dump_traceback_later()
        except Exception:  # noqa: B902 — nothing to cancel
            pass

    def _stuck_cause(self, now: float) -> Optional[str]:
        latest_start = self._latest_start_if_all_busy()
        if latest_start is not None and now - latest_start >= self.stuck_after:
            return (f"every predict thread ({len(self.threads.busy_since)}) has been in one call for more than "
                    f"{self.stuck_after:g} s (networking.timeout)")
        started = self.batcher.running_since if self.batcher is not None else None
        if started is not None and now - started >= self.stuck_after:
            return (f"the running batch (server_side_batching runs one at a time) has been in predict for more than "
                    f"{self.stuck_after:g} s (networking.timeout)")
        return None

    def _latest_start_if_all_busy(self) -> Optional[float]:
        latest = None
        for started in self.threads.busy_since:
            if started is None:
                return None  # a thread is free: the process serves
            if latest is None or started > latest:
                latest = started
        return latest

    def _become_stuck(self, now: float, cause: str) -> None:
        self.stuck_since = now
        self._reason = f"{cause}; the process exits in {self.grace:g} s unless it returns"
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value += 1
        logger.error("%s: not ready: %s. Where the threads are:\n%s", self.api_name, self._reason,
                     self._thread_stacks(now))

    def _recover(self, now: float) -> None:
        logger.warning("%s: predict returned after %.1f s stuck: ready again", self.api_name,
                       now - (self.stuck_since or now))
        self.stuck_since = None
        self._reason = None
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value -= 1

    def _exit(self) -> None:
        logger.error(
            "%s: predict is still stuck %g s later: exiting with code %d so that the container "
            "restarts. Where the threads are:\n%s",
            self.api_name, self.grace, EXIT_STUCK, self._thread_stacks(self.clock()),
        )
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # noqa: B902 — exiting anyway
                pass
        sys.stderr.flush()
        self.exit_process(EXIT_STUCK)

    def _thread_stacks(self, now: float) -> str:
        frames = sys._current_frames()
        parts = []
        for thread, started in zip(self.threads.threads, list(self.threads.busy_since)):
            busy = "idle" if started is None else f"in its call for {now - started:.1f} s"
            frame = frames.get(thread.ident) if thread.ident is not None else None
            stack = "".join(traceback.format_stack(frame)).rstrip() if frame is not None else "  (no stack)"
            parts.append(f"{thread.name} ({busy}):\n{stack}")
        return "\n".join(parts)

    def _rearm_loop_deadline(self, now: float) -> None:
        if self._armed_at is not None and now - self._armed_at < self._rearm_interval:
            return
        self._armed_at = now
        self._arm(self.stuck_after + self.grace)

    def _arm(self, seconds: float) -> None:
        try:
            faulthandler.dump_traceback_later(seconds, exit=True)
        except (RuntimeError, ValueError, AttributeError, OSError) as e:  # e.g. a stderr with no file descriptor
            if self._rearm_interval != float("inf"):
                logger.warning("%s: the event-loop watchdog cannot be armed, going without it: %s", self.api_name, e)
            self._rearm_interval = float("inf")

