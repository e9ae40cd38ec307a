"""Typed exceptions, and the one place where any exception becomes an HTTP response.

A predictor raises ``UserError`` (or a subclass) for a request it cannot serve: the caller gets a 400
with the message. Anything else raised by ``predict`` is the server's fault: a 500 whose JSON body
names the exception, with the traceback in the log. Starlette's ``HTTPException`` (and FastAPI's,
which Cortex users raised) keeps its own status and detail.
"""

import logging

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

logger = logging.getLogger("cortex_runtime")


class CortexError(Exception):
    """Base of the runtime's errors; ``status_code`` is the HTTP status it maps to."""

    status_code = 500


class UserError(CortexError):
    """The request cannot be served as sent (bad input): 400, with this message."""

    status_code = 400


class InvalidPayloadError(UserError):
    """The body does not parse as its content type says."""


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


def error_status(exc: BaseException) -> int:
    if isinstance(exc, CortexError):
        return exc.status_code
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500


def error_message(exc: BaseException) -> str:
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    if isinstance(exc, CortexError):
        return str(exc)
    # Not ours, not the user's on purpose: name the type so that the caller can report it usefully.
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def error_response(exc: BaseException, *, where: str = "predict") -> JSONResponse:
    """The response for ``exc`` raised while serving a request; 5xx are logged with their traceback."""
    status = error_status(exc)
    message = error_message(exc)
    if status >= 500 and not isinstance(exc, NotReadyError):
        logger.error("%s failed (%d): %s", where, status, message, exc_info=exc)
    elif status >= 400:
        logger.info("%s refused the request (%d): %s", where, status, message)
    headers = getattr(exc, "headers", None) if isinstance(exc, HTTPException) else None
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
