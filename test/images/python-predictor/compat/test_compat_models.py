"""Compatibility with Cortex v0.30's model interface (issue 14, items 1 and 7).

1. The model version "latest" (Cortex's default and documented selector: the highest version number), for
   ``python_client.get_model`` and ``onnx_client.predict``.
7. Models on S3 without AWS credentials: Cortex sent unsigned (anonymous) requests, which public buckets answer;
   the log says so once per bucket.

The predictors under predictors/models-*/ use the interface as Cortex's docs and examples do (its
model-caching and live-reloading mpg-estimator, on their published sample request); S3 is a fake endpoint on
loopback (fake_s3.py) that refuses signed requests, with no credential source in the environment.
"""

import json
import shutil
import sys
import types
from pathlib import Path

import httpx
import pytest
from fake_s3 import FakeS3Server, no_aws_credentials
from harness import settings

PREDICTORS = Path(__file__).resolve().parent / "predictors"

#: Cortex's published sample request for both mpg-estimator examples (test/apis/*/python/mpg-estimator/sample.json).
SAMPLE = {"cylinders": 4, "displacement": 135, "horsepower": 84, "weight": 2490, "acceleration": 15.7}
FEATURES = ["cylinders", "displacement", "horsepower", "weight", "acceleration"]

#: Where Cortex's examples keep the model (a public bucket; 4 versions): served here by the fake.
BUCKET = "cortex-examples"
MODEL_PREFIX = "sklearn/mpg-estimator/linreg"


def linreg(version: int) -> dict:
    return {"coef": [-0.5, -0.01, -0.05, -0.004, 0.2], "intercept": 40.0 + version}


def mpg(version: int) -> float:
    model = linreg(version)
    return model["intercept"] + sum(c * SAMPLE[f] for c, f in zip(model["coef"], FEATURES))


def mpg_bucket() -> dict:
    """Four versions, listed out of numeric order (10 sorts before 2 as text): the highest number is 10."""
    return {
        f"{MODEL_PREFIX}/{version}/{name}": content
        for version in (1, 2, 3, 10)
        for name, content in (("linreg.json", json.dumps(linreg(version)).encode()), ("MLmodel", b"flavors: {}\n"))
    }


def project(tmp_path: Path, predictor: str) -> Path:
    destination = tmp_path / predictor
    shutil.copytree(PREDICTORS / predictor, destination)
    return destination


@pytest.fixture
def public_s3(tmp_path, monkeypatch):
    """A public bucket (it refuses signed requests, so a signed one fails loudly) and no AWS credentials at all."""
    with FakeS3Server({BUCKET: mpg_bucket()}, refuse_signed=True) as s3:
        no_aws_credentials(monkeypatch, tmp_path, s3.url)
        yield s3


