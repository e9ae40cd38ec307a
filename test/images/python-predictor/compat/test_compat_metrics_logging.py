"""Compatibility with Cortex v0.30's custom metrics and structured logging (issue 14, items 4 and 5).

4. ``metrics_client``: ``__init__`` asks for it; ``increment``, ``gauge`` and ``histogram`` (Cortex's
   ``MetricsClient``, pkg/cortex/serve/cortex_internal/lib/metrics.py) become Prometheus series on the runtime's
   ``/metrics`` with the API's name, added up over the processes of a replica; misuse is an exception the
   predictor can catch, not a crash.
5. ``from cortex_internal.lib.log import logger``: the ``cortex`` logger, whose ``extra=`` fields appear in the
   log line; importable where the images put the runtime, and under ``cortex local`` (which, like the harness,
   puts images/python-predictor on ``PYTHONPATH``).

The predictors under predictors/metrics-*/ use the interface as Cortex's docs show it.
"""

import re
import shutil
from pathlib import Path

import httpx
from harness import RUNTIME_DIR, WAIT, settings, wait_until

PREDICTORS = Path(__file__).resolve().parent / "predictors"


def project(tmp_path: Path, predictor: str) -> Path:
    destination = tmp_path / predictor
    shutil.copytree(PREDICTORS / predictor, destination)
    return destination


def metric_lines(admin_url: str) -> list:
    response = httpx.get(admin_url + "/metrics", timeout=WAIT)
    assert response.status_code == 200
    return response.text.splitlines()


def test_metrics_client_counter_gauge_and_histogram_are_prometheus_series(run_runtime, tmp_path):
    # GIVEN the docs' predictor, one process
    runtime = run_runtime(project(tmp_path, "metrics-custom"), settings(api_name="iris"))
    url = runtime.wait_ready()

    # WHEN two predictions record their metrics
    for value, latency in ((3, 0.02), (5, 7.5)):
        response = httpx.post(url, json={"value": value, "latency": latency}, timeout=WAIT)
        assert response.status_code == 200, runtime.log
        assert response.json() == {"doubled": value * 2}

    # THEN /metrics (what the proxy appends to its own) has them, typed, with the API's name and the tags
    lines = metric_lines(runtime.admin_url)
    for expected in [
        "# TYPE my_counter counter",
        'my_counter{api_name="iris",model="v1"} 2',
        "# TYPE my_gauge gauge",
        'my_gauge{api_name="iris",model="v1"} 5',
        "# TYPE my_histogram histogram",
        'my_histogram_bucket{api_name="iris",model="v1",le="0.025"} 1',
        'my_histogram_bucket{api_name="iris",model="v1",le="5.0"} 1',
        'my_histogram_bucket{api_name="iris",model="v1",le="10.0"} 2',
        'my_histogram_bucket{api_name="iris",model="v1",le="+Inf"} 2',
        'my_histogram_sum{api_name="iris",model="v1"} 7.52',
        'my_histogram_count{api_name="iris",model="v1"} 2',
        'model_calls{api_name="iris",model_version="v1"} 2',
        'predictor_starts{api_name="iris",model="v1"} 1',
    ]:
        assert expected in lines, "\n".join(lines)


def test_metrics_client_adds_up_the_processes_of_a_replica(run_runtime, tmp_path):
    # GIVEN two processes, each of which counted its start in __init__
    runtime = run_runtime(project(tmp_path, "metrics-custom"), settings(api_name="iris", processes_per_replica=2))
    url = runtime.wait_ready()

    # WHEN six predictions go to whichever process accepts them
    for i in range(6):
        assert httpx.post(url, json={"value": i, "latency": 0.2}, timeout=WAIT).status_code == 200

    # THEN whichever process answers /metrics shows both starts and every prediction (files written within a second)
    wanted = {'predictor_starts{api_name="iris",model="v1"} 2', 'my_counter{api_name="iris",model="v1"} 6',
              'my_histogram_count{api_name="iris",model="v1"} 6'}
    wait_until(lambda: wanted <= set(metric_lines(runtime.admin_url)), "the metrics of both processes on /metrics")


def test_metrics_client_misuse_is_an_error_the_predictor_can_catch(run_runtime, tmp_path):
    runtime = run_runtime(project(tmp_path, "metrics-misuse"), settings())
    url = runtime.wait_ready()

    answers = {}
    for case in ("reserved", "name", "value", "tags", "negative"):
        response = httpx.post(url, json={"case": case}, timeout=WAIT)
        assert response.status_code == 200, runtime.log
        answers[case] = response.json()

    assert all(a["error"] == "MetricError" for a in answers.values()), answers
    assert "'cortex_requests_total' is reserved: names starting with cortex_, istio_" in answers["reserved"]["message"]
    assert "'requests per second' is invalid: use 1 to 200 letters, digits, '_' and ':'" in answers["name"]["message"]
    assert "'queue_size': the value must be a number, got str '12'" in answers["value"]["message"]
    assert "tag 'model' must be a string or a number, got NoneType" in answers["tags"]["message"]
    assert "a counter only goes up" in answers["negative"]["message"]
    # nothing was recorded, and the runtime serves on
    assert not any(line.startswith(("model_calls", "queue_size")) for line in metric_lines(runtime.admin_url))
    assert runtime.proc.poll() is None


def test_cortex_logger_writes_the_extra_fields_in_the_log_line(run_runtime, tmp_path):
    runtime = run_runtime(project(tmp_path, "metrics-logging"), settings(log_level="info"))
    url = runtime.wait_ready()

    response = httpx.post(url, json="this movie is awesome", timeout=WAIT)

    assert response.status_code == 200, runtime.log
    wait_until(lambda: "received payload" in runtime.log, "the predictor's log line")
    line = next(line for line in runtime.log.splitlines() if "received payload" in line)
    assert re.search(r" INFO \[\w+\] cortex: received payload \{\"payload\": \"this movie is awesome\"\}$", line), line
    assert "details" not in runtime.log  # a debug line, below the API's log_level


def test_cortex_logger_follows_the_apis_log_level(run_runtime, tmp_path):
    runtime = run_runtime(project(tmp_path, "metrics-logging"), settings(log_level="debug"))
    url = runtime.wait_ready()

    assert httpx.post(url, json="four", timeout=WAIT).status_code == 200

    wait_until(lambda: "details" in runtime.log, "the predictor's debug line")
    assert re.search(r" DEBUG \[\w+\] cortex: details \{\"length\": 4\}\n", runtime.log), runtime.log


def test_cortex_internal_is_where_every_image_puts_the_runtime():
    for dockerfile in ("Dockerfile", "Dockerfile.gpu", "Dockerfile.neuron"):
        text = (RUNTIME_DIR / dockerfile).read_text()
        assert "cortex-runtime.pth', 'w').write('/opt/cortex/runtime')" in text, dockerfile
        assert "\nCOPY cortex_internal/ /opt/cortex/runtime/cortex_internal/\n" in text, dockerfile
    assert (RUNTIME_DIR / "cortex_internal" / "lib" / "log.py").is_file()
