"""functions.py: kind: api's function style — init/predict modules, and request handlers around an ONNX model."""

import json
import logging
import sys
import threading
import types

import httpx
import pytest
from fake_s3 import fake_boto3
from harness import WAIT, settings, wait_until, write_project

from cortex_runtime.config import parse_settings
from cortex_runtime.errors import PredictorInitError, PredictorLoadError
from cortex_runtime.functions import bind, fetch_model
from cortex_runtime.predictor import Predictor


def function_settings(**overrides):
    return settings(style="function", **overrides)


def load(tmp_path, source, files=None, **overrides):
    project = write_project(tmp_path / "project", source, files)
    predictor = Predictor(parse_settings(function_settings(**overrides)), str(project), model_cache_dir=str(tmp_path / "cache"))
    predictor.load()
    return predictor


INFERENCE = """
    import cortex_test_hooks

    def init(metadata):
        cortex_test_hooks.current.init_calls.append(dict(metadata))
        metadata["loaded"] = True

    def predict(sample, metadata):
        return {"label": metadata["labels"][sample["i"]], "loaded": metadata["loaded"]}
"""


class TestPythonModule:
    def test_init_runs_once_before_ready_and_predict_gets_the_sample_and_metadata(self, serve, hooks):
        # GIVEN a module with init(metadata) and predict(sample, metadata)
        hooks.init_calls = []
        server = serve(INFERENCE, function_settings(metadata={"labels": ["setosa", "virginica"]}), load=False)
        assert server.admin.get("/healthz").status_code == 503

        # WHEN it loads and serves two requests
        server.load()
        first = server.post({"i": 1})
        second = server.post({"i": 0})

        # THEN init ran once, with the metadata; what it stored there, predict sees
        assert server.admin.get("/healthz").status_code == 200
        assert hooks.init_calls == [{"labels": ["setosa", "virginica"]}]
        assert (first.status_code, first.json()) == (200, {"label": "virginica", "loaded": True})
        assert second.json() == {"label": "setosa", "loaded": True}

    def test_the_metadata_is_a_copy_of_the_settings(self, tmp_path, hooks):
        hooks.init_calls = []
        predictor = load(tmp_path, INFERENCE, metadata={"labels": ["a"]})
        assert predictor.settings.metadata == {"labels": ["a"]}
        assert predictor.predict({"i": 0}, {}, {}) == {"label": "a", "loaded": True}

    def test_init_is_optional_and_arguments_go_by_position_under_other_names(self, tmp_path):
        predictor = load(tmp_path, """
            def predict(payload, meta):
                return [payload, meta]
        """, metadata={"k": 1})
        assert predictor.predict("s", {}, {}) == ["s", {"k": 1}]

    def test_predict_may_take_the_sample_alone(self, tmp_path):
        predictor = load(tmp_path, "def predict(sample):\n    return sample * 2\n")
        assert predictor.predict(21, {}, {}) == 42

    def test_init_with_model_path_gets_the_local_copy_of_the_model(self, tmp_path):
        predictor = load(tmp_path, """
            def init(model_path, metadata):
                global WEIGHTS
                with open(model_path) as f:
                    WEIGHTS = f.read()

            def predict(sample, metadata):
                return WEIGHTS
        """, files={"models/weights.txt": "w1"}, models={"path": "models/weights.txt"})
        assert predictor.predict({}, {}, {}) == "w1"

    def test_init_with_model_path_and_no_model_gets_none(self, tmp_path):
        predictor = load(tmp_path, """
            def init(model_path, metadata):
                global SEEN
                SEEN = model_path

            def predict(sample):
                return SEEN
        """)
        assert predictor.predict({}, {}, {}) is None

    def test_a_module_without_predict_is_refused_naming_its_functions(self, tmp_path):
        with pytest.raises(PredictorLoadError, match=r"predictor\.py: defines no predict\(sample, metadata\) function .*; functions found: init, predicts$"):
            load(tmp_path, "def init(metadata):\n    pass\n\ndef predicts(sample):\n    pass\n")

    def test_a_predictor_class_is_pointed_at_kind_realtimeapi(self, tmp_path):
        with pytest.raises(PredictorLoadError, match="it defines a PythonPredictor class: that is kind RealtimeAPI's predictor form"):
            load(tmp_path, "class PythonPredictor:\n    def predict(self, payload):\n        pass\n")

    def test_a_predict_cortex_cannot_call_is_refused_saying_how_cortex_calls_it(self, tmp_path):
        with pytest.raises(PredictorLoadError, match=r"predict\(a, b, c\) cannot be called the way Cortex calls it: predict\(sample\) or predict\(sample, metadata\)"):
            load(tmp_path, "def predict(a, b, c):\n    pass\n")

    def test_init_raising_stops_the_start_with_its_error(self, tmp_path):
        with pytest.raises(PredictorInitError, match=r"predictor\.py: init\(\) raised KeyError: 'bucket'"):
            load(tmp_path, "def init(metadata):\n    metadata['bucket']\n\ndef predict(sample):\n    pass\n")

    def test_a_missing_local_model_is_named(self, tmp_path):
        with pytest.raises(PredictorLoadError, match="model: model.pkl not found in the project"):
            load(tmp_path, "def predict(sample):\n    pass\n", models={"path": "model.pkl"})


