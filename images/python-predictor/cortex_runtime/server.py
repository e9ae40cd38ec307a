"""The HTTP surface: a Starlette app serving one predictor (which it is handed, ready or not).

- ``POST /``: the body → ``payload`` (JSON for ``application/json`` and ``*+json``; ``FormData`` for
  ``multipart/form-data`` and ``application/x-www-form-urlencoded``; the raw ``bytes`` otherwise),
  with ``query_params`` and ``headers`` → ``predict`` → the response: JSON for dicts, lists, strings,
  numbers, booleans and None (numpy values too); ``bytes`` as they are (``application/octet-stream``);
  a Starlette ``Response`` as it is. ``?debug=true`` logs the payload and the prediction.
  ``post_predict`` runs after the response has been sent.
- ``GET /``: the API's name, whether it is ready, and its models when it serves several.

and, on a second app served on the runtime's internal admin port (``app.state.admin_app``; serve.py
routes each connection by the port it arrived on), which the proxy reads and clients cannot reach:

- ``GET /healthz``: 200 once the predictor's ``__init__`` has returned (in every process), else 503; 503
  too while the watchdog finds every predict thread stuck (watchdog.py).
- ``GET /metrics``: the tracker's Prometheus metrics (empty without a tracker).

Errors become responses in one place: errors.error_response.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any, Callable, Optional

from starlette.applications import Starlette
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .batching import Batcher
from .config import Settings
from .errors import CortexError, InvalidPayloadError, NotReadyError, error_response
from .predictor import Predictor
from .threads import PredictThreads
from .tracker import FLUSH_INTERVAL_SECONDS, Tracker

logger = logging.getLogger("cortex_runtime")
# ?debug=true asks for these lines whatever the API's log level: they have a logger of their own.
debug_logger = logging.getLogger("cortex_runtime.debug")
debug_logger.setLevel(logging.INFO)

JSON_TYPES = ("application/json",)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
DEBUG_LOG_LIMIT = 10_000


class UnserializablePredictionError(CortexError):
    """predict returned something that is not JSON, bytes or a Response."""


def _json_default(value: Any) -> Any:
    # numpy arrays and scalars (without importing numpy): what users' models return most.
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_response(prediction: Any) -> Response:
    if isinstance(prediction, Response):
        return prediction
    if isinstance(prediction, (bytes, bytearray, memoryview)):
        return Response(bytes(prediction), media_type="application/octet-stream")
    try:
        body = json.dumps(prediction, default=_json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise UnserializablePredictionError(
            f"predict returned a {type(prediction).__name__} that cannot be sent as JSON ({e}); return a dict, "
            "list, str, number, bytes or a starlette Response"
        ) from e
    return Response(body.encode("utf-8"), media_type="application/json")


async def read_payload(request: Request) -> Any:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in JSON_TYPES or media_type.endswith("+json"):
        body = await request.body()
        try:
            return json.loads(body)
        except ValueError as e:
            raise InvalidPayloadError(f"the body is not valid JSON ({e}); content-type was {media_type}") from e
    if media_type in FORM_TYPES:
        try:
            return await request.form()
        except AssertionError as e:  # Starlette's way of saying python-multipart is missing
            raise CortexError(f"form data cannot be read: {e}") from e
    return await request.body()


def _for_log(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        text = f"<{len(value)} bytes> {bytes(value[:200])!r}"
    elif isinstance(value, Response):
        text = f"<{type(value).__name__} {value.status_code} {value.media_type}>"
    else:
        try:
            text = json.dumps(value, default=_json_default, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= DEBUG_LOG_LIMIT else text[:DEBUG_LOG_LIMIT] + f"... ({len(text)} characters)"


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

    async def predict_endpoint(request: Request) -> Response:
        query_params = dict(request.query_params) if request.scope["query_string"] else {}
        debug = query_params.get("debug", "").lower() == "true"
        try:
            if not predictor.ready:
                raise NotReadyError("the predictor is not ready: its __init__ has not returned yet")
            payload = await read_payload(request)
            headers = dict(request.headers) if predictor.wants_headers else {}
            if debug:
                debug_logger.info("%s: debug: payload: %s", api_name, _for_log(payload))
            if batcher is not None:
                prediction = await batcher.submit(payload, query_params, headers)
            else:
                prediction = await run_predict(payload, query_params, headers)
            if debug:
                debug_logger.info("%s: debug: prediction: %s", api_name, _for_log(prediction))
            response = to_response(prediction)
        except Exception as e:
            return error_response(e)
        if tracker is not None:
            try:
                tracker.track(prediction)
            except Exception:
                logger.exception("%s: tracker failed", api_name)
        if predictor.has_post_predict:
            task = BackgroundTask(post_predict, prediction, payload, query_params, headers)
            response.background = task if response.background is None else BackgroundTasks([response.background, task])
        return response

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
        body: dict = {"api_name": api_name, "ready": is_ready()}
        if predictor.model_cache is not None:
            try:
                body["models"] = {name: predictor.model_cache.versions(name) for name in predictor.model_cache.model_names()}
            except Exception as e:
                return error_response(e, where="listing the models")
        return JSONResponse(body)

    async def metrics(request: Request) -> Response:
        text = tracker.exposition() if tracker is not None else ""
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
        routes=[
            Route("/", predict_endpoint, methods=["POST"]),
            Route("/", status, methods=["GET"]),
        ],
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
