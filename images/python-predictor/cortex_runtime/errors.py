"""Typed exceptions, and the one place where any exception becomes an HTTP response.

A predictor raises ``UserError`` (or a subclass) for a request it cannot serve: the caller gets a 400
with the message. Starlette's ``HTTPException`` (and FastAPI's, which Cortex users raised) keeps its own
status and detail: the predictor chose them for the caller. Anything else raised while serving a
request is the server's fault: a 500 that says only "internal server error" (the exception's text may
hold what the caller must not see, a password in a connection string); the log has the exception and
its traceback under the request's id.

The body is the message as text (``text/plain``), as Cortex v0.30 answered: its clients read an error
as text. One exception, also Cortex's: a body that is not valid JSON under ``application/json`` is
answered in JSON, ``{"error": message}``. Every error response carries the request's id in
``X-Request-Id``.
"""

import logging

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

logger = logging.getLogger("cortex_runtime")


class CortexError(Exception):
    """Base of the runtime's errors; ``status_code`` is the HTTP status it maps to."""

    status_code = 500


class UserError(CortexError):
    """The request cannot be served as sent (bad input): 400, with this message."""

    status_code = 400


class InvalidPayloadError(UserError):
    """The body does not parse as its content type says."""


class InvalidJSONError(InvalidPayloadError):
    """An ``application/json`` body that is not JSON (or nested too deeply): answered ``{"error": message}``."""


class BodyTooLargeError(UserError):
    """The body is larger than the runtime takes (``CORTEX_MAX_BODY_SIZE``): 413, before it is read further."""

    status_code = 413


class ModelNotFoundError(UserError):
    """No model of that name or version (``?model=NAME&version=N``)."""

    status_code = 404


class NotReadyError(CortexError):
    """The predictor's ``__init__`` has not returned yet (or the server is shutting down)."""

    status_code = 503


class BatchResultError(CortexError):
    """With server-side batching, ``predict`` must return one prediction per request, in order."""

    status_code = 500


class PredictorLoadError(CortexError):
    """The predictor could not be loaded or initialized; the process exits non-zero."""


class PredictorInitError(PredictorLoadError):
    """The user's ``__init__`` raised; the original exception is the ``__cause__``."""


class SettingsError(CortexError):
    """The settings file is missing, unreadable, or not what this runtime understands."""


#: What a 5xx says to the caller; the rest is in the log, under the request id.
INTERNAL_ERROR_MESSAGE = "internal server error"
REQUEST_ID_HEADER = "x-request-id"


def error_status(exc: BaseException) -> int:
    if isinstance(exc, CortexError):
        return exc.status_code
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500


def error_message(exc: BaseException) -> str:
    """The whole story, for the log."""
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    if isinstance(exc, CortexError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def public_message(exc: BaseException, status: int) -> str:
    """What the caller may read: the message of a 4xx (about their request), of an HTTPException (the
    predictor wrote it for them) and of the runtime's own 503; for any other 5xx, nothing of the exception."""
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    if status < 500 or isinstance(exc, NotReadyError):
        return error_message(exc)
    return INTERNAL_ERROR_MESSAGE


def error_response(exc: BaseException, *, request_id: str, where: str = "predict",
                   close: bool = False) -> Response:
    """The response for ``exc`` raised while serving request ``request_id``; 5xx are logged with their
    traceback. ``close``: the request's body was not read to its end, so the connection cannot be reused."""
    status = error_status(exc)
    message = error_message(exc)
    if status >= 500 and not isinstance(exc, NotReadyError):
        logger.error("request %s: %s failed (%d): %s", request_id, where, status, message, exc_info=exc)
    elif status >= 400:
        logger.info("request %s: %s refused the request (%d): %s", request_id, where, status, message)
    headers = dict(getattr(exc, "headers", None) or {}) if isinstance(exc, HTTPException) else {}
    headers[REQUEST_ID_HEADER] = request_id
    if close:
        headers["connection"] = "close"
    if isinstance(exc, InvalidJSONError):
        return JSONResponse({"error": public_message(exc, status)}, status_code=status, headers=headers)
    return PlainTextResponse(public_message(exc, status), status_code=status, headers=headers)