class TestServing:
    def test_one_request_at_a_time_per_replica(self, serve, hooks):
        # GIVEN the default: one thread (kind: api's max_concurrency 1)
        hooks.entered = threading.Semaphore(0)
        hooks.release = threading.Event()
        hooks.active = 0
        hooks.most = 0
        server = serve("""
            import cortex_test_hooks

            def predict(sample, metadata):
                h = cortex_test_hooks.current
                h.active += 1
                h.most = max(h.most, h.active)
                h.entered.release()
                h.release.wait(10)
                h.active -= 1
                return sample
        """, function_settings())
        # WHEN two requests arrive together
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(httpx.post(server.url, json=i, timeout=WAIT).json()))
                   for i in range(2)]
        for t in threads:
            t.start()
        assert hooks.entered.acquire(timeout=WAIT)
        # THEN the second waits in line for the one thread while the first is inside
        wait_until(lambda: server.app.state.threads._jobs.qsize() == 1, "the second request to queue")
        assert hooks.active == 1
        hooks.release.set()
        for t in threads:
            t.join(WAIT)
        assert sorted(results) == [0, 1] and hooks.most == 1

    def test_debug_logs_the_raw_sample_and_the_returned_value(self, serve, caplog):
        server = serve("def predict(sample, metadata):\n    return {'label': 'setosa'}\n", function_settings(allow_debug=True))
        with caplog.at_level(logging.INFO, logger="cortex_runtime.debug"):
            server.post({"sepal_length": 5.1}, params={"debug": "true"})
            server.post({"quiet": 1})
        lines = [r.getMessage() for r in caplog.records if r.name == "cortex_runtime.debug"]
        assert lines == [
            'test-api: debug: payload: {"sepal_length": 5.1}',
            'test-api: debug: prediction: {"label": "setosa"}',
        ]

    def test_the_tracker_counts_classes(self, serve):
        server = serve("def predict(sample, metadata):\n    return {'label': sample}\n",
                       function_settings(tracker={"key": "label", "model_type": "classification"}))
        for label in ["setosa", "setosa", "virginica"]:
            server.post(label)
        lines = server.admin.get("/metrics").text.splitlines()
        assert 'cortex_prediction_class_total{api_name="test-api",class="setosa"} 2' in lines
        assert 'cortex_prediction_class_total{api_name="test-api",class="virginica"} 1' in lines

    def test_the_tracker_keeps_min_max_avg_of_a_regression(self, serve):
        server = serve("def predict(sample, metadata):\n    return sample * 2\n",
                       function_settings(tracker={"key": None, "model_type": "regression"}))
        for value in [1, 2, 6]:
            server.post(value)
        lines = server.admin.get("/metrics").text.splitlines()
        for expected in ['cortex_prediction_value_min{api_name="test-api"} 2', 'cortex_prediction_value_max{api_name="test-api"} 12',
                         'cortex_prediction_value_avg{api_name="test-api"} 6.0']:
            assert expected in lines

    def test_an_async_predict_runs_on_the_event_loop(self, serve):
        server = serve("async def predict(sample, metadata):\n    return {'async': sample}\n", function_settings())
        assert server.predictor.predict_is_async
        assert server.post(7).json() == {"async": 7}

    def test_errors_map_as_for_any_predictor(self, serve):
        server = serve("""
            from cortex_runtime import UserError

            def predict(sample, metadata):
                if sample == "bad":
                    raise UserError("sample must be a mapping")
                return 1 / 0
        """, function_settings())
        bad = server.post("bad")
        assert (bad.status_code, bad.text) == (400, "sample must be a mapping")
        failed = server.post("x")
        assert (failed.status_code, failed.text) == (500, "internal server error")
        assert bad.headers["x-request-id"] and failed.headers["x-request-id"]


class FakeNodeArg:
    def __init__(self, name, type_="tensor(float)"):
        self.name = name
        self.type = type_


