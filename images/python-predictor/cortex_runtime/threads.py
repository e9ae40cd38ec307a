"""The threads that run the predictor's synchronous calls (``threads_per_process`` of them).

A plain queue and ``call_soon_threadsafe``, instead of ``loop.run_in_executor``: the hand-off to a
thread and back is what a trivial predictor costs beyond a bare Starlette app, and this one costs half
of the executor's (bench/python-predictor).

Each thread records when it started its current call (``busy_since``), so that the watchdog can tell
when every thread has been stuck in one call for too long (watchdog.py).
"""

import asyncio
import queue
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

_Job = Optional[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], Tuple[Any, ...]]]


def _resolve(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.done():  # cancelled, or abandoned at the drain deadline
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class PredictThreads:
    def __init__(self, count: int, name: str = "cortex-predict") -> None:
        if count < 1:
            raise ValueError(f"count ({count}) must be >= 1")
        self._jobs: "queue.SimpleQueue[_Job]" = queue.SimpleQueue()
        #: Per thread, the time.monotonic() at which its current call started; None while it waits for one.
        self.busy_since: List[Optional[float]] = [None] * count
        #: Per thread, the future of its current call (for ``abandon``).
        self._current: List[Optional["asyncio.Future[Any]"]] = [None] * count
        # Daemons: a predict that never returns must not keep the process alive after the server stops.
        self._threads: List[threading.Thread] = [
            threading.Thread(target=self._work, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def run(self, fn: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
        """``fn(*args)`` in one of the threads; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future

    @property
    def threads(self) -> List[threading.Thread]:
        return list(self._threads)

    def abandon(self, error: Callable[[], BaseException]) -> int:
        """On the event loop: fails the calls still running (their threads go on; what they return is dropped)
        and those still waiting for a thread, each with ``error()``. Returns how many were failed."""
        failed = 0
        for future in list(self._current):
            if future is not None and not future.done():
                future.set_exception(error())
                failed += 1
        stops = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stops += 1
            elif not job[1].done():
                job[1].set_exception(error())
                failed += 1
        for _ in range(stops):
            self._jobs.put(None)
        return failed

    def shutdown(self) -> None:
        """Lets each thread finish its current call, then stop."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self, index: int) -> None:
        busy_since = self.busy_since
        current = self._current
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, fn, args = job
            current[index] = future
            result: Any = None
            error: Optional[BaseException] = None
            busy_since[index] = time.monotonic()
            try:
                result = fn(*args)
            except BaseException as e:  # noqa: B902 — handed to the awaiting request as is
                error = e
            finally:
                busy_since[index] = None
                current[index] = None
            try:
                loop.call_soon_threadsafe(_resolve, future, result, error)
            except RuntimeError:  # the loop is closed: nobody waits for this result any more
                pass
            # Not one reference left while waiting for the next job: args holds the request's payload.
            del job, future, fn, args, result, error
