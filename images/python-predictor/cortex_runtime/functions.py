"""The function style: ``kind: api`` (Cortex 0.10 – 0.12), whose code is module-level functions.

- type python (``python.inference``, or ``predictor.path``): a module with ``predict(sample, metadata)``
  (required) and ``init(metadata)`` or ``init(model_path, metadata)`` (optional, called once before the
  API is ready; ``model_path`` is the local copy of ``model`` when one is set, else None).
- type onnx: the model, served with ONNX Runtime; an optional request handler module with
  ``pre_inference(sample, metadata)`` (its result is the model's input) and ``post_inference(prediction,
  metadata)`` (its result is the response) around the model call. Each may also take ``signature``
  (Cortex 0.11's third argument): the model's inputs, or outputs, as onnxruntime ``NodeArg`` lists.
- type tensorflow: refused at start: the model needs TensorFlow Serving, which is not built.

Arguments are passed by name when every parameter has one of Cortex's names, otherwise by position
(Cortex called these functions positionally, so ``def predict(payload, meta)`` keeps working). With
``?debug=true``, when the API allows it (``allow_debug``), the server logs the raw sample and what
``predict`` returned; a model API also logs the values after ``pre_inference`` and after the model.
"""

import copy
import inspect
import logging
import os
import shutil
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .config import Settings
from .errors import PredictorInitError, PredictorLoadError, UserError
from .models import S3Storage
from .onnx_client import import_onnxruntime, load_onnx_session

logger = logging.getLogger("cortex_runtime")
debug_logger = logging.getLogger("cortex_runtime.debug")

TENSORFLOW_UNSUPPORTED = (
    "tensorflow (kind: api) serves its model with TensorFlow Serving, which cortex-cdk does not build yet: "
    "load the SavedModel with tensorflow in the init() of a python.inference module instead (add tensorflow to "
    "requirements.txt), or serve TensorFlow Serving as a container-form API (kind RealtimeAPI, pod.containers)"
)

#: How many arguments each function takes, by count, when its parameters are not Cortex's names.
INIT_ARGUMENTS: Dict[int, Tuple[str, ...]] = {0: (), 1: ("metadata",), 2: ("model_path", "metadata")}
PREDICT_ARGUMENTS: Dict[int, Tuple[str, ...]] = {1: ("sample",), 2: ("sample", "metadata")}
PRE_INFERENCE_ARGUMENTS: Dict[int, Tuple[str, ...]] = {
    1: ("sample",),
    2: ("sample", "metadata"),
    3: ("sample", "signature", "metadata"),
}
POST_INFERENCE_ARGUMENTS: Dict[int, Tuple[str, ...]] = {
    1: ("prediction",),
    2: ("prediction", "metadata"),
    3: ("prediction", "signature", "metadata"),
}


def _describe_calls(name: str, by_count: Dict[int, Tuple[str, ...]]) -> str:
    return " or ".join(f"{name}({', '.join(names)})" for names in by_count.values())


