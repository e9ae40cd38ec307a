"""The HTTP surface: a Starlette app serving one predictor (which it is handed, ready or not).

- ``POST /`` (and ``/predict``, ``/predict/``: Cortex's route, which its clients and chained APIs
  call): the body → ``payload`` (payloads.py: JSON for ``application/json``; a ``str`` for
  ``text/plain``; ``FormData`` for ``multipart/form-data`` and ``application/x-www-form-urlencoded``;
  the raw ``bytes`` otherwise; a body over ``$CORTEX_MAX_BODY_SIZE`` is a 413), with ``query_params``
  and ``headers`` as Starlette's ``QueryParams`` and ``Headers`` (what Cortex passed) → ``predict`` →
  the response, as Cortex v0.30 sent it: a ``str`` as ``text/plain``; ``bytes`` as
  ``application/octet-stream``; a Starlette ``Response`` as it is; anything else as JSON (numpy values
  too); an iterator or generator (sync or async) is streamed, as server-sent events or chunked (streaming.py).
  An error response carries ``X-Request-Id`` (the caller's, else a new one), which its log line
  has too. ``?debug=true`` logs the payload and the prediction when the API allows it
  (``allow_debug``), and is ignored otherwise. ``post_predict`` runs after the response has been sent.
- ``GET /`` (and ``/predict``): Cortex's ``{"message": ...}`` summary, with the models' versions
  (``model_metadata``) when models are set, plus the API's name and whether it is ready.

and, on a second app served on the runtime's internal admin port (``app.state.admin_app``; serve.py
routes each connection by the port it arrived on), which the proxy reads and clients cannot reach:

- ``GET /healthz``: 200 once the predictor's ``__init__`` has returned (in every process), else 503; 503
  too while the watchdog finds every predict thread stuck (watchdog.py).
- ``GET /metrics``: the tracker's and the predictor's custom metrics (``metrics_client``), Prometheus' text format.

Errors become responses in one place: errors.error_response.
"""

import asyncio
import contextlib
import json
import logging
import re
import reprlib
import uuid
from collections.abc import Mapping
from typing import Any, Callable, List, Optional

from starlette.applications import Starlette
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .batching import Batcher
from .config import Settings
from .errors import REQUEST_ID_HEADER, CortexError, NotReadyError, error_response
from .payloads import RequestBody, body_headers, read_payload
from .predictor import Predictor
from .streaming import ItemSource, StreamResponse, accepts_event_stream, cancel_on_disconnect, describe, is_stream, \
    stream_items, EventStream
from .threads import PredictThreads
from .tracker import FLUSH_INTERVAL_SECONDS, Tracker

logger = logging.getLogger("cortex_runtime")
# ?debug=true asks for these lines whatever the API's log level: they have a logger of their own.
debug_logger = logging.getLogger("cortex_runtime.debug")
debug_logger.setLevel(logging.INFO)

DEBUG_LOG_LIMIT = 10_000
#: An incoming X-Request-Id is kept when it looks like one (Envoy's are UUIDs); anything else (control
#: characters for the log, an id of kilobytes) is replaced by a new one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/@-]{0,127}")
#: Cortex's routes for predictions: "/" is what the gateway's rewrite and `cortex local` send; "/predict" is
#: what Cortex's own runtime served (its VirtualService rewrote /<api> to /predict; chained APIs called
#: http://api-<name>:8888/predict).
PREDICT_PATHS = ("/", "/predict", "/predict/")
#: What Cortex v0.30's GET said (its clients and health checks may look for it).
SUMMARY_MESSAGE = "make a prediction by sending a post request to this endpoint with a json payload"


class UnserializablePredictionError(CortexError):
    """predict returned something that is not JSON, bytes or a Response."""


