"""The Python examples, end to end: each served by ``python -m cortex_runtime`` with the settings the
chart renders for its cortex.yaml (through dist/, which ``npm test`` builds first), answering its
sample.json."""

import json
import shutil
import subprocess
import threading

import httpx
import pytest
from harness import EXAMPLES_DIR, ROOT, WAIT, settings

from cortex_runtime.config import parse_settings

RENDER_SETTINGS_JS = (
    "const {loadConfigFile}=require('./dist/lib/config');"
    "const pc=require('./dist/constructs/predictor-config');"
    "const out={};for(const f of process.argv.slice(1)){for(const a of loadConfigFile(f).apis){"
    "if(pc.isPredictorForm(a))out[a.name]=pc.predictorSettings(a)}}"
    "process.stdout.write(JSON.stringify(out))"
)
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*/cortex.yaml"))


@pytest.fixture(scope="module")
def rendered():
    """API name → its settings, as constructs/predictor-config.ts renders them."""
    # npm test builds dist/ before pytest runs; a missing build is a failure, never a silent skip.
    assert shutil.which("node") is not None, "node is needed to render the examples' settings"
    assert (ROOT / "dist" / "constructs" / "predictor-config.js").exists(), "run `npm run build` first (npm test does)"
    out = subprocess.run(["node", "-e", RENDER_SETTINGS_JS, *map(str, EXAMPLE_FILES)], cwd=str(ROOT),
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def copy_example(name, tmp_path):
    """A copy, so that what the example writes at start (trained models) stays out of the repository."""
    return shutil.copytree(EXAMPLES_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))


def sample(name):
    return json.loads((EXAMPLES_DIR / name / "sample.json").read_text())


def test_every_predictor_example_renders_settings_this_runtime_accepts(rendered):
    assert {"iris-classifier", "batch-rnn", "iris-multi-model", "sentiment-inf", "iris-legacy", "iris-legacy-model"} <= set(rendered)
    for name, raw in rendered.items():
        assert parse_settings(raw, name).api_name == name


def test_iris_classifier_returns_a_class_name_for_its_sample(rendered, run_runtime, tmp_path):
    runtime = run_runtime(copy_example("iris-classifier", tmp_path), rendered["iris-classifier"])
    url = runtime.wait_ready()
    response = httpx.post(url, json=sample("iris-classifier"), timeout=WAIT)
    assert (response.status_code, response.text) == (200, "setosa")
    response = httpx.post(url, json={"sepal_length": 1}, timeout=WAIT)
    assert response.status_code == 400
    assert response.text == "missing features: sepal_width, petal_length, petal_width"


def test_iris_classifier_in_process(serve, tmp_path):
    """The same without node: the predictor and its sample, through create_app."""
    project = copy_example("iris-classifier", tmp_path)
    source = (project / "predictor.py").read_text()
    server = serve(source, settings(config={"model": "model.joblib"}), files={"train.py": (project / "train.py").read_text()})
    assert server.post(sample("iris-classifier")).text == "setosa"


def test_batching_gives_each_concurrent_caller_its_own_prediction(rendered, run_runtime, tmp_path):
    runtime = run_runtime(copy_example("batching", tmp_path), rendered["batch-rnn"])
    url = runtime.wait_ready()
    responses = [None] * 8
    payloads = [{"features": [((i + j) % 7 - 3) / 3 for j in range(16)]} for i in range(8)]

    def post(i):
        responses[i] = httpx.post(url, json=payloads[i], timeout=WAIT)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3 * WAIT)
    singles = [httpx.post(url, json=p, timeout=WAIT).json() for p in payloads]
    for response, single in zip(responses, singles):
        assert response.status_code == 200
        body = response.json()
        # the same prediction as when the payload is sent alone: each caller got its own element
        assert (body["class"], body["probability"]) == (single["class"], single["probability"])
        assert 1 <= body["batch_size"] <= 8
    assert httpx.post(url, json=sample("batching"), timeout=WAIT).status_code == 200
    assert httpx.post(url, json={"features": [1]}, timeout=WAIT).status_code == 400


def test_multi_model_serves_each_model_by_name_and_version(rendered, run_runtime, tmp_path):
    runtime = run_runtime(copy_example("multi-model", tmp_path), rendered["iris-multi-model"])
    url = runtime.wait_ready()
    for model in ["logreg", "tree", "knn"]:
        response = httpx.post(url, params={"model": model}, json=sample("multi-model"), timeout=WAIT)
        assert response.json() == {"model": model, "class": "setosa"}
    assert httpx.post(url, params={"model": "logreg", "version": "1"}, json=sample("multi-model"), timeout=WAIT).status_code == 200
    missing = httpx.post(url, params={"model": "forest"}, json=sample("multi-model"), timeout=WAIT)
    assert (missing.status_code, missing.text) == (404, "no model named 'forest'; the models are: knn, logreg, tree")
    assert httpx.get(url, timeout=WAIT).json()["models"] == {"knn": ["1"], "logreg": ["1", "2"], "tree": ["1"]}


@pytest.mark.parametrize("api", ["iris-legacy", "iris-legacy-model"])
def test_legacy_iris_both_forms_classify_the_sample_and_track_the_class(api, rendered, run_runtime, tmp_path):
    # GIVEN kind: api's two forms, rendered as the chart renders them (style function, metadata, model)
    assert rendered[api]["style"] == "function"
    runtime = run_runtime(copy_example("legacy-iris", tmp_path), rendered[api])
    url = runtime.wait_ready()
    # WHEN the sample is sent
    response = httpx.post(url, json=sample("legacy-iris"), timeout=WAIT)
    # THEN init ran, predict answered, and the tracker counted the class
    assert (response.status_code, response.json()) == (200, {"label": "setosa"})
    assert f'cortex_prediction_class_total{{api_name="{api}",class="setosa"}} 1' in httpx.get(runtime.admin_url + "/metrics", timeout=WAIT).text