class FakeSession:
    """Adds its inputs up; remembers what it was fed."""

    def __init__(self, path, providers=None):
        self.path = path
        self.fed = []
        self.inputs = [FakeNodeArg(n) for n in (open(path).read().split(",") if path.endswith(".onnx") else ["x"])]

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return [FakeNodeArg("sum")]

    def run(self, output_names, feed):
        self.fed.append(feed)
        return [sum(float(v.sum()) for v in feed.values())]


def fake_onnxruntime():
    return types.SimpleNamespace(InferenceSession=FakeSession, get_available_providers=lambda: ["CPUExecutionProvider"])


HANDLER = """
    def pre_inference(sample, metadata):
        return [sample[f] for f in metadata["features"]]

    def post_inference(prediction, metadata):
        return {"label": metadata["labels"][int(prediction[0]) % 2]}
"""


class TestOnnxModel:
    def onnx(self, tmp_path, monkeypatch, source=HANDLER, inputs="x", **overrides):
        monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
        overrides.setdefault("metadata", {"features": ["a", "b"], "labels": ["even", "odd"]})
        overrides.setdefault("path", "predictor.py")
        return load(tmp_path, source, files={"model.onnx": inputs}, type="onnx", models={"path": "model.onnx"}, **overrides)

    def test_pre_inference_then_the_model_then_post_inference(self, tmp_path, monkeypatch):
        predictor = self.onnx(tmp_path, monkeypatch)
        assert predictor.predict({"a": 1, "b": 2}, {}, {}) == {"label": "odd"}
        fed = predictor.instance.session.fed[0]
        assert list(fed) == ["x"] and fed["x"].dtype.name == "float32" and fed["x"].tolist() == [1.0, 2.0]

    def test_the_signature_is_the_third_argument_when_asked_for(self, tmp_path, monkeypatch):
        predictor = self.onnx(tmp_path, monkeypatch, source="""
            def pre_inference(sample, signature, metadata):
                return {signature[0].name: sample}

            def post_inference(prediction, signature, metadata):
                return {signature[0].name: prediction[0]}
        """)
        assert predictor.predict([1, 2, 3], {}, {}) == {"sum": 6.0}

    def test_without_request_handler_the_model_answers_alone(self, tmp_path, monkeypatch):
        predictor = self.onnx(tmp_path, monkeypatch, path=None)
        assert predictor.predict([0.5, 0.25], {}, {}) == [0.75]

    def test_a_model_with_several_inputs_needs_a_mapping(self, tmp_path, monkeypatch, serve):
        monkeypatch.setitem(sys.modules, "onnxruntime", fake_onnxruntime())
        server = serve("", function_settings(type="onnx", path=None, models={"path": "model.onnx"}),
                       files={"model.onnx": "x,y"})
        assert server.post({"x": [1], "y": [2]}).json() == [3.0]
        assert server.post([1, 2]).text == (
            "the model has several inputs (x, y): the sample (or pre_inference's result) must be a mapping of input name to value"
        )
        assert server.post({"z": 1}).text == "the model has no input 'z'; its inputs are: x, y"
        assert server.post({"x": "abc", "y": 1}).status_code == 400

    def test_debug_logs_each_step(self, tmp_path, monkeypatch, caplog):
        predictor = self.onnx(tmp_path, monkeypatch, allow_debug=True)
        with caplog.at_level(logging.INFO, logger="cortex_runtime.debug"):
            predictor.predict({"a": 1, "b": 2}, {"debug": "true"}, {})
        lines = [r.getMessage() for r in caplog.records if r.name == "cortex_runtime.debug"]
        assert lines == ["test-api: debug: after pre_inference: [1, 2]", "test-api: debug: after inference: [3.0]"]

    def test_debug_logs_nothing_when_the_api_does_not_allow_it(self, tmp_path, monkeypatch, caplog):
        predictor = self.onnx(tmp_path, monkeypatch)
        with caplog.at_level(logging.DEBUG):
            assert predictor.predict({"a": 1, "b": 2}, {"debug": "true"}, {}) == {"label": "odd"}
        assert not [r for r in caplog.records if r.name == "cortex_runtime.debug"]

    def test_without_onnxruntime_the_start_fails_naming_what_is_missing(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
        with pytest.raises(PredictorLoadError, match="type onnx serves its models with the onnxruntime package, which .* cannot import"):
            load(tmp_path, HANDLER, files={"model.onnx": "x"}, type="onnx", models={"path": "model.onnx"})

    def test_without_onnxruntime_the_runtime_process_exits_saying_so(self, run_runtime):
        # GIVEN this machine's Python, which has no onnxruntime (Debian ships none)
        project_settings = function_settings(type="onnx", path="predictor.py", models={"path": "model.onnx"})
        runtime = run_runtime(HANDLER, project_settings, files={"model.onnx": "x"})
        # THEN the start fails with exit code 1, the log naming the package
        assert runtime.wait_until_exited() == 1
        assert "the onnxruntime package, which" in runtime.log and "cannot import" in runtime.log

    def test_tensorflow_is_refused_naming_what_is_not_built(self, tmp_path):
        with pytest.raises(PredictorLoadError, match="tensorflow \\(kind: api\\) serves its model with TensorFlow Serving, which cortex-cdk does not build yet"):
            load(tmp_path, HANDLER, type="tensorflow", models={"path": "s3://bucket/model"})


class FakeS3:
    """What S3Storage calls of boto3's client, over a dict of key → bytes."""

    def __init__(self, objects):
        self.objects = objects

    def get_paginator(self, name):
        return self

    def paginate(self, Bucket, Prefix, Delimiter=None):
        keys = [k for k in self.objects if k.startswith(Prefix)]
        yield {"Contents": [{"Key": k} for k in keys]}

    def download_file(self, bucket, key, target):
        if key not in self.objects:
            raise KeyError(f"no such key: {key}")
        with open(target, "wb") as f:
            f.write(self.objects[key])


class TestModelFetch:
    def test_an_s3_file_is_downloaded(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", fake_boto3(FakeS3({"iris/sklearn.onnx": b"m"})))
        path = fetch_model("s3://bucket/iris/sklearn.onnx", str(tmp_path), str(tmp_path / "cache"))
        assert path.endswith("sklearn.onnx") and open(path, "rb").read() == b"m"

    def test_an_s3_prefix_is_downloaded_as_a_directory(self, tmp_path, monkeypatch):
        s3 = FakeS3({"tf/1/saved_model.pb": b"pb", "tf/1/variables/v": b"v"})
        monkeypatch.setitem(sys.modules, "boto3", fake_boto3(s3))
        path = fetch_model("s3://bucket/tf", str(tmp_path), str(tmp_path / "cache"))
        assert open(f"{path}/1/variables/v", "rb").read() == b"v"

    def test_without_boto3_the_model_and_the_package_are_named(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", None)
        with pytest.raises(PredictorLoadError, match="model: cannot fetch s3://bucket/m.pkl: RuntimeError: models on s3:// need boto3"):
            fetch_model("s3://bucket/m.pkl", str(tmp_path), str(tmp_path / "cache"))

    def test_a_missing_s3_object_is_named(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", fake_boto3(FakeS3({})))
        with pytest.raises(PredictorLoadError, match="model: cannot fetch s3://bucket/m.pkl: KeyError"):
            fetch_model("s3://bucket/m.pkl", str(tmp_path), str(tmp_path / "cache"))


class TestBind:
    @pytest.mark.parametrize("source, expected", [
        ("def f(sample, metadata): return (sample, metadata)", ("s", "m")),
        ("def f(metadata, sample): return (sample, metadata)", ("s", "m")),
        ("def f(x): return (x, None)", ("s", None)),
        ("def f(x, y, z=3): return (x, y)", ("s", "m")),
        ("def f(*args): return args", ("s", "m")),
    ])
    def test_by_name_else_by_position(self, source, expected):
        namespace = {}
        exec(source, namespace)
        call = bind(namespace["f"], "predict", {1: ("sample",), 2: ("sample", "metadata")}, "m.py")
        assert call({"sample": "s", "metadata": "m"}) == expected


def test_a_function_style_module_served_by_python_m_cortex_runtime(run_runtime):
    # GIVEN kind: api's settings, as the chart renders them
    runtime = run_runtime(INFERENCE.replace("import cortex_test_hooks", "").replace(
        "cortex_test_hooks.current.init_calls.append(dict(metadata))", "pass"),
        function_settings(metadata={"labels": ["setosa", "virginica"]}, tracker={"key": "label", "model_type": "classification"}))
    # WHEN it is ready and asked
    url = runtime.wait_ready()
    response = httpx.post(url, json={"i": 1}, timeout=WAIT)
    # THEN it answers through init and predict
    assert (response.status_code, response.json()) == (200, {"label": "virginica", "loaded": True})
    assert "serving a python (kind: api, function-style) predictor (predictor.py)" in runtime.log
    wait_until(lambda: 'class="virginica"} 1' in httpx.get(runtime.admin_url + "/metrics", timeout=WAIT).text, "the tracker")
    assert runtime.stop() == 0
    assert json.loads(runtime.settings_path.read_text())["style"] == "function"
