"""``type: onnx``: the ``onnx_client`` handed to an ``ONNXPredictor``, backed by ONNX Runtime.

The models are the settings' ``models`` (as for Cortex's ONNX predictor); each model directory (or
version directory) holds one ``*.onnx`` file. Sessions are cached by the same two LRU caches as the
Python predictor's models (models.py). onnxruntime is imported when the predictor is loaded: an image
without it fails at start, naming the package.
"""

import os
import sys
from typing import Any, Callable, Dict, List, Optional

from .errors import PredictorLoadError, UserError
from .models import LATEST, ModelCache


def import_onnxruntime() -> Any:
    """onnxruntime, imported when an onnx predictor (either form) is loaded: without it the start fails, naming it."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as e:
        raise PredictorLoadError(
            f"type onnx serves its models with the onnxruntime package, which {sys.executable} cannot import ({e}): "
            "the image cortex-cdk builds for an onnx API installs it (onnxruntime-gpu on GPU nodes); anywhere else, "
            "install onnxruntime (pip install onnxruntime)"
        ) from e
    return onnxruntime


def load_onnx_session(onnxruntime: Any, model_path: str) -> Any:
    """An InferenceSession of a model: a .onnx file, or a directory holding exactly one.

    The one loader of both forms: the predictor form's models (through the model cache, on first use) and
    kind: api's model (at start). Either way a model that cannot be loaded is a PredictorLoadError naming it.
    """
    path = model_path
    if os.path.isdir(path):
        files = sorted(f for f in os.listdir(path) if f.endswith(".onnx"))
        if len(files) != 1:
            raise PredictorLoadError(f"model: {path} must be a .onnx file, or a directory holding exactly one; found {files or 'none'}")
        path = os.path.join(path, files[0])
    available = set(onnxruntime.get_available_providers())
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or None
    try:
        return onnxruntime.InferenceSession(path, providers=providers)
    except Exception as e:
        raise PredictorLoadError(f"model: {path}: ONNX Runtime cannot load it: {type(e).__name__}: {e}") from e


def onnx_session_loader(onnxruntime: Any) -> Callable[[str], Any]:
    """A ModelCache loader: the model's directory (or file) → an InferenceSession."""
    return lambda path: load_onnx_session(onnxruntime, path)


def numpy_type_name(onnx_type: str) -> str:
    """An input's ONNX Runtime type (``tensor(float)``) as numpy's dtype name (``float32``), as Cortex reported it.

    The element types ONNX and numpy name alike (``int64``, ``uint8``, ``bool``, ``float16``...) keep their name;
    anything that is not a tensor type (sequences, maps) is returned as ONNX Runtime wrote it.
    """
    if onnx_type.startswith("tensor(") and onnx_type.endswith(")"):
        element = onnx_type[len("tensor("):-1]
        return {"float": "float32", "double": "float64", "string": "object"}.get(element, element)
    return onnx_type


class ONNXClient:
    """``predict(model_input, model_name=None, model_version="latest")`` runs a model's session.

    ``model_version`` as for the Python predictor's ``get_model``: a version number, or ``"latest"`` (the default:
    the highest version number, as in Cortex).
    """

    def __init__(self, cache: ModelCache) -> None:
        self._cache = cache

    def get_model(self, model_name: Optional[str] = None, model_version: Any = LATEST) -> Dict[str, Any]:
        """The model as Cortex's ``onnx_client.get_model`` described it: ``{"session": the InferenceSession,
        "signatures": its inputs, "input_signatures": {input name: {"shape": ..., "type": numpy type name}}}``."""
        session = self._cache.get_model(model_name, model_version)
        inputs = session.get_inputs()
        return {
            "session": session,
            "signatures": inputs,
            "input_signatures": {i.name: {"shape": i.shape, "type": numpy_type_name(i.type)} for i in inputs},
        }

    def predict(self, model_input: Any, model_name: Optional[str] = None, model_version: Any = LATEST) -> List[Any]:
        """Runs the model: a mapping of input name → array, or one array for a model with one input."""
        session = self._cache.get_model(model_name, model_version)
        inputs = session.get_inputs()
        if isinstance(model_input, dict):
            feed: Dict[str, Any] = model_input
        elif len(inputs) == 1:
            feed = {inputs[0].name: model_input}
        else:
            names = ", ".join(i.name for i in inputs)
            raise UserError(f"the model has several inputs ({names}): pass a mapping of input name to value")
        return session.run(None, feed)

    def model_names(self) -> List[str]:
        return self._cache.model_names()
