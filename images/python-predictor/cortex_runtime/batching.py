"""Server-side batching: concurrent requests gathered into one ``predict(list)`` call.

Requests wait on the event loop (not in threads). A batch closes when it holds ``max_batch_size``
requests, or ``batch_interval_seconds`` after its first request arrived, whichever comes first; then
the predictor is called once with the list of payloads (and, when its signature asks for them, the
lists of query parameters and headers, in the same order), in the thread pool. One batch runs at a
time per process: the next one gathers meanwhile, and leaves as soon as the running one is done if it
is already full or already waited its interval.

``predict`` must return a list (or tuple) with one prediction per request, in order: each caller gets
its own element. An element that is an exception fails that caller only. A batch whose ``predict``
raises fails the callers of that batch only, with the error mapped as for a single request; a result
of the wrong shape fails them with a BatchResultError (500) that says what was expected.

Batches do not stream: a batched ``predict`` that returns an iterator or a generator (or one per request)
fails its callers with a BatchResultError that says so (a ``predict`` written as a generator is refused
when the predictor loads: predictor.py).
"""

import asyncio
import inspect
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Deque, List, Optional

from .errors import BatchResultError, NotReadyError
from .streaming import is_stream

logger = logging.getLogger("cortex_runtime.batching")


@dataclass
class _Pending:
    payload: Any
    query_params: Any
    headers: Any
    future: "asyncio.Future[Any]"
    arrival: float = field(default=0.0)


#: Runs one batch: (payloads, query_params, headers) lists → the predictor's result, awaited.
BatchRunner = Callable[[List[Any], List[Any], List[Any]], Awaitable[Any]]


class Batcher:
    def __init__(self, run_batch: BatchRunner, max_batch_size: int, batch_interval_seconds: float) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size ({max_batch_size}) must be >= 1")
        if not batch_interval_seconds > 0:
            raise ValueError(f"batch_interval_seconds ({batch_interval_seconds}) must be > 0")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.batch_interval = batch_interval_seconds
        self._queue: Deque[_Pending] = deque()
        self._wakeup: Optional[asyncio.Event] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._closed = False
        #: Sizes of the batches run so far (the most recent last; bounded), for tests and logs.
        self.batch_sizes: Deque[int] = deque(maxlen=1000)
        #: The time.monotonic() at which the running batch was handed to predict; None between batches. One
        #: batch runs at a time: one that never returns holds every later request (the watchdog checks it).
        self.running_since: Optional[float] = None

    @property
    def pending(self) -> int:
        """Requests waiting for a batch (not those in the running one)."""
        return len(self._queue)

    async def submit(self, payload: Any, query_params: Any, headers: Any) -> Any:
        """This caller's prediction, once its batch has run."""
        if self._closed:
            raise NotReadyError("the server is shutting down")
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name="cortex-batcher")
        pending = _Pending(payload, query_params, headers, loop.create_future(), loop.time())
        self._queue.append(pending)
        assert self._wakeup is not None
        self._wakeup.set()
        return await pending.future

    async def close(self) -> None:
        """Stops gathering; requests still waiting fail with 503."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(NotReadyError("the server is shutting down"))

    async def _run(self) -> None:
        try:
            await self._gather_and_run()
        except Exception as e:  # a bug of ours: fail the waiting requests rather than leave them hanging
            logger.exception("the batcher failed; failing the %d waiting requests", len(self._queue))
            while self._queue:
                pending = self._queue.popleft()
                if not pending.future.done():
                    pending.future.set_exception(e)
            self._task = None  # the next request starts a new one

    async def _gather_and_run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            while not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            deadline = self._queue[0].arrival + self.batch_interval
            while len(self._queue) < self.max_batch_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch: List[_Pending] = []
            while self._queue and len(batch) < self.max_batch_size:
                pending = self._queue.popleft()
                # A caller that went away (its request task was cancelled) is not predicted for.
                if not pending.future.done():
                    batch.append(pending)
            if batch:
                await self._run_one(batch)

    async def _run_one(self, batch: List[_Pending]) -> None:
        self.batch_sizes.append(len(batch))
        self.running_since = time.monotonic()
        try:
            results = await self.run_batch(
                [p.payload for p in batch], [p.query_params for p in batch], [p.headers for p in batch]
            )
        except asyncio.CancelledError:
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(NotReadyError("the server is shutting down"))
            raise
        except BaseException as e:  # noqa: B902 — each caller gets the error, mapped by errors.py
            logger.debug("a batch of %d failed: %r", len(batch), e)
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        finally:
            self.running_since = None
        if is_stream(results) or (isinstance(results, (list, tuple)) and any(is_stream(r) for r in results)):
            error = BatchResultError(
                "with server_side_batching, predict cannot stream: it returned an iterator or a generator "
                f"({'for the batch' if is_stream(results) else 'for a request'}); return a list of one prediction "
                "per request, or turn server_side_batching off to stream"
            )
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(error)
            _close_streams(results)
            return
        if not isinstance(results, (list, tuple)) or len(results) != len(batch):
            got = f"{len(results)} predictions" if isinstance(results, (list, tuple)) else f"a {type(results).__name__}"
            error = BatchResultError(
                f"with server_side_batching, predict must return a list of one prediction per request, in order: "
                f"got {got} for a batch of {len(batch)} requests"
            )
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        for p, result in zip(batch, results):
            if p.future.done():
                continue
            if isinstance(result, BaseException):
                p.future.set_exception(result)
            else:
                p.future.set_result(result)


def _close_streams(results: Any) -> None:
    # Generators refused unread: closed, so that their finally runs now rather than at garbage collection.
    for value in (results,) + (tuple(results) if isinstance(results, (list, tuple)) else ()):
        close = getattr(value, "close", None) if inspect.isgenerator(value) else None
        if close is not None:
            try:
                close()
            except Exception:  # noqa: B902
                logger.exception("closing a refused generator raised")
