"""``from cortex_internal.lib.log import logger``: Cortex v0.30's structured logger, in this runtime's log format.

``logger`` is the logger named ``cortex``, as Cortex's was. Its level is the API's ``log_level`` (the runtime
sets the root logger's, which it inherits), and its lines go where the runtime's go, in the runtime's format.
Cortex wrote each line as JSON and flattened the ``extra=`` dictionary into it; here the same fields follow
the message as one JSON object::

    logger.info("received payload", extra={"payload": "this movie is awesome"})
    # 2024-05-01 12:00:00,000 INFO [MainProcess] cortex: received payload {"payload": "this movie is awesome"}

Values JSON cannot hold are written with ``str()``. As in Cortex, the ``extra`` keys ``message`` and
``asctime`` are refused by Python's logging itself (a ``KeyError``).
"""

import json
import logging

__all__ = ["logger"]

LOGGER_NAME = "cortex"

#: The attributes of every log record: anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_RENDERED = "_cortex_extra_rendered"


def _extra_fields(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}


class ExtraFields(logging.Filter):
    """Appends a record's ``extra=`` fields to its message, as one JSON object (Cortex's structured fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _RENDERED, False):
            return True
        extra = _extra_fields(record)
        if not extra:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a bad format is for the handler to report, not for the caller to raise
            return True
        try:
            fields = json.dumps(extra, default=str, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            fields = repr(extra)
        record.msg = f"{message} {fields}"
        record.args = None
        setattr(record, _RENDERED, True)
        return True


logger = logging.getLogger(LOGGER_NAME)
if not any(isinstance(f, ExtraFields) for f in logger.filters):
    logger.addFilter(ExtraFields())
