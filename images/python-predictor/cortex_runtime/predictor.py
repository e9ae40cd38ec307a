"""The user's predictor: loaded from the settings, called with the arguments it asks for.

``Predictor`` holds the user's instance and owns readiness: ``ready`` becomes true when the user's
``__init__`` has returned, and never before. Cortex's optional arguments are passed by name, when
the user's signature has them:

- ``__init__``: ``config`` (the settings' config), ``python_client`` / ``model_client`` (type python
  with models), ``onnx_client`` (type onnx), ``metrics_client`` (custom metrics: custom_metrics.py);
- ``predict``: ``payload``, ``query_params``, ``headers``;
- ``post_predict``: ``response``, ``payload``, ``query_params``, ``headers``.

``predict`` and ``post_predict`` may be ``async def``: they then run on the event loop instead of the
thread pool. ``predict`` may return an iterator or be a generator (sync or async): the response is streamed
(streaming.py), which server-side batching refuses at load.
"""

import copy
import importlib.util
import inspect
import logging
import os
import sys
import tempfile
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence

from .config import Settings
from .custom_metrics import CustomMetrics
from .errors import PredictorInitError, PredictorLoadError
from .models import ModelCache, ModelClient

logger = logging.getLogger("cortex_runtime")

CLASS_NAMES = {"python": "PythonPredictor", "onnx": "ONNXPredictor", "tensorflow": "TensorFlowPredictor"}
PREDICT_PARAMS = ("payload", "query_params", "headers")
POST_PREDICT_PARAMS = ("response", "payload", "query_params", "headers")
MODEL_CLIENT_PARAMS = ("python_client", "model_client")
MODEL_CACHE_DIR_ENV = "CORTEX_MODEL_CACHE_DIR"

TENSORFLOW_UNSUPPORTED = (
    "type tensorflow is not supported by this runtime: it needs a TensorFlow Serving container beside it, "
    "which cortex-cdk does not deploy. Use type python with multi_model_reloading and load the SavedModel "
    "with tensorflow in load_model() (add tensorflow to requirements.txt), or serve TensorFlow Serving as a "
    "container-form API (pod.containers)"
)


