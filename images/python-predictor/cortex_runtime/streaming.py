"""Streamed predictions: a ``predict`` that returns an iterator sends each item as it is produced.

What streams: a generator, an async generator, or any other iterator / async iterator (an object with
``__next__`` or ``__anext__``). A ``str``, ``bytes``, ``dict`` or ``list`` is iterable but is one prediction,
never a stream.

Two formats, chosen per request:

- **Server-sent events** (``text/event-stream``) when the request's ``Accept`` names ``text/event-stream``, or
  when ``predict`` returns ``EventStream(items)``: one event per item, ``data:`` lines then a blank line. A
  ``str`` item is the event's text, one ``data:`` line per line of it (the SSE format has no other way to
  carry a line break); a ``bytes`` item likewise, as is; anything else is written as one line of JSON.
- **Chunked transfer** otherwise: each item is written as soon as it is produced. A ``str`` item as UTF-8,
  ``bytes`` as is, anything else as one line of JSON followed by ``\\n`` (JSON lines). The response's
  Content-Type follows the first item: ``text/plain; charset=utf-8``, ``application/octet-stream`` or
  ``application/x-ndjson``.

The status is decided when the first item arrives: a generator that raises before its first item is answered
like a ``predict`` that raised (400 for a ``UserError``, 500 otherwise). After that the status is sent; an
error between items ends a server-sent-events stream with an ``event: error`` (the message a non-streamed
error would carry), and cuts a chunked one without its final chunk, so that the client sees an incomplete
response rather than a short one that looks whole.

The next item of a synchronous iterator is computed in the runtime's predict threads (threads.py), one call
per item: the event loop stays free, and the watchdog sees a stream that keeps producing as a series of short
calls, never as one stuck call. Async iterators run on the event loop.

A client that goes away stops the stream: the runtime stops asking for items and closes the iterator
(``close()`` on a generator, so its ``finally`` runs; ``aclose()`` on an async one). An async generator
waiting on an ``await`` is cancelled there (``asyncio.CancelledError`` raised at that ``await``). A
synchronous ``next()`` cannot be interrupted: the iterator is closed as soon as that call returns, and its
item is dropped.
"""

import asyncio
import inspect
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Awaitable, Callable, List, Optional

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from .errors import error_response, error_status, public_message
from .payloads import parse_options
from .threads import PredictThreads

logger = logging.getLogger("cortex_runtime")

SSE_MEDIA_TYPE = "text/event-stream"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
BYTES_MEDIA_TYPE = "application/octet-stream"
JSON_LINES_MEDIA_TYPE = "application/x-ndjson"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_END = object()


class EventStream:
    """Returned by ``predict``: stream ``items`` as server-sent events whatever the request's ``Accept`` says."""

    def __init__(self, items: Any) -> None:
        if not is_stream(items):
            raise TypeError(
                f"EventStream takes an iterator or a generator (sync or async), got a {type(items).__name__}"
            )
        self.items = items


def is_stream(value: Any) -> bool:
    """Whether a prediction is to be streamed: an iterator, not merely an iterable (a str, a dict, a list)."""
    if isinstance(value, (str, bytes, bytearray, memoryview, Mapping, list, tuple, Response)):
        return False
    return isinstance(value, (Iterator, AsyncIterator, EventStream))


def accepts_event_stream(accept: Optional[str]) -> bool:
    """Whether an ``Accept`` header names ``text/event-stream`` (with a q above 0)."""
    if not accept:
        return False
    for part in accept.split(","):
        media_type, params = parse_options(part)
        if media_type == SSE_MEDIA_TYPE:
            try:
                return float(params.get("q", "1")) > 0
            except ValueError:
                return True
    return False


def _json_line(item: Any, default: Callable[[Any], Any]) -> str:
    return json.dumps(item, default=default, ensure_ascii=False, separators=(",", ":"))


def encode_event(item: Any, default: Callable[[Any], Any]) -> bytes:
    """One server-sent event carrying ``item``."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        lines = _LINE_BREAK_BYTES.split(bytes(item))
        return b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    text = item if isinstance(item, str) else _json_line(item, default)
    return "".join(f"data: {line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8", "surrogatepass") + b"\n"


def encode_chunk(item: Any, default: Callable[[Any], Any]) -> bytes:
    """One chunk of a chunked stream carrying ``item``."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass")
    return (_json_line(item, default) + "\n").encode("utf-8", "surrogatepass")


def chunked_media_type(first: Any) -> str:
    if isinstance(first, (bytes, bytearray, memoryview)):
        return BYTES_MEDIA_TYPE
    if isinstance(first, str):
        return TEXT_MEDIA_TYPE
    return JSON_LINES_MEDIA_TYPE


def _next_or_end(iterator: Any) -> Any:
    try:
        return next(iterator)
    except StopIteration:
        return _END


