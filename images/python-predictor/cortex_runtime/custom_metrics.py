"""Custom metrics: the ``metrics_client`` a predictor's ``__init__`` asks for, exported at ``GET /metrics``.

Cortex v0.30 handed ``__init__`` a ``metrics_client`` with three methods, which it sent over StatsD to a
statsd-exporter that Prometheus scraped; this runtime keeps the figures itself and serves them in
Prometheus' text format on its admin port, which the proxy appends to its own ``/metrics``:

- ``increment(metric, value=1, tags=None)``: a counter (``value`` >= 0 added);
- ``gauge(metric, value, tags=None)``: a gauge (set to ``value``);
- ``histogram(metric, value, tags=None)``: a histogram observation, Prometheus' default buckets (as the
  statsd-exporter's), ``_bucket``, ``_sum`` and ``_count`` series.

``tags`` become labels, beside ``api_name``. A name or tag is checked at the call and refused with a
``MetricError`` (a ``ValueError``) that says what is wrong and what is allowed: a name outside Prometheus'
characters (``.`` and ``-`` become ``_``, as the statsd-exporter mapped them), a prefix the platform's own
metrics use, a value that is not a finite number, a name used with another type, more series than a process
keeps. The runtime itself never fails on them.

With several processes, each writes its figures to a file in a directory they share (at most once a second,
and when asked for its metrics); whichever process answers ``/metrics`` merges them: counters and histograms
add up, a gauge is the value set last in any process (as the statsd-exporter, which all processes sent to).
"""

import math
import re
import threading
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .exposition import label_value, sample_value
from .process_states import read_others, write_own

#: Upper bounds of the histograms' buckets: Prometheus' defaults, which Cortex's statsd-exporter used.
HISTOGRAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Series (a name and one set of tag values) one process keeps: tags must not carry unbounded values (ids).
MAX_SERIES = 1000
#: What one process's series may weigh in the exposition: the proxy drops a user server's /metrics over 4 MiB whole.
MAX_EXPOSITION_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 200
MAX_TAGS = 16
MAX_TAG_VALUE_LENGTH = 256
FLUSH_INTERVAL_SECONDS = 1.0

#: Names of the platform's own series: the proxy's and the runtime's metrics, Istio's, Prometheus' per-target
#: series, the process metrics of the proxy. A custom metric with one of them would clash in the scrape.
RESERVED_PREFIXES = ("cortex_", "istio_", "process_", "nodejs_", "scrape_")
RESERVED_NAMES = ("up",)
#: Labels the runtime or the scrape sets (the scrape keeps a target's own labels: honor_labels).
RESERVED_TAGS = ("api_name", "le", "namespace", "pod", "instance", "job", "node", "pod_template_hash")
RESERVED_TAG_PREFIXES = ("cortex_", "__")

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = ("counter", "gauge", "histogram")
_METHOD = {"counter": "increment()", "gauge": "gauge()", "histogram": "histogram()"}
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

Labels = Tuple[Tuple[str, str], ...]


class MetricError(ValueError):
    """A custom metric refused: its name, value or tags are not usable (the message says why and what is allowed)."""


def _metric_name(metric: Any) -> str:
    if not isinstance(metric, str):
        raise MetricError(f"a metric name must be a string, got {type(metric).__name__} {metric!r}")
    name = metric.replace(".", "_").replace("-", "_")
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise MetricError(
            f"metric name {metric!r} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, '_' and ':' "
            "('.' and '-' become '_'), not starting with a digit"
        )
    if name.startswith(RESERVED_PREFIXES) or name in RESERVED_NAMES:
        raise MetricError(
            f"metric name {metric!r} is reserved: names starting with {', '.join(RESERVED_PREFIXES)} "
            f"and the name{'s' if len(RESERVED_NAMES) > 1 else ''} {', '.join(RESERVED_NAMES)} are the platform's own metrics"
        )
    return name


def _value(metric: str, value: Any) -> float:
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (int, float)):  # numpy scalars
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetricError(f"metric {metric!r}: the value must be a number, got {type(value).__name__} {value!r}"[:300])
    if not math.isfinite(value):
        raise MetricError(f"metric {metric!r}: the value must be a finite number, got {value!r}")
    return value


