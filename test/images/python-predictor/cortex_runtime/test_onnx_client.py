"""onnx_client.py: type onnx, with a stand-in for onnxruntime (no Debian package ships it)."""

import os
import re
import sys
import types

import pytest
from harness import settings, write_project

from cortex_runtime.config import parse_settings
from cortex_runtime.errors import PredictorLoadError
from cortex_runtime.onnx_client import ONNXClient, numpy_type_name
from cortex_runtime.predictor import Predictor


class FakeSession:
    def __init__(self, path, providers=None):
        self.path = path
        self.providers = providers

    def get_inputs(self):
        return [types.SimpleNamespace(name="x", shape=[None, 4], type="tensor(float)")]

    def run(self, outputs, feed):
        # The directory the model came from (the cache holds links to the project's models).
        return [("ran", os.path.basename(os.path.dirname(os.path.realpath(self.path))), feed)]


def fake_onnxruntime():
    return types.SimpleNamespace(InferenceSession=FakeSession, get_available_providers=lambda: ["CPUExecutionProvider"])


SOURCE = """
    class ONNXPredictor:
        def __init__(self, onnx_client, config):
            self.client = onnx_client

        def predict(self, payload, query_params):
            return self.client.predict(payload, query_params.get("model"))
"""
FILES = {"models/iris/1/model.onnx": "", "models/mnist/model.onnx": ""}


def load(tmp_path, **overrides):
    project = write_project(tmp_path / "project", SOURCE, FILES)
    predictor = Predictor(parse_settings(settings(type="onnx", **overrides)), str(project), model_cache_dir=str(tmp_path / "c"))
    predictor.load()
    return predictor