def _json_default(value: Any) -> Any:
    # numpy arrays and scalars (without importing numpy): what users' models return most.
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, Mapping):  # Starlette's QueryParams, Headers, FormData: a predictor may echo them
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_response(prediction: Any) -> Response:
    """As Cortex v0.30 sent a prediction. NaN and infinities are written as Python's json writes them (NaN,
    Infinity), as Cortex did: Python clients read them back, strict JSON parsers refuse them."""
    if isinstance(prediction, Response):
        return prediction
    if isinstance(prediction, (bytes, bytearray, memoryview)):
        return Response(bytes(prediction), media_type="application/octet-stream")
    if isinstance(prediction, str):
        try:
            text = prediction.encode("utf-8")
        except UnicodeEncodeError as e:  # a lone surrogate ("\ud800"): no UTF-8 for it
            raise UnserializablePredictionError(
                f"predict returned a str that cannot be sent as UTF-8 text ({e}); return valid text, or bytes"
            ) from e
        return Response(text, media_type="text/plain")  # Starlette adds "; charset=utf-8"
    try:
        body = json.dumps(prediction, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as e:
        raise UnserializablePredictionError(
            f"predict returned a {type(prediction).__name__} that cannot be sent as JSON ({e}); return a dict, "
            "list, str, number, bytes or a starlette Response"
        ) from e
    try:
        encoded = body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a string: escaped (\ud800), as Cortex's json.dumps wrote it
        encoded = json.dumps(prediction, default=_json_default, separators=(",", ":")).encode("ascii")
    return Response(encoded, media_type="application/json")


def request_id_of(headers: Any) -> str:
    incoming = headers.get(REQUEST_ID_HEADER)
    if incoming is not None and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def _for_log(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes> {bytes(value[:200])!r}"
    if isinstance(value, Response):
        return f"<{type(value).__name__} {value.status_code} {value.media_type}>"
    # Encoded lazily and cut at the limit: a payload of 100 MiB is not turned into 100 MiB of text first.
    pieces: List[str] = []
    size = 0
    try:
        for piece in json.JSONEncoder(default=_json_default, ensure_ascii=False).iterencode(value):
            pieces.append(piece)
            size += len(piece)
            if size > DEBUG_LOG_LIMIT:
                return "".join(pieces)[:DEBUG_LOG_LIMIT] + "... (cut)"
    except (TypeError, ValueError, RecursionError):
        return reprlib.repr(value)
    return "".join(pieces)


def create_app(
    predictor: Predictor,
    settings: Settings,
    *,
    tracker: Optional[Tracker] = None,
    all_ready: Optional[Callable[[], bool]] = None,
    stuck: Optional[Callable[[], Optional[str]]] = None,
) -> Starlette:
    """The app serving ``predictor``, with its admin app in ``app.state.admin_app``. ``all_ready``: whether
    every process of the replica is ready; ``stuck``: why the replica is stuck (the watchdog), or None."""
    threads = PredictThreads(settings.threads_per_process)
    api_name = settings.api_name
    debug_refused = False
    # python-multipart warns once per byte found after a form's closing boundary: a log flood for the asking.
    logging.getLogger("multipart").setLevel(logging.ERROR)

    async def run_predict(payload: Any, query_params: Any, headers: Any) -> Any:
        if predictor.predict_is_async:
            return await predictor.predict(payload, query_params, headers)
        return await threads.run(predictor.predict, payload, query_params, headers)

    batcher: Optional[Batcher] = None
    if settings.server_side_batching is not None:
        batcher = Batcher(
            run_predict,
            settings.server_side_batching.max_batch_size,
            settings.server_side_batching.batch_interval_seconds,
        )

    async def post_predict(prediction: Any, payload: Any, query_params: Any, headers: Any) -> None:
        try:
            if predictor.post_predict_is_async:
                await predictor.post_predict(prediction, payload, query_params, headers)
            else:
                await threads.run(predictor.post_predict, prediction, payload, query_params, headers)
        except Exception:  # the response is gone: the log is the only place left to say it
            logger.exception("%s: post_predict failed", api_name)

    def wants_debug(query_params: Any) -> bool:
        nonlocal debug_refused
        if query_params.get("debug", "").lower() != "true":
            return False
        if settings.allow_debug:
            return True
        if not debug_refused:
            debug_refused = True
            logger.info("%s: ?debug=true is ignored: this API does not allow it (predictor.allow_debug)", api_name)
        return False

    async def predict_endpoint(request: Request) -> Response:
        # Starlette's own types, as Cortex passed them: headers["Content-Type"] and query_params.getlist work.
        query_params = request.query_params
        debug = wants_debug(query_params)
        content_type, declared = body_headers(request.scope["headers"])
        body = RequestBody(request.receive, declared, settings.max_body_bytes)
        try:
            if not predictor.ready:
                raise NotReadyError("the predictor is not ready: its __init__ has not returned yet")
            payload = await read_payload(body, content_type)
            headers = request.headers
            if debug:
                debug_logger.info("%s: debug: payload: %s", api_name, _for_log(payload))
            if batcher is not None:
                prediction = await batcher.submit(payload, query_params, headers)
            elif predictor.predict_is_async:
                # A client that leaves cancels an async predict where it awaits (a thread cannot be interrupted).
                prediction = await cancel_on_disconnect(run_predict(payload, query_params, headers), request.receive)
            else:
                prediction = await run_predict(payload, query_params, headers)
            if is_stream(prediction):
                if debug:
                    debug_logger.info("%s: debug: prediction: %s, streamed", api_name, describe(prediction))
                return stream_response(request, prediction, payload, query_params, headers)
            if debug:
                debug_logger.info("%s: debug: prediction: %s", api_name, _for_log(prediction))
            response = to_response(prediction)
        except ClientDisconnect:
            logger.info("request %s: the client went away before its response was ready (while its body was read, "
                        "or while an async predict ran: it was cancelled)", request_id_of(request.headers))
            return Response(status_code=400)  # nobody reads it
        except Exception as e:
            # A body left unread would be read and dropped by the server to reuse the connection: close it.
            return error_response(e, request_id=request_id_of(request.headers), close=not body.complete)
        if tracker is not None:
            try:
                tracker.track(prediction)
            except Exception:
                logger.exception("%s: tracker failed", api_name)
        if predictor.has_post_predict:
            task = BackgroundTask(post_predict, prediction, payload, query_params, headers)
            response.background = task if response.background is None else BackgroundTasks([response.background, task])
        return response

    def stream_response(request: Request, prediction: Any, payload: Any, query_params: Any, headers: Any) -> Response:
        on_complete = None
        if predictor.has_post_predict:
            async def on_complete(items: List[Any]) -> None:
                await post_predict(items, payload, query_params, headers)
        sse = isinstance(prediction, EventStream) or accepts_event_stream(headers.get("accept"))
        return StreamResponse(ItemSource(stream_items(prediction), threads, api_name), sse=sse,
                              request_id=request_id_of(headers), default=_json_default, on_complete=on_complete)

    def is_ready() -> bool:
        return predictor.ready and (all_ready is None or all_ready())

    async def healthz(request: Request) -> Response:
        reason = stuck() if stuck is not None else None
        if reason is not None:
            return JSONResponse({"status": "stuck", "detail": reason}, status_code=503)
        if is_ready():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "loading"}, status_code=503)

    async def status(request: Request) -> Response:
        body: dict = {"message": SUMMARY_MESSAGE, "api_name": api_name, "ready": is_ready()}
        if predictor.model_cache is not None:
            try:
                models = {name: predictor.model_cache.versions(name) for name in predictor.model_cache.model_names()}
            except Exception as e:
                return error_response(e, request_id=request_id_of(request.headers), where="listing the models")
            body["model_metadata"] = {name: {"versions": versions} for name, versions in models.items()}
            body["models"] = models
        return JSONResponse(body)

    async def metrics(request: Request) -> Response:
        text = tracker.exposition() if tracker is not None else ""
        try:
            text += predictor.custom_metrics.exposition()
        except Exception:
            logger.exception("%s: the custom metrics (metrics_client) cannot be read", api_name)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        flusher = None
        if tracker is not None and tracker.shared_dir is not None:
            flusher = asyncio.get_running_loop().create_task(_flush_periodically(tracker))
        try:
            yield
        finally:
            if flusher is not None:
                flusher.cancel()
            if batcher is not None:
                await batcher.close()
            threads.shutdown()

    app = Starlette(
        routes=[route for path in PREDICT_PATHS for route in (
            Route(path, predict_endpoint, methods=["POST"]),
            Route(path, status, methods=["GET"]),
        )],
        lifespan=lifespan,
    )
    # Not on the API's port: what the proxy forwards from clients must not reach these.
    app.state.admin_app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
    )
    app.state.predictor = predictor
    app.state.batcher = batcher
    app.state.tracker = tracker
    app.state.threads = threads
    return app


async def _flush_periodically(tracker: Tracker) -> None:
    while True:
        await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
        try:
            tracker.flush()
        except OSError:
            logger.exception("tracker: cannot write its figures for the other processes")
