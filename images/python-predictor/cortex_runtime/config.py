"""The settings file: read once at start, checked, turned into typed settings.

cortex-cdk renders it (constructs/predictor-config.ts; docs/kubernetes-objects.md, "Predictor-form
APIs") into a ConfigMap mounted at ``$CORTEX_PREDICTOR_CONFIG``. Every problem is reported at once,
one per line, naming the key, the value received and what is allowed.

``CORTEX_MAX_BODY_SIZE`` (the largest request body) comes from the environment instead, so that a user
sets it with ``predictor.env`` in cortex.yaml.
"""

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .errors import SettingsError

SETTINGS_VERSION = 1
SETTINGS_ENV = "CORTEX_PREDICTOR_CONFIG"
DEFAULT_SETTINGS_PATH = "/etc/cortex/predictor.json"
PROJECT_DIR_ENV = "CORTEX_PROJECT_DIR"
DEFAULT_PROJECT_DIR = "/opt/cortex/project"
#: The largest request body, in bytes or with k/M/G (1000s) or Ki/Mi/Gi (1024s): the proxy's --max-body-size syntax.
MAX_BODY_SIZE_ENV = "CORTEX_MAX_BODY_SIZE"
#: The proxy's own default (--max-body-size 128Mi): the runtime refuses no body the proxy lets through.
DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024
SIZE_UNITS = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
_SIZE = re.compile(r"\s*(\d+)\s*(k|K|M|G|Ki|Mi|Gi)?\s*")

PREDICTOR_TYPES = ("python", "tensorflow", "onnx")
#: ``class``: a PythonPredictor/ONNXPredictor class (kind RealtimeAPI); ``function``: module-level
#: functions (kind: api, Cortex 0.10 – 0.12; functions.py).
STYLES = ("class", "function")
LOG_LEVELS = ("debug", "info", "warning", "error")
MODEL_TYPES = ("classification", "regression")

KNOWN_KEYS = (
    "version",
    "api_name",
    "port",
    "type",
    "path",
    "config",
    "models",
    "server_side_batching",
    "processes_per_replica",
    "threads_per_process",
    "log_level",
    "python_path",
    "signature_key",
    "dependencies",
    "tracker",
    "compute",
    "style",
    "metadata",
    "allow_debug",
)


@dataclass(frozen=True)
class ModelPath:
    name: str
    path: str
    signature_key: Optional[str] = None


@dataclass(frozen=True)
class ModelsSettings:
    """Exactly one of ``path``, ``paths``, ``dir``. Cache sizes: ``None`` keeps every model."""

    path: Optional[str] = None
    paths: Optional[Tuple[ModelPath, ...]] = None
    dir: Optional[str] = None
    cache_size: Optional[int] = None
    disk_cache_size: Optional[int] = None
    signature_key: Optional[str] = None


@dataclass(frozen=True)
class BatchingSettings:
    max_batch_size: int
    batch_interval_seconds: float


@dataclass(frozen=True)
class TrackerSettings:
    model_type: str
    key: Optional[str] = None


@dataclass(frozen=True)
class ComputeSettings:
    cpu: Optional[str] = None
    mem: Optional[str] = None
    gpu: int = 0
    inf: int = 0


@dataclass(frozen=True)
class Settings:
    api_name: str
    type: str
    #: The user's module; None only for a function-style tensorflow/onnx API without request handler.
    path: Optional[str]
    port: int = 8080
    config: Dict[str, Any] = field(default_factory=dict)
    models: Optional[ModelsSettings] = None
    server_side_batching: Optional[BatchingSettings] = None
    processes_per_replica: int = 1
    threads_per_process: int = 1
    log_level: str = "info"
    python_path: Optional[str] = None
    signature_key: Optional[str] = None
    tracker: Optional[TrackerSettings] = None
    compute: ComputeSettings = field(default_factory=ComputeSettings)
    style: str = "class"
    #: kind: api's metadata, handed to the function-style init/predict and request handlers.
    metadata: Dict[str, Any] = field(default_factory=dict)
    #: Whether ``?debug=true`` logs requests' payloads and predictions (cortex.yaml's predictor.allow_debug;
    #: absent: no, as in the cluster by default; ``cortex local`` sets it).
    allow_debug: bool = False
    #: The largest request body the runtime reads (``$CORTEX_MAX_BODY_SIZE``); larger ones get a 413.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Keys this runtime does not know (logged as a warning, not refused: the version gates the layout).
    unknown_keys: Tuple[str, ...] = ()


