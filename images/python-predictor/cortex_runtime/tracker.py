"""The tracker: predictions exported as Prometheus metrics, at ``GET /metrics`` on the runtime's port.

``tracker.key`` picks the tracked value out of a JSON-object prediction (else the whole prediction); a
JSON-object prediction with no ``tracker.key`` is not tracked, and the warning says the key is required.
``classification``: a counter per class, ``cortex_prediction_class_total{api_name, class}``.
``regression``: ``cortex_prediction_value_{min,max,avg}`` gauges and ``cortex_prediction_value_{sum,count}``.
Predictions the tracker cannot read (bytes, a Response, a missing key) are skipped, with one warning.

With several processes, each writes its figures to a file in a directory they share (at most once a
second, and when asked for its metrics); whichever process answers ``/metrics`` adds them all up.
"""

import logging
import math
import threading
import time
from typing import Any, Dict, List, Optional

from .config import TrackerSettings
from .exposition import label_value, sample_value
from .process_states import read_others, write_own

logger = logging.getLogger("cortex_runtime.tracker")

FLUSH_INTERVAL_SECONDS = 1.0


class Tracker:
    def __init__(self, settings: TrackerSettings, api_name: str, *, shared_dir: Optional[str] = None,
                 process_index: int = 0) -> None:
        self.settings = settings
        self.api_name = api_name
        self.shared_dir = shared_dir
        self.process_index = process_index
        self._lock = threading.Lock()
        self._classes: Dict[str, int] = {}
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._warned = False
        self._dirty = False
        self._last_flush = 0.0

    def track(self, prediction: Any) -> None:
        value = prediction
        key = self.settings.key
        if key is not None:
            if not isinstance(prediction, dict) or key not in prediction:
                return self._skip(f"the prediction is not a JSON object with the key {key!r}")
            value = prediction[key]
        elif isinstance(prediction, dict):
            keys = ", ".join(sorted(map(str, prediction))[:10]) or "none"
            return self._skip(
                f"tracker.key is required when the response is a JSON object: set it to the field to track "
                f"(the response's keys: {keys})"
            )
        if hasattr(value, "item") and callable(value.item):  # numpy scalars
            try:
                value = value.item()
            except (TypeError, ValueError):
                pass
        if self.settings.model_type == "classification":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                return self._skip(f"a classification prediction must be a string or a number, got {type(value).__name__}")
            label = str(value)
            with self._lock:
                self._classes[label] = self._classes.get(label, 0) + 1
                self._dirty = True
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                return self._skip(f"a regression prediction must be a number, got {type(value).__name__}")
            with self._lock:
                self._count += 1
                self._sum += value
                self._min = min(self._min, value)
                self._max = max(self._max, value)
                self._dirty = True
        if self.shared_dir is not None and time.monotonic() - self._last_flush >= FLUSH_INTERVAL_SECONDS:
            self.flush()

    def _skip(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("tracker: not tracking a prediction: %s (warned once)", why)

    def snapshot(self) -> Dict[str, Any]:
        with self._lock:
            return {"classes": dict(self._classes), "count": self._count, "sum": self._sum,
                    "min": self._min if self._count else None, "max": self._max if self._count else None}

    def flush(self) -> None:
        """Writes this process's figures for the others (multi-process only)."""
        if self.shared_dir is None:
            return
        with self._lock:
            dirty, self._dirty = self._dirty, False
        self._last_flush = time.monotonic()
        if not dirty:
            return
        write_own(self.shared_dir, "tracker", self.process_index, self.snapshot())

    def _all_snapshots(self) -> List[Dict[str, Any]]:
        snapshots = [self.snapshot()]
        if self.shared_dir is not None:
            snapshots.extend(read_others(self.shared_dir, "tracker", self.process_index))
        return snapshots

    def exposition(self) -> str:
        """The metrics in Prometheus' text format, summed over the processes."""
        if self.shared_dir is not None:
            self.flush()
        snapshots = self._all_snapshots()
        api = label_value(self.api_name)
        lines: List[str] = []
        if self.settings.model_type == "classification":
            classes: Dict[str, int] = {}
            for s in snapshots:
                for label, n in s["classes"].items():
                    classes[label] = classes.get(label, 0) + n
            lines += [
                "# HELP cortex_prediction_class_total Predictions per predicted class.",
                "# TYPE cortex_prediction_class_total counter",
            ]
            lines += [
                f'cortex_prediction_class_total{{api_name="{api}",class="{label_value(label)}"}} {n}'
                for label, n in sorted(classes.items())
            ]
        else:
            count = sum(s["count"] for s in snapshots)
            total = sum(s["sum"] for s in snapshots)
            mins = [s["min"] for s in snapshots if s["min"] is not None]
            maxes = [s["max"] for s in snapshots if s["max"] is not None]
            figures = [
                ("count", "counter", "Predictions tracked.", count),
                ("sum", "counter", "Sum of the predicted values.", total),
            ]
            if count:
                figures += [
                    ("min", "gauge", "Smallest predicted value.", min(mins)),
                    ("max", "gauge", "Largest predicted value.", max(maxes)),
                    ("avg", "gauge", "Mean predicted value.", total / count),
                ]
            for name, kind, help_text, value in figures:
                lines += [
                    f"# HELP cortex_prediction_value_{name} {help_text}",
                    f"# TYPE cortex_prediction_value_{name} {kind}",
                    f'cortex_prediction_value_{name}{{api_name="{api}"}} {sample_value(value)}',
                ]
        return "\n".join(lines) + "\n"