def _labels(metric: str, tags: Any) -> Labels:
    if tags is None:
        return ()
    if not isinstance(tags, Mapping):
        raise MetricError(f"metric {metric!r}: tags must be a dict of tag names to values, got {type(tags).__name__}")
    if len(tags) > MAX_TAGS:
        raise MetricError(f"metric {metric!r}: at most {MAX_TAGS} tags, got {len(tags)}")
    labels: Dict[str, str] = {}
    keys: Dict[str, str] = {}
    for key, raw in tags.items():
        if not isinstance(key, str):
            raise MetricError(f"metric {metric!r}: a tag name must be a string, got {type(key).__name__} {key!r}")
        label = key.replace(".", "_").replace("-", "_")
        if not _LABEL.fullmatch(label) or len(label) > MAX_NAME_LENGTH:
            raise MetricError(
                f"metric {metric!r}: tag name {key!r} is invalid: use letters, digits and '_' ('.' and '-' "
                "become '_'), not starting with a digit"
            )
        if label in RESERVED_TAGS or label.startswith(RESERVED_TAG_PREFIXES):
            raise MetricError(
                f"metric {metric!r}: tag name {key!r} is reserved: {', '.join(RESERVED_TAGS)} and names starting "
                f"with {', '.join(RESERVED_TAG_PREFIXES)} are set by the runtime or the scrape"
            )
        if isinstance(raw, bool) or isinstance(raw, (int, float)):
            text = str(raw)  # as Cortex formatted tags: f"{key}:{value}"
        elif isinstance(raw, str):
            text = raw
        else:
            raise MetricError(
                f"metric {metric!r}: tag {key!r} must be a string or a number, got {type(raw).__name__}"
            )
        if text == "" or len(text) > MAX_TAG_VALUE_LENGTH:
            raise MetricError(
                f"metric {metric!r}: tag {key!r} must have a value of 1 to {MAX_TAG_VALUE_LENGTH} characters, "
                f"got {len(text)}"
            )
        if label in labels:
            raise MetricError(f"metric {metric!r}: tags {keys[label]!r} and {key!r} both become the label {label!r}")
        labels[label] = text
        keys[label] = key
    return tuple(sorted(labels.items()))


