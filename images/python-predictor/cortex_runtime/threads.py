"""The threads that run the predictor's synchronous calls (``threads_per_process`` of them).

A plain queue and ``call_soon_threadsafe``, instead of ``loop.run_in_executor``: the hand-off to a
thread and back is what a trivial predictor costs beyond a bare Starlette app, and this one costs half
of the executor's (bench/python-predictor).
"""

import asyncio
import queue
import threading
from typing import Any, Callable, List, Optional, Tuple

_Job = Optional[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], Tuple[Any, ...]]]


def _resolve(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.cancelled():
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
        # Daemons: a predict that never returns must not keep the process alive after the server stops.
        self._threads: List[threading.Thread] = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def run(self, fn: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
        """``fn(*args)`` in one of the threads; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future

    def shutdown(self) -> None:
        """Lets each thread finish its current call, then stop."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, fn, args = job
            result: Any = None
            error: Optional[BaseException] = None
            try:
                result = fn(*args)
            except BaseException as e:  # noqa: B902 — handed to the awaiting request as is
                error = e
            try:
                loop.call_soon_threadsafe(_resolve, future, result, error)
            except RuntimeError:  # the loop is closed: nobody waits for this result any more
                pass
            del job, future, result, error