def _call_with(fn: Callable, offered: Sequence[str], what: str) -> Callable[..., Any]:
    """``call(*values)``, ``values`` in the order of ``offered``: calls ``fn`` with those its signature names."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError) as e:
        raise PredictorLoadError(f"{what}: cannot read its signature: {e}") from e
    wanted: List[str] = []
    for name, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in offered:
            wanted.append(name)
        elif param.default is param.empty:
            raise PredictorLoadError(
                f"{what}: parameter {name!r} is not one Cortex passes ({', '.join(offered)}); "
                "rename it or give it a default"
            )
    positions = [list(offered).index(n) for n in wanted]
    pairs = list(zip(wanted, positions))

    def call(*args: Any) -> Any:
        return fn(**{name: args[i] for name, i in pairs})

    call.is_async = inspect.iscoroutinefunction(fn)  # type: ignore[attr-defined]
    call.wanted = frozenset(wanted)  # type: ignore[attr-defined]
    return call


class Predictor:
    """The predictor of one API in this process. Construct, then ``load()`` (in a thread: it may be slow)."""

    def __init__(self, settings: Settings, project_dir: str, *, process_index: int = 0,
                 model_cache_dir: Optional[str] = None, metrics_dir: Optional[str] = None) -> None:
        self.settings = settings
        self.project_dir = project_dir
        self.process_index = process_index
        #: Where models are fetched to; each process uses a directory of its own below it.
        self.model_cache_root = (
            model_cache_dir or os.environ.get(MODEL_CACHE_DIR_ENV) or os.path.join(tempfile.gettempdir(), "cortex-models")
        )
        self.instance: Any = None
        #: The predictor's custom metrics (``metrics_client``), served at /metrics; ``metrics_dir``: the directory the
        #: processes of a replica share them through.
        self.custom_metrics = CustomMetrics(settings.api_name, shared_dir=metrics_dir, process_index=process_index)
        self.model_cache: Optional[ModelCache] = None
        self._ready = threading.Event()
        self._predict: Optional[Callable[..., Any]] = None
        self._post_predict: Optional[Callable[..., Any]] = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def has_post_predict(self) -> bool:
        return self._post_predict is not None

    @property
    def predict_is_async(self) -> bool:
        return bool(self._predict is not None and self._predict.is_async)  # type: ignore[attr-defined]

    @property
    def post_predict_is_async(self) -> bool:
        return bool(self._post_predict is not None and self._post_predict.is_async)  # type: ignore[attr-defined]

    # -- loading ----------------------------------------------------------------------------------

    def load(self) -> None:
        """Imports the user's class and calls its ``__init__``. Raises PredictorLoadError (or what ``__init__`` raised)."""
        s = self.settings
        if s.style == "function":
            self._load_functions()
            return
        class_name = CLASS_NAMES[s.type]
        if s.type == "tensorflow":
            raise PredictorLoadError(TENSORFLOW_UNSUPPORTED)
        onnxruntime = None
        if s.type == "onnx":
            from .onnx_client import import_onnxruntime

            onnxruntime = import_onnxruntime()
            if s.models is None:
                raise PredictorLoadError("type onnx needs models (path, paths or dir): the ONNX models to serve")

        module = self._import_module()
        cls = getattr(module, class_name, None)
        if not inspect.isclass(cls):
            found = sorted(n for n, v in vars(module).items() if inspect.isclass(v) and v.__module__ == module.__name__)
            raise PredictorLoadError(
                f"{s.path}: defines no class {class_name} (type {s.type}); classes found: {', '.join(found) or 'none'}"
            )
        if not callable(getattr(cls, "predict", None)):
            raise PredictorLoadError(f"{s.path}: {class_name} has no predict() method")

        offered: Dict[str, Any] = {"config": copy.deepcopy(s.config), "metrics_client": self.custom_metrics.client}
        holder: Dict[str, Any] = {}
        if s.models is not None:
            if s.type == "onnx":
                from .onnx_client import ONNXClient, onnx_session_loader

                self.model_cache = self._model_cache(onnx_session_loader(onnxruntime))
                offered["onnx_client"] = ONNXClient(self.model_cache)
            else:
                if not callable(getattr(cls, "load_model", None)):
                    raise PredictorLoadError(
                        f"{s.path}: {class_name} must define load_model(self, model_path) when models "
                        "(multi_model_reloading) are set: the runtime calls it to load each model"
                    )
                self.model_cache = self._model_cache(lambda path: holder["instance"].load_model(path))
                client = ModelClient(self.model_cache)
                offered.update({name: client for name in MODEL_CLIENT_PARAMS})
        self._check_init_signature(cls, offered)

        logger.info("%s: initializing %s from %s", s.api_name, class_name, s.path)
        if s.models is not None and s.type == "python":
            # load_model is a method of the instance being built, and __init__ may already call
            # get_model() (to warm a model up): so the instance exists before its __init__ runs.
            instance = cls.__new__(cls)
            holder["instance"] = instance
            init = _call_with(instance.__init__, list(offered), f"{class_name}.__init__")
        else:
            init = _call_with(cls, list(offered), f"{class_name}.__init__")
        try:
            created = init(*offered.values())
        except Exception as e:
            raise PredictorInitError(f"{class_name}.__init__ raised {type(e).__name__}: {e}") from e
        if "instance" not in holder:
            instance = created
        self.instance = instance
        self._predict = _call_with(instance.predict, PREDICT_PARAMS, f"{class_name}.predict")
        if s.server_side_batching is not None and (
            inspect.isgeneratorfunction(instance.predict) or inspect.isasyncgenfunction(instance.predict)
        ):
            raise PredictorLoadError(
                f"{s.path}: {class_name}.predict is a generator (it yields: a streamed response), which "
                "server_side_batching cannot serve (a batch's predict returns one prediction per request): remove "
                "server_side_batching from the API's predictor, or return the predictions instead of yielding them"
            )
        post = getattr(instance, "post_predict", None)
        if callable(post):
            self._post_predict = _call_with(
                post, POST_PREDICT_PARAMS, f"{class_name}.post_predict"
            )
        self._ready.set()
        logger.info("%s: ready", s.api_name)

    def _load_functions(self) -> None:
        """kind: api: module-level functions (functions.py) instead of a class."""
        from .functions import load_function_predictor

        s = self.settings
        logger.info("%s: initializing the %s functions of %s (kind: api)", s.api_name, s.type, s.path or "no module: the model alone")
        model_dir = os.path.join(self.model_cache_root, f"process-{self.process_index}")
        functions = load_function_predictor(s, self.project_dir, self._import_module, model_dir)
        self.instance = functions

        def call(payload: Any, query_params: Any, headers: Any) -> Any:
            return functions.predict(payload, query_params, headers)

        call.is_async = functions.is_async  # type: ignore[attr-defined]
        call.wanted = frozenset(("payload",))  # type: ignore[attr-defined]
        self._predict = call
        self._ready.set()
        logger.info("%s: ready", s.api_name)

    def _check_init_signature(self, cls: type, offered: Dict[str, Any]) -> None:
        try:
            params = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            return
        for name in params:
            if name in MODEL_CLIENT_PARAMS and name not in offered:
                raise PredictorLoadError(
                    f"{cls.__name__}.__init__ asks for {name}, which is given only when models are set "
                    "(multi_model_reloading in cortex.yaml)"
                )
            if name == "onnx_client" and name not in offered:
                raise PredictorLoadError(f"{cls.__name__}.__init__ asks for onnx_client, which type {self.settings.type} does not give")

    def _import_module(self) -> Any:
        s = self.settings
        path = os.path.join(self.project_dir, s.path)
        if not os.path.isfile(path):
            raise PredictorLoadError(f"path: {s.path} not found in the project ({self.project_dir})")
        # The project (and python_path) importable, as in Cortex: predictors import their own modules.
        for directory in (os.path.dirname(path), self.project_dir) + (
            (os.path.join(self.project_dir, s.python_path),) if s.python_path else ()
        ):
            if directory not in sys.path:
                sys.path.insert(0, directory)
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PredictorLoadError(f"path: {s.path} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so that pickle finds the classes defined there
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise PredictorLoadError(f"{s.path}: importing it raised {type(e).__name__}: {e}") from e
        return module

    def _model_cache(self, loader: Callable[[str], Any]) -> ModelCache:
        assert self.settings.models is not None
        return ModelCache(
            self.settings.models,
            loader,
            cache_dir=os.path.join(self.model_cache_root, f"process-{self.process_index}"),
            project_dir=self.project_dir,
        )

    # -- serving ----------------------------------------------------------------------------------

    def predict(self, payload: Any, query_params: Any, headers: Any) -> Any:
        assert self._predict is not None, "predict() before load()"
        return self._predict(payload, query_params, headers)

    def post_predict(self, response: Any, payload: Any, query_params: Any, headers: Any) -> Any:
        assert self._post_predict is not None
        return self._post_predict(response, payload, query_params, headers)