def bind(fn: Callable, name: str, by_count: Dict[int, Tuple[str, ...]], where: str) -> Callable[[Dict[str, Any]], Any]:
    """``call(values)``: calls ``fn`` with the values (by Cortex's names) its signature takes."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as e:
        raise PredictorLoadError(f"{where}: {name}: cannot read its signature: {e}") from e
    known = {n for names in by_count.values() for n in names}
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        longest = by_count[max(by_count)]
        return lambda values: fn(*(values[n] for n in longest))
    named = [p for p in params if p.kind != p.VAR_KEYWORD]
    if named and all(p.name in known for p in named):
        wanted = [p.name for p in named]
        return lambda values: fn(**{n: values[n] for n in wanted})
    positional = [p for p in named if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    keyword_only = [p.name for p in named if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    counts = [n for n in sorted(by_count, reverse=True) if len(required) <= n <= len(positional)]
    if keyword_only or not counts:
        raise PredictorLoadError(
            f"{where}: {name}{inspect.signature(fn)} cannot be called the way Cortex calls it: "
            f"{_describe_calls(name, by_count)}"
        )
    names = by_count[counts[0]]
    return lambda values: fn(*(values[n] for n in names))


def _functions_in(module: Any) -> List[str]:
    return sorted(
        n for n, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__ and not n.startswith("_")
    )


def _optional_function(module: Any, name: str, where: str) -> Optional[Callable]:
    fn = getattr(module, name, None) if module is not None else None
    if fn is not None and not callable(fn):
        raise PredictorLoadError(f"{where}: {name} must be a function, got a {type(fn).__name__}")
    return fn


class FunctionPredictor:
    """What the runtime calls for a function-style API: ``predict(payload, query_params, headers)``."""

    def __init__(self, settings: Settings, module: Any, model_path: Optional[str], onnx_session: Any = None) -> None:
        self.settings = settings
        self.module = module
        self.model_path = model_path
        # One copy for the API's whole life, as in Cortex: what init() stores in it, predict() sees.
        self.metadata = copy.deepcopy(settings.metadata)
        self.session = onnx_session
        self.is_async = False
        where = settings.path or "the model"
        if settings.type == "python":
            predict = getattr(module, "predict", None)
            if not callable(predict):
                hint = (
                    "; it defines a PythonPredictor class: that is kind RealtimeAPI's predictor form (predictor.type: python)"
                    if inspect.isclass(getattr(module, "PythonPredictor", None)) else ""
                )
                raise PredictorLoadError(
                    f"{where}: defines no predict(sample, metadata) function (kind: api calls module-level init() and "
                    f"predict()); functions found: {', '.join(_functions_in(module)) or 'none'}{hint}"
                )
            self.is_async = inspect.iscoroutinefunction(predict)
            self._predict = bind(predict, "predict", PREDICT_ARGUMENTS, where)
            init = _optional_function(module, "init", where)
            self._init = bind(init, "init", INIT_ARGUMENTS, where) if init is not None else None
        else:
            pre = _optional_function(module, "pre_inference", where)
            post = _optional_function(module, "post_inference", where)
            self._pre = bind(pre, "pre_inference", PRE_INFERENCE_ARGUMENTS, where) if pre is not None else None
            self._post = bind(post, "post_inference", POST_INFERENCE_ARGUMENTS, where) if post is not None else None
            self._init = None

    def init(self) -> None:
        if self._init is None:
            return
        try:
            self._init({"model_path": self.model_path, "metadata": self.metadata})
        except Exception as e:
            raise PredictorInitError(f"{self.settings.path}: init() raised {type(e).__name__}: {e}") from e

    def predict(self, payload: Any, query_params: Any, headers: Any) -> Any:
        if self.settings.type == "python":
            return self._predict({"sample": payload, "metadata": self.metadata})
        debug = (self.settings.allow_debug and isinstance(query_params, Mapping)  # Starlette's QueryParams
                 and query_params.get("debug", "").lower() == "true")
        return self._infer(payload, debug)

    def _infer(self, sample: Any, debug: bool) -> Any:
        api = self.settings.api_name
        inputs = self.session.get_inputs()
        model_input = sample
        if self._pre is not None:
            model_input = self._pre({"sample": sample, "signature": inputs, "metadata": self.metadata})
            if debug:
                debug_logger.info("%s: debug: after pre_inference: %s", api, _for_log(model_input))
        outputs = self.session.run(None, model_feed(model_input, inputs))
        if debug:
            debug_logger.info("%s: debug: after inference: %s", api, _for_log(outputs))
        if self._post is None:
            return outputs
        return self._post({"prediction": outputs, "signature": self.session.get_outputs(), "metadata": self.metadata})


def _for_log(value: Any) -> str:
    from .server import _for_log as server_for_log  # the server's own formatting (size-capped)

    return server_for_log(value)


#: ONNX tensor element types → numpy dtype names.
ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def model_feed(model_input: Any, inputs: Sequence[Any]) -> Dict[str, Any]:
    """The model's feed: a mapping of input name → value, or one value for a model with one input.

    Lists become arrays of the input's element type (as Cortex converted them); a value that does not
    convert, or a name the model does not have, is the caller's mistake (400).
    """
    names = [i.name for i in inputs]
    if isinstance(model_input, dict):
        unknown = sorted(set(model_input) - set(names))
        if unknown:
            raise UserError(f"the model has no input {', '.join(map(repr, unknown))}; its inputs are: {', '.join(names)}")
        pairs = list(model_input.items())
    elif len(inputs) == 1:
        pairs = [(names[0], model_input)]
    else:
        raise UserError(
            f"the model has several inputs ({', '.join(names)}): the sample (or pre_inference's result) must be a "
            "mapping of input name to value"
        )
    types_by_name = {i.name: getattr(i, "type", None) for i in inputs}
    return {name: _as_tensor(name, value, types_by_name.get(name)) for name, value in pairs}


def _as_tensor(name: str, value: Any, onnx_type: Optional[str]) -> Any:
    import numpy as np  # onnxruntime depends on numpy: where it is importable, numpy is too

    dtype = ONNX_DTYPES.get(onnx_type or "")
    try:
        return np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
    except (TypeError, ValueError) as e:
        raise UserError(f"input {name!r}: cannot be made a {onnx_type or 'tensor'}: {e}") from e


def fetch_model(path: str, project_dir: str, cache_dir: str) -> str:
    """The local copy of ``model``: a path in the project as it is, or an S3 file or prefix downloaded."""
    if not path.startswith("s3://"):
        local = os.path.normpath(os.path.join(project_dir, path))
        if not os.path.exists(local):
            raise PredictorLoadError(f"model: {path} not found in the project ({project_dir})")
        return local
    shutil.rmtree(cache_dir, ignore_errors=True)
    os.makedirs(cache_dir, exist_ok=True)
    storage = S3Storage()
    try:
        directory = os.path.join(cache_dir, "model")
        try:
            storage.fetch(path, directory)  # a prefix: the model is a directory
            return directory
        except FileNotFoundError:
            file = os.path.join(cache_dir, os.path.basename(path.rstrip("/")) or "model")
            storage.fetch_object(path, file)
            return file
    except PredictorLoadError:
        raise
    except Exception as e:  # boto3 missing, credentials, no such key: say which model and why
        raise PredictorLoadError(f"model: cannot fetch {path}: {type(e).__name__}: {e}") from e


def load_function_predictor(settings: Settings, project_dir: str, import_module: Callable[[], Any],
                            model_cache_dir: str) -> FunctionPredictor:
    """Imports the module, fetches the model, runs ``init``: the API is ready when this returns."""
    if settings.type == "tensorflow":
        raise PredictorLoadError(TENSORFLOW_UNSUPPORTED)
    onnxruntime = import_onnxruntime() if settings.type == "onnx" else None
    module = import_module() if settings.path is not None else None
    model_path = None
    if settings.models is not None and settings.models.path is not None:
        logger.info("%s: fetching the model %s", settings.api_name, settings.models.path)
        model_path = fetch_model(settings.models.path, project_dir, model_cache_dir)
    session = load_onnx_session(onnxruntime, model_path) if onnxruntime is not None and model_path is not None else None
    predictor = FunctionPredictor(settings, module, model_path, session)
    predictor.init()
    return predictor
