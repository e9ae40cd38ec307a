"""cortex-cdk's Python predictor runtime: serves a Cortex-style ``PythonPredictor`` over HTTP.

Run it with ``python -m cortex_runtime`` (see __main__.py). Predictors may raise ``UserError`` for a
request they cannot serve (the caller gets a 400 with the message), and return ``EventStream(items)`` to
stream items as server-sent events whatever the request's ``Accept`` says (streaming.py).
"""

from .errors import ModelNotFoundError, UserError
from .streaming import EventStream

__all__ = ["UserError", "ModelNotFoundError", "EventStream"]