class TestCortexMpgEstimatorExamples:
    """Cortex's model-caching and live-reloading examples, with predictors of ours that call get_model the same way."""

    def test_model_caching_mpg_estimator_answers_latest_and_each_version(self, tmp_path, run_runtime, public_s3):
        # GIVEN the example's cortex.yaml: one named model on S3, cache_size 1, disk_cache_size 2
        models = {"paths": [{"name": "mpg-estimator", "path": f"s3://{BUCKET}/{MODEL_PREFIX}/"}],
                  "cache_size": 1, "disk_cache_size": 2}
        runtime = run_runtime(project(tmp_path, "models-mpg-caching"), settings(models=models))
        url = runtime.wait_ready()

        with httpx.Client(base_url=url, timeout=10) as client:
            # WHEN the sample request names no version THEN "latest": the highest version number (10, not 3)
            response = client.post("/", json=SAMPLE)
            assert response.status_code == 200, response.text
            assert response.json() == {"prediction": pytest.approx(mpg(10)),
                                       "model": {"name": "mpg-estimator", "version": "latest"}}
            # WHEN it names versions THEN each answers with its own model (the README's requests)
            for version in (1, 2, 3):
                response = client.post("/", params={"version": str(version)}, json=SAMPLE)
                assert response.status_code == 200, response.text
                assert response.json() == {"prediction": pytest.approx(mpg(version)),
                                           "model": {"name": "mpg-estimator", "version": str(version)}}
        # THEN every request to S3 was unsigned, and the log said so once, naming the bucket
        assert public_s3.downloads() and public_s3.signed_requests() == []
        assert runtime.log.count(f"no AWS credentials found: reading s3://{BUCKET} anonymously") == 1, runtime.log

    def test_live_reloading_mpg_estimator_defaults_to_latest(self, tmp_path, run_runtime, public_s3):
        # GIVEN the example's cortex.yaml: multi_model_reloading.path on S3, get_model(model_version=...)
        runtime = run_runtime(project(tmp_path, "models-mpg-live"),
                              settings(models={"path": f"s3://{BUCKET}/{MODEL_PREFIX}/"}))
        url = runtime.wait_ready()

        # WHEN the published sample request is sent as is THEN version "latest" answers: the highest (10)
        response = httpx.post(url + "/", json=SAMPLE, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json() == {"prediction": pytest.approx(mpg(10)), "model": {"version": "latest"}}
        assert public_s3.downloads() == [f"{BUCKET}/{MODEL_PREFIX}/10/MLmodel", f"{BUCKET}/{MODEL_PREFIX}/10/linreg.json"]
        assert public_s3.signed_requests() == []


VERSIONED_FILES = {
    "models/iris/1/weights.txt": "iris 1",
    "models/iris/2/weights.txt": "iris 2",
    "models/iris/10/weights.txt": "iris 10",
    "models/unversioned/weights.txt": "unversioned",
}


class TestLatest:
    """models.md: model_version "Can be omitted or set to "latest" to select the highest version"."""

    @pytest.fixture
    def server(self, serve, tmp_path):
        source = (PREDICTORS / "models-versions" / "predictor.py").read_text()
        return serve(source, settings(models={"dir": "models"}), files=VERSIONED_FILES)

    def test_get_model_with_latest_selects_the_highest_version_number(self, server):
        response = server.post({}, params={"model": "iris", "version": "latest"})
        assert response.status_code == 200, response.text
        assert response.json() == {"weights": "iris 10"}
        # the same as no version at all; a number still selects its version
        assert server.post({}, params={"model": "iris"}).json() == {"weights": "iris 10"}
        assert server.post({}, params={"model": "iris", "version": "2"}).json() == {"weights": "iris 2"}

    def test_get_model_with_latest_on_a_model_without_versions(self, server):
        assert server.post({}, params={"model": "unversioned", "version": "latest"}).json() == {"weights": "unversioned"}

    def test_a_single_model_path_takes_any_model_name(self, serve):
        # models.md's get_model(query_params["model"]) on an API with one model (models.path): Cortex ignored the name
        source = (PREDICTORS / "models-versions" / "predictor.py").read_text()
        single = serve(source, settings(models={"path": "models/iris"}), files=VERSIONED_FILES, project_name="single")
        response = single.post({}, params={"model": "mpg-estimator"})
        assert response.status_code == 200, response.text
        assert response.json() == {"weights": "iris 10"}

    def test_a_version_neither_a_number_nor_latest_is_refused_naming_both(self, server):
        response = server.post({}, params={"model": "iris", "version": "newest"})
        assert response.status_code == 400
        assert "model version must be a version number" in response.text and "'latest'" in response.text
        assert "'newest'" in response.text


class TestOnnxLatest:
    """onnx_client.predict(model_input, model_name, model_version="latest"), onnxruntime replaced by a stand-in."""

    @pytest.fixture
    def server(self, serve, monkeypatch):
        class Session:
            def __init__(self, path, providers=None):
                with open(path) as f:
                    self.content = f.read()

            def get_inputs(self):
                return [types.SimpleNamespace(name="x")]

            def run(self, outputs, feed):
                return [self.content, feed["x"]]

        stand_in = types.SimpleNamespace(InferenceSession=Session, get_available_providers=lambda: ["CPUExecutionProvider"])
        monkeypatch.setitem(sys.modules, "onnxruntime", stand_in)
        source = (PREDICTORS / "models-onnx" / "predictor.py").read_text()
        files = {"models/iris/1/model.onnx": "iris 1", "models/iris/2/model.onnx": "iris 2",
                 "models/iris/10/model.onnx": "iris 10"}
        return serve(source, settings(type="onnx", models={"dir": "models"}), files=files)

    def test_predict_with_latest_runs_the_highest_version(self, server):
        response = server.post([1.5], params={"model": "iris", "version": "latest"})
        assert response.status_code == 200, response.text
        assert response.json() == ["iris 10", [1.5]]
        # the same as no version at all; a number still selects its version
        assert server.post([1.5], params={"model": "iris"}).json() == ["iris 10", [1.5]]
        assert server.post([1.5], params={"model": "iris", "version": "1"}).json() == ["iris 1", [1.5]]


class TestAnonymousS3:
    """Cortex (storage/s3.py): no credentials detected → an unsigned client; public buckets answer it."""

    def test_models_from_a_public_bucket_load_without_credentials(self, tmp_path, run_runtime, public_s3):
        # GIVEN a single model path on S3 and get_model() with no version: nothing but the credentials is asked of
        # the runtime here (the version is "latest" by default, and any earlier default would do too)
        source = (PREDICTORS / "models-mpg-live" / "predictor.py").read_text().replace(
            'query_params.get("version", "latest")', 'query_params.get("version")')
        directory = tmp_path / "no-version"
        directory.mkdir()
        (directory / "predictor.py").write_text(source)
        runtime = run_runtime(directory, settings(models={"path": f"s3://{BUCKET}/{MODEL_PREFIX}"}))
        url = runtime.wait_ready()

        response = httpx.post(url + "/", json=SAMPLE, timeout=10)
        # THEN the model came from the public bucket, with no request signed
        assert response.status_code == 200, response.text + runtime.log
        assert response.json()["prediction"] == pytest.approx(mpg(10))
        assert public_s3.signed_requests() == [] and len(public_s3.downloads()) == 2
        assert f"no AWS credentials found: reading s3://{BUCKET} anonymously" in runtime.log