class _Problems:
    """Collects every problem of one file, so that the user fixes them in one go."""

    def __init__(self) -> None:
        self.lines: List[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{key}: {message}")


def _describe(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(problems: _Problems, obj: dict, key: str, prefix: str = "", *, default: Optional[int], minimum: int,
         maximum: Optional[int] = None, required: bool = False) -> Optional[int]:
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(prefix + key, "is required")
        return default
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        allowed = f"an integer from {minimum} to {maximum}" if maximum is not None else f"an integer >= {minimum}"
        problems.add(prefix + key, f"must be {allowed}, got {_describe(value)}")
        return default
    return value


def _str(problems: _Problems, obj: dict, key: str, prefix: str = "", *, required: bool = False) -> Optional[str]:
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(prefix + key, "is required")
        return None
    if not isinstance(value, str) or value == "":
        problems.add(prefix + key, f"must be a non-empty string, got {_describe(value)}")
        return None
    return value


def _enum(problems: _Problems, obj: dict, key: str, allowed: Tuple[str, ...], prefix: str = "", *,
          default: Optional[str] = None, required: bool = False) -> Optional[str]:
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(prefix + key, f"is required (one of {', '.join(allowed)})")
        return default
    if value not in allowed:
        problems.add(prefix + key, f"must be one of {', '.join(allowed)}, got {_describe(value)}")
        return default
    return value


def _bool(problems: _Problems, obj: dict, key: str, *, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(key, f"must be true or false, got {_describe(value)}")
        return default
    return value


def parse_size(text: str) -> Optional[int]:
    """``128Mi`` → 134217728; None unless a positive number of bytes in the proxy's size syntax."""
    match = _SIZE.fullmatch(text)
    if match is None:
        return None
    size = int(match.group(1)) * SIZE_UNITS[match.group(2) or ""]
    return size if size >= 1 else None


def _max_body_bytes(problems: _Problems, environ: Mapping[str, str]) -> int:
    text = environ.get(MAX_BODY_SIZE_ENV)
    if text is None or text.strip() == "":
        return DEFAULT_MAX_BODY_BYTES
    size = parse_size(text)
    if size is None:
        problems.add(f"${MAX_BODY_SIZE_ENV}",
                     f"must be a positive number of bytes, e.g. 1048576, 100M or 128Mi, got {_describe(text)}")
        return DEFAULT_MAX_BODY_BYTES
    return size


def _mapping(problems: _Problems, obj: dict, key: str, prefix: str = "") -> Optional[dict]:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(prefix + key, f"must be a mapping or null, got {_describe(value)}")
        return None
    return value


def _user_mapping(problems: _Problems, raw: dict, key: str) -> Dict[str, Any]:
    """``config`` / ``metadata``: the user's own mapping, handed to their code as it is; empty when absent."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(key, f"must be a mapping, got {_describe(value)}")
        return {}
    return value


def _models(problems: _Problems, raw: dict) -> Optional[ModelsSettings]:
    models = _mapping(problems, raw, "models")
    if models is None:
        return None
    p = "models."
    path = _str(problems, models, "path", p)
    dir_ = _str(problems, models, "dir", p)
    paths: Optional[Tuple[ModelPath, ...]] = None
    raw_paths = models.get("paths")
    if raw_paths is not None:
        if not isinstance(raw_paths, list) or not raw_paths:
            problems.add(p + "paths", f"must be a non-empty list of {{name, path}}, got {_describe(raw_paths)}")
        else:
            entries = []
            seen = set()
            for i, entry in enumerate(raw_paths):
                ep = f"{p}paths[{i}]."
                if not isinstance(entry, dict):
                    problems.add(f"{p}paths[{i}]", f"must be a mapping {{name, path}}, got {_describe(entry)}")
                    continue
                name = _str(problems, entry, "name", ep, required=True)
                model_path = _str(problems, entry, "path", ep, required=True)
                signature_key = _str(problems, entry, "signature_key", ep)
                if name is not None and name in seen:
                    problems.add(ep + "name", f"duplicate model name {_describe(name)}")
                elif name is not None and model_path is not None:
                    seen.add(name)
                    entries.append(ModelPath(name, model_path, signature_key))
            paths = tuple(entries)
    given = [k for k, v in (("path", path), ("paths", raw_paths), ("dir", dir_)) if v is not None]
    if len(given) != 1:
        problems.add("models", f"must set exactly one of path, paths, dir; got {', '.join(given) or 'none'}")
    cache_size = _int(problems, models, "cache_size", p, default=None, minimum=1)
    disk_cache_size = _int(problems, models, "disk_cache_size", p, default=None, minimum=1)
    if cache_size is not None and disk_cache_size is not None and cache_size > disk_cache_size:
        problems.add(p + "cache_size", f"must be <= disk_cache_size ({disk_cache_size}), got {cache_size}")
    return ModelsSettings(
        path=path,
        paths=paths,
        dir=dir_,
        cache_size=cache_size,
        disk_cache_size=disk_cache_size,
        signature_key=_str(problems, models, "signature_key", p),
    )


def _batching(problems: _Problems, raw: dict) -> Optional[BatchingSettings]:
    batching = _mapping(problems, raw, "server_side_batching")
    if batching is None:
        return None
    p = "server_side_batching."
    size = _int(problems, batching, "max_batch_size", p, default=None, minimum=1, required=True)
    interval = batching.get("batch_interval_seconds")
    if interval is None:
        problems.add(p + "batch_interval_seconds", "is required")
    elif isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        problems.add(p + "batch_interval_seconds", f"must be a number of seconds > 0, got {_describe(interval)}")
        interval = None
    if size is None or interval is None:
        return None
    return BatchingSettings(size, float(interval))


def _tracker(problems: _Problems, raw: dict) -> Optional[TrackerSettings]:
    tracker = _mapping(problems, raw, "tracker")
    if tracker is None:
        return None
    model_type = _enum(problems, tracker, "model_type", MODEL_TYPES, "tracker.", required=True)
    key = _str(problems, tracker, "key", "tracker.")
    return TrackerSettings(model_type, key) if model_type is not None else None


def _compute(problems: _Problems, raw: dict) -> ComputeSettings:
    compute = _mapping(problems, raw, "compute") or {}
    p = "compute."
    cpu, mem = compute.get("cpu"), compute.get("mem")
    return ComputeSettings(
        cpu=str(cpu) if cpu is not None else None,
        mem=str(mem) if mem is not None else None,
        gpu=_int(problems, compute, "gpu", p, default=0, minimum=0) or 0,
        inf=_int(problems, compute, "inf", p, default=0, minimum=0) or 0,
    )


def _function_style_models(problems: _Problems, type_: Optional[str], models: Optional[ModelsSettings]) -> None:
    """kind: api names at most one model (``models.path``); a tensorflow or onnx API needs it."""
    if models is not None and models.path is None:
        problems.add("models", "a function-style (kind: api) predictor takes one model: models.path")
    if models is None and type_ in ("tensorflow", "onnx"):
        problems.add("models", f"a function-style {type_} predictor needs its model: models.path")


def parse_settings(raw: Any, source: str = "settings", environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Checks a decoded settings file, and the settings in ``environ`` (default: the process's environment);
    raises SettingsError listing every problem."""
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: must be a JSON object, got {_describe(raw)}")
    version = raw.get("version")
    if version != SETTINGS_VERSION:
        raise SettingsError(
            f"{source}: version: this runtime reads settings version {SETTINGS_VERSION}, got {_describe(version)}; "
            "build the image with the cortex-cdk release that rendered the settings"
        )
    problems = _Problems()
    api_name = _str(problems, raw, "api_name", required=True)
    port = _int(problems, raw, "port", default=8080, minimum=1, maximum=65535)
    type_ = _enum(problems, raw, "type", PREDICTOR_TYPES, required=True)
    style = _enum(problems, raw, "style", STYLES, default="class")
    # A function-style model API may have no code at all: the model answers with no request handler.
    path = _str(problems, raw, "path", required=not (style == "function" and type_ in ("tensorflow", "onnx")))
    metadata = _user_mapping(problems, raw, "metadata")
    config = _user_mapping(problems, raw, "config")
    models = _models(problems, raw)
    batching = _batching(problems, raw)
    processes = _int(problems, raw, "processes_per_replica", default=1, minimum=1)
    threads = _int(problems, raw, "threads_per_process", default=1, minimum=1)
    log_level = _enum(problems, raw, "log_level", LOG_LEVELS, default="info")
    python_path = _str(problems, raw, "python_path")
    signature_key = _str(problems, raw, "signature_key")
    tracker = _tracker(problems, raw)
    compute = _compute(problems, raw)
    allow_debug = _bool(problems, raw, "allow_debug", default=False)
    max_body_bytes = _max_body_bytes(problems, os.environ if environ is None else environ)
    if style == "function":
        _function_style_models(problems, type_, models)
    if problems.lines:
        raise SettingsError("\n".join(f"{source}: {line}" for line in problems.lines))
    assert api_name is not None and type_ is not None
    return Settings(
        api_name=api_name,
        type=type_,
        path=path,
        port=port or 8080,
        config=config,
        models=models,
        server_side_batching=batching,
        processes_per_replica=processes or 1,
        threads_per_process=threads or 1,
        log_level=log_level or "info",
        python_path=python_path,
        signature_key=signature_key,
        tracker=tracker,
        compute=compute,
        style=style or "class",
        metadata=metadata,
        allow_debug=allow_debug,
        max_body_bytes=max_body_bytes,
        unknown_keys=tuple(sorted(k for k in raw if k not in KNOWN_KEYS)),
    )


def load_settings(path: Optional[str] = None) -> Settings:
    """Reads the settings file at ``path``, else ``$CORTEX_PREDICTOR_CONFIG``, else the default path."""
    path = path or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS_PATH
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SettingsError(
            f"{path}: cannot read the predictor settings ({e.strerror or e}); "
            f"set {SETTINGS_ENV} to the settings file cortex-cdk renders"
        ) from e
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise SettingsError(f"{path}: not valid JSON: {e}") from e
    return parse_settings(raw, path)


def project_dir() -> str:
    """The directory the settings' relative paths (path, python_path, local models) are relative to."""
    return os.path.abspath(os.environ.get(PROJECT_DIR_ENV) or DEFAULT_PROJECT_DIR)