class CustomMetrics:
    """The custom metrics of one API in this process; ``client`` is what the predictor gets."""

    def __init__(self, api_name: str, *, shared_dir: Optional[str] = None, process_index: int = 0) -> None:
        self.api_name = api_name
        self.shared_dir = shared_dir
        self.process_index = process_index
        self._lock = threading.Lock()
        #: name → type
        self._types: Dict[str, str] = {}
        #: name → labels → value (counter, gauge: [value, wall time]; histogram: [bucket counts..., sum, count])
        self._series: Dict[str, Dict[Labels, List[float]]] = {}
        self._count = 0
        self._bytes = 0
        self._dirty = False
        self._flusher: Optional[threading.Thread] = None
        self.client = MetricsClient(self)

    # -- recording ---------------------------------------------------------------------------------

    def record(self, kind: str, metric: Any, value: Any, tags: Any) -> None:
        name = _metric_name(metric)
        number = _value(name, value)
        labels = _labels(name, tags)
        if kind == "counter" and number < 0:
            raise MetricError(f"metric {metric!r}: a counter only goes up: increment() takes a value >= 0, got {number!r} "
                              "(use gauge() for a value that goes down)")
        with self._lock:
            known = self._types.get(name)
            if known is None:
                self._check_family_name(name, kind)
            elif known != kind:
                raise MetricError(
                    f"metric {metric!r} is a {known} (set with {_METHOD[known]}): {_METHOD[kind]} needs another name"
                )
            series = self._series.setdefault(name, {})
            current = series.get(labels)
            if current is None:
                self._admit(name, kind, labels)
                if known is None:
                    self._types[name] = kind
                current = [0.0] * (len(HISTOGRAM_BUCKETS) + 2) if kind == "histogram" else [0, 0.0]
                series[labels] = current
            if kind == "counter":
                current[0] += number
            elif kind == "gauge":
                current[0] = number
                current[1] = time.time()
            else:
                for i, bound in enumerate(HISTOGRAM_BUCKETS):
                    if number <= bound:
                        current[i] += 1
                        break
                current[-2] += number
                current[-1] += 1
            self._dirty = True
        if self.shared_dir is not None and self._flusher is None:
            self._start_flusher()

    def _check_family_name(self, name: str, kind: str) -> None:
        """A histogram's name owns its ``_bucket``, ``_sum``, ``_count`` series: no other metric may use them."""
        for suffix in _HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and self._types.get(name[: -len(suffix)]) == "histogram":
                raise MetricError(f"metric {name!r} clashes with the series of histogram {name[: -len(suffix)]!r}")
            if kind == "histogram" and name + suffix in self._types:
                raise MetricError(f"histogram {name!r} would clash with metric {name + suffix!r}")

    def _admit(self, name: str, kind: str, labels: Labels) -> None:
        line = len(name) + 30 + sum(len(k) + len(v) + 4 for k, v in labels) + len(self.api_name)
        weight = line * (len(HISTOGRAM_BUCKETS) + 3) if kind == "histogram" else line
        shown = "{" + ",".join(f"{k}={v!r}" for k, v in labels) + "}"
        if self._count >= MAX_SERIES or self._bytes + weight > MAX_EXPOSITION_BYTES:
            raise MetricError(
                f"metric {name}{shown}: a process keeps at most {MAX_SERIES} custom series (names x tag values) "
                f"and {MAX_EXPOSITION_BYTES // 1024} KiB of them: tags must not carry unbounded values such as ids"
            )
        self._count += 1
        self._bytes += weight

    # -- several processes -------------------------------------------------------------------------

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_periodically, name="cortex-metrics-flush", daemon=True)
        self._flusher.start()

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL_SECONDS)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 — a full disk must not end the flushing thread
                pass

    def _state(self) -> Dict[str, Any]:
        with self._lock:
            return {
                "types": dict(self._types),
                "series": {name: [[list(map(list, labels)), list(values)] for labels, values in series.items()]
                           for name, series in self._series.items()},
            }

    def flush(self) -> None:
        """Writes this process's figures for the others (several processes only)."""
        if self.shared_dir is None:
            return
        with self._lock:
            dirty, self._dirty = self._dirty, False
        if not dirty:
            return
        write_own(self.shared_dir, "custom-metrics", self.process_index, self._state())

    def _other_states(self) -> Iterable[Dict[str, Any]]:
        if self.shared_dir is None:
            return
        yield from read_others(self.shared_dir, "custom-metrics", self.process_index)

    # -- exposition --------------------------------------------------------------------------------

    def exposition(self) -> str:
        """The metrics in Prometheus' text format, merged over the processes ("" when there are none)."""
        if self.shared_dir is not None:
            try:
                self.flush()
            except OSError:
                pass
        types: Dict[str, str] = {}
        merged: Dict[str, Dict[Labels, List[float]]] = {}
        for state in [self._state(), *self._other_states()]:
            try:
                self._merge(state, types, merged)
            except (TypeError, ValueError, KeyError, IndexError):
                continue  # a file another process was writing: its figures come with the next scrape
        lines: List[str] = []
        api = label_value(self.api_name)
        for name in sorted(merged):
            kind = types[name]
            lines.append(f"# HELP {name} Custom metric (metrics_client.{_METHOD[kind][:-2]}).")
            lines.append(f"# TYPE {name} {kind}")
            for labels, values in sorted(merged[name].items()):
                pairs = [f'api_name="{api}"'] + [f'{k}="{label_value(v)}"' for k, v in labels]
                if kind != "histogram":
                    lines.append(f"{name}{{{','.join(pairs)}}} {sample_value(values[0])}")
                    continue
                cumulative = 0
                for bound, n in zip(HISTOGRAM_BUCKETS, values):
                    cumulative += int(n)
                    lines.append(f"{name}_bucket{{{','.join(pairs)},le=\"{sample_value(bound)}\"}} {cumulative}")
                lines.append(f"{name}_bucket{{{','.join(pairs)},le=\"+Inf\"}} {int(values[-1])}")
                lines.append(f"{name}_sum{{{','.join(pairs)}}} {sample_value(values[-2])}")
                lines.append(f"{name}_count{{{','.join(pairs)}}} {int(values[-1])}")
        return "\n".join(lines) + "\n" if lines else ""

    @staticmethod
    def _merge(state: Dict[str, Any], types: Dict[str, str], merged: Dict[str, Dict[Labels, List[float]]]) -> None:
        for name, series in state["series"].items():
            kind = state["types"][name]
            if kind not in _TYPES or types.setdefault(name, kind) != kind:
                continue  # another process used the name with another type: the first one read wins
            target = merged.setdefault(name, {})
            for raw_labels, values in series:
                labels: Labels = tuple((str(k), str(v)) for k, v in raw_labels)
                values = [_checked_number(v) for v in values]
                have = target.get(labels)
                if have is None:
                    target[labels] = values
                elif kind == "gauge":
                    if values[1] >= have[1]:
                        target[labels] = values
                else:
                    target[labels] = [a + b for a, b in zip(have, values)]


def _checked_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return value


class MetricsClient:
    """What ``__init__(self, config, metrics_client)`` gets: Cortex v0.30's ``MetricsClient`` methods."""

    def __init__(self, metrics: CustomMetrics) -> None:
        self._metrics = metrics

    def increment(self, metric: str, value: float = 1, tags: Optional[Dict[str, str]] = None) -> None:
        """Adds ``value`` (default 1, never negative) to the counter ``metric``: ``increment("model_calls", tags={"model": "v1"})``."""
        self._metrics.record("counter", metric, value, tags)

    def gauge(self, metric: str, value: float, tags: Optional[Dict[str, str]] = None) -> None:
        """Sets the gauge ``metric`` to ``value``: ``gauge("active_connections", 1001, tags={"protocol": "http"})``."""
        self._metrics.record("gauge", metric, value, tags)

    def histogram(self, metric: str, value: float, tags: Optional[Dict[str, str]] = None) -> None:
        """Observes ``value`` in the histogram ``metric``: ``histogram("inference_time_seconds", 0.12)``."""
        self._metrics.record("histogram", metric, value, tags)

    def __repr__(self) -> str:
        return f"<MetricsClient of API {self._metrics.api_name!r}>"