def test_an_onnx_predictor_gets_a_client_running_the_models_sessions(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
    predictor = load(tmp_path, models={"dir": "models", "cache_size": 1, "disk_cache_size": 2})
    assert predictor.predict([1.0], {"model": "iris"}, {}) == [("ran", "1", {"x": [1.0]})]
    assert predictor.predict({"x": [2.0]}, {"model": "mnist"}, {}) == [("ran", "mnist", {"x": [2.0]})]
    assert predictor.model_cache.in_memory() == [("mnist", "1")]


def test_without_onnxruntime_the_start_fails_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(PredictorLoadError, match="type onnx serves its models with the onnxruntime package, which .* cannot import"):
        load(tmp_path, models={"dir": "models"})


def test_type_onnx_without_models_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
    with pytest.raises(PredictorLoadError, match="type onnx needs models"):
        load(tmp_path)


def test_predict_takes_a_version_number_or_latest_the_default(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
    project = write_project(tmp_path / "project", SOURCE, {"models/iris/1/model.onnx": "", "models/iris/2/model.onnx": ""})
    predictor = Predictor(parse_settings(settings(type="onnx", models={"dir": "models"})), str(project),
                          model_cache_dir=str(tmp_path / "c"))
    predictor.load()
    client = ONNXClient(predictor.model_cache)
    assert client.predict([1.0], "iris") == [("ran", "2", {"x": [1.0]})]
    assert client.predict([1.0], "iris", "latest") == [("ran", "2", {"x": [1.0]})]
    assert client.predict([1.0], "iris", "1") == [("ran", "1", {"x": [1.0]})]
    assert client.get_model("iris", "latest")["session"].path.endswith("model.onnx")


def test_get_model_is_the_dict_cortex_described_session_signatures_and_input_signatures(tmp_path, monkeypatch):
    # GIVEN an ONNX model with one float input
    monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
    project = write_project(tmp_path / "project", SOURCE, {"models/iris/1/model.onnx": ""})
    predictor = Predictor(parse_settings(settings(type="onnx", models={"dir": "models"})), str(project),
                          model_cache_dir=str(tmp_path / "c"))
    predictor.load()
    # WHEN a predictor asks for the model, as Cortex's yolov5 example does
    model = ONNXClient(predictor.model_cache).get_model("iris")
    # THEN it gets Cortex's dict: the session, its inputs, and each input's shape and numpy type
    assert isinstance(model["session"], FakeSession)
    assert [i.name for i in model["signatures"]] == ["x"]
    (signature,) = model["input_signatures"].values()
    assert signature == {"shape": [None, 4], "type": "float32"}


@pytest.mark.parametrize("onnx_type, numpy_type", [
    ("tensor(float)", "float32"), ("tensor(double)", "float64"), ("tensor(string)", "object"),
    ("tensor(int64)", "int64"), ("tensor(uint8)", "uint8"), ("tensor(bool)", "bool"), ("tensor(float16)", "float16"),
    ("seq(tensor(float))", "seq(tensor(float))"),
])
def test_input_types_are_named_as_numpy_names_them(onnx_type, numpy_type):
    assert numpy_type_name(onnx_type) == numpy_type


# One loader for both forms: the predictor form's ONNXPredictor (its models loaded through the cache) and
# kind: api's onnx model (functions.py) fail alike on the same model.

class BrokenSession:
    """ONNX Runtime refusing a file that is not a model."""

    def __init__(self, path, providers=None):
        if open(path).read() == "not a model":
            raise ValueError("[ONNXRuntimeError] : 7 : INVALID_PROTOBUF")
        self.path = path


def broken_onnxruntime():
    return types.SimpleNamespace(InferenceSession=BrokenSession, get_available_providers=lambda: ["CPUExecutionProvider"])


def load_predictor_form(tmp_path, files):
    """The ONNXPredictor's first request for model "m": where its session is loaded."""
    project = write_project(tmp_path / "predictor-form", SOURCE, {f"models/m/{name}": text for name, text in files.items()})
    predictor = Predictor(parse_settings(settings(type="onnx", models={"dir": "models"})), str(project),
                          model_cache_dir=str(tmp_path / "c1"))
    predictor.load()
    predictor.predict([1.0], {"model": "m"}, {})


def load_function_form(tmp_path, files):
    """kind: api's onnx model, loaded at start."""
    project = write_project(tmp_path / "function-form", "", {f"models/m/{name}": text for name, text in files.items()})
    predictor = Predictor(parse_settings(settings(style="function", type="onnx", path=None, models={"path": "models/m"})),
                          str(project), model_cache_dir=str(tmp_path / "c2"))
    predictor.load()


def load_error(load, tmp_path, files):
    with pytest.raises(Exception) as caught:
        load(tmp_path, files)
    return caught.value


@pytest.mark.parametrize("files, message", [
    ({"a.onnx": "", "b.onnx": ""}, r"model: \S+ must be a \.onnx file, or a directory holding exactly one; found \['a\.onnx', 'b\.onnx'\]$"),
    ({"notes.txt": ""}, r"model: \S+ must be a \.onnx file, or a directory holding exactly one; found none$"),
    ({"model.onnx": "not a model"}, r"model: \S+/model\.onnx: ONNX Runtime cannot load it: ValueError: \[ONNXRuntimeError\] : 7 : INVALID_PROTOBUF$"),
])
def test_a_model_onnx_runtime_cannot_load_fails_alike_in_both_forms(tmp_path, monkeypatch, files, message):
    monkeypatch.setitem(sys.modules, "onnxruntime", broken_onnxruntime())
    for load in (load_predictor_form, load_function_form):
        error = load_error(load, tmp_path, files)
        assert isinstance(error, PredictorLoadError), (load.__name__, error)
        assert re.search(message, str(error)), (load.__name__, str(error))


def test_without_onnxruntime_both_forms_fail_with_one_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    errors = [load_error(load, tmp_path, {"model.onnx": ""}) for load in (load_predictor_form, load_function_form)]
    assert all(isinstance(e, PredictorLoadError) for e in errors), errors
    assert str(errors[0]) == str(errors[1])
    assert "type onnx serves its models with the onnxruntime package, which" in str(errors[0])