def _close_quietly(iterator: Any, what: str) -> None:
    close = getattr(iterator, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # noqa: B902 — the client is gone; the log is the only place left
        logger.exception("%s: closing the stream's iterator raised", what)


class ItemSource:
    """The items of one stream, one at a time: sync iterators in the predict threads, async ones on the loop."""

    def __init__(self, items: Any, threads: PredictThreads, api_name: str) -> None:
        self.items = items
        self.is_async = isinstance(items, AsyncIterator)
        self.threads = threads
        self.api_name = api_name
        self._step: Optional["asyncio.Future[Any]"] = None
        self.closed = False

    async def next(self) -> Any:
        """The next item, or ``_END``."""
        if self.is_async:
            try:
                return await self.items.__anext__()
            except StopAsyncIteration:
                if inspect.isasyncgen(self.items):
                    self.closed = True
                return _END
        step = self.threads.run(_next_or_end, self.items)
        self._step = step
        # Shielded: cancelled, this request stops waiting, but the thread still owns the iterator until next()
        # returns; close() must wait for that (a generator cannot be closed while it runs).
        result = await asyncio.shield(step)
        self._step = None
        if result is _END and inspect.isgenerator(self.items):
            self.closed = True  # run to its end: nothing left to close
        return result

    async def close(self) -> None:
        """Stops the iterator; returns at once when a ``next()`` still runs (the close follows it)."""
        if self.closed:
            return
        self.closed = True
        if self.is_async:
            aclose = getattr(self.items, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: B902
                    logger.exception("%s: closing the stream's async iterator raised", self.api_name)
            return
        step = self._step
        if step is not None and not step.done():
            step.add_done_callback(lambda _: self.threads.run(_close_quietly, self.items, self.api_name))
            return
        await self.threads.run(_close_quietly, self.items, self.api_name)


class StreamResponse(Response):
    """Streams an ``ItemSource`` (see the module's docstring), watching for the client to leave meanwhile.

    ``on_complete(items)``: awaited after the last item was sent (post_predict), with every item when
    ``collect`` is set."""

    def __init__(self, source: ItemSource, *, sse: bool, request_id: str, default: Callable[[Any], Any],
                 on_complete: Optional[Callable[[List[Any]], Awaitable[None]]] = None) -> None:
        self.source = source
        self.sse = sse
        self.request_id = request_id
        self.default = default
        self.on_complete = on_complete
        self.status_code = 200
        self.background = None
        self.completed = False
        self.disconnected = False
        self._started = False
        self.raw_headers = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        streaming = asyncio.ensure_future(self._stream(scope, receive, send))
        watching = asyncio.ensure_future(_until_disconnect(receive))
        try:
            await asyncio.wait((streaming, watching), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not streaming.done():
                self.disconnected = watching.done()
                streaming.cancel()
            watching.cancel()
            await asyncio.gather(streaming, watching, return_exceptions=True)
            await self.source.close()
        if self.disconnected:
            logger.info("request %s: the client went away: its stream was stopped", self.request_id)
            return
        error = streaming.exception() if not streaming.cancelled() else None
        if error is not None:
            raise error
        if self.completed and self.on_complete is not None:
            await self.on_complete(self._items)

    async def _stream(self, scope: Any, receive: Any, send: Any) -> None:
        self._items: List[Any] = []
        collect = self.on_complete is not None
        encode = encode_event if self.sse else encode_chunk
        try:
            item = await self.source.next()
        except Exception as e:  # before the status is sent: answered as a predict that raised
            await error_response(e, request_id=self.request_id)(scope, receive, send)
            return
        media_type = SSE_MEDIA_TYPE if self.sse else (TEXT_MEDIA_TYPE if item is _END else chunked_media_type(item))
        headers = [(b"content-type", media_type.encode("latin-1")), (b"cache-control", b"no-cache"),
                   (b"x-accel-buffering", b"no")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        while item is not _END:
            try:
                chunk = encode(item, self.default)
            except (TypeError, ValueError, RecursionError) as e:
                await self._fail(send, TypeError(
                    f"the stream yielded a {type(item).__name__} that cannot be sent as JSON ({e}); yield a dict, "
                    "list, str, number or bytes"))
                return
            if collect:
                self._items.append(item)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            try:
                item = await self.source.next()
            except Exception as e:  # noqa: B902 — mapped as for a predict that raised
                await self._fail(send, e)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.completed = True

    async def _fail(self, send: Any, error: BaseException) -> None:
        status = error_status(error)
        logger.log(logging.ERROR if status >= 500 else logging.INFO,
                   "request %s: the stream failed after it started (%d): %s", self.request_id, status, error,
                   exc_info=error if status >= 500 else None)
        if self.sse:
            message = public_message(error, status)
            body = b"event: error\n" + encode_event(message, self.default)
            await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # A chunked stream is left without its last chunk: the server closes the connection, and the client
        # sees an incomplete response.


async def _until_disconnect(receive: Any) -> None:
    # The body has been read whole: what the server hands over now can only be the client's disconnect.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def cancel_on_disconnect(work: Awaitable[Any], receive: Any) -> Any:
    """``work``'s result; if the client leaves first, ``work`` is cancelled and ClientDisconnect raised."""
    working = asyncio.ensure_future(work)
    watching = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait((working, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        if not working.done():
            working.cancel()
    if not working.done() or working.cancelled():
        await asyncio.gather(working, return_exceptions=True)
        raise ClientDisconnect()
    return working.result()


def stream_items(prediction: Any) -> Any:
    """The iterator of a streamed prediction (``EventStream`` unwrapped)."""
    return prediction.items if isinstance(prediction, EventStream) else prediction


def describe(prediction: Any) -> str:
    kind = "async " if isinstance(stream_items(prediction), AsyncIterator) else ""
    gen = inspect.isgenerator(prediction) or inspect.isasyncgen(prediction)
    return f"a {kind}{'generator' if gen else 'iterator'}"

