"""The runtime's two listeners (serve.py, __main__.py): the API's port serves predictions only; /healthz and
/metrics are on the admin port; both on 127.0.0.1 unless told otherwise."""

import json
import os
import re
import subprocess
import sys

import httpx
from harness import RUNTIME_DIR, WAIT, settings, wait_until, write_project

PREDICTOR = """
    class PythonPredictor:
        def predict(self, payload):
            return "setosa"
"""


class TestTwoListeners:
    def test_health_and_metrics_are_on_the_admin_port_only(self, run_runtime):
        # GIVEN a runtime with a tracker, which has served one prediction
        runtime = run_runtime(PREDICTOR, settings(tracker={"key": None, "model_type": "classification"}))
        url = runtime.wait_ready()
        assert httpx.post(url, json={}, timeout=WAIT).text == "setosa"
        # WHEN a client asks the API's port (what the proxy forwards) for them THEN 404
        for path in ("/healthz", "/metrics"):
            assert httpx.get(url + path, timeout=WAIT).status_code == 404, path
        # THEN the admin port has them
        assert runtime.admin_url != url
        assert httpx.get(runtime.admin_url + "/healthz", timeout=WAIT).json() == {"status": "ready"}
        metrics = httpx.get(runtime.admin_url + "/metrics", timeout=WAIT)
        assert 'cortex_prediction_class_total{api_name="test-api",class="setosa"} 1' in metrics.text
        # AND the admin port serves nothing else
        assert httpx.post(runtime.admin_url, json={}, timeout=WAIT).status_code in (404, 405)

    def test_in_process_the_api_app_has_no_health_or_metrics_route(self, serve):
        server = serve(PREDICTOR)
        assert server.client.get("/healthz").status_code == 404
        assert server.client.get("/metrics").status_code == 404
        assert server.admin.get("/healthz").status_code == 200


def start(tmp_path, args, env=None):
    project = write_project(tmp_path / "project", PREDICTOR)
    settings_file = tmp_path / "predictor.json"
    settings_file.write_text(json.dumps(settings()))
    log_path = tmp_path / "runtime.log"
    log = open(log_path, "wb")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    child_env.update({"PYTHONPATH": str(RUNTIME_DIR), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    proc = subprocess.Popen(
        [sys.executable, "-m", "cortex_runtime", "--settings", str(settings_file), "--project-dir", str(project), *args],
        env=child_env, stdout=log, stderr=subprocess.STDOUT,
    )
    return proc, log, log_path


def stop(proc, log):
    if proc.poll() is None:
        proc.kill()
    proc.wait(WAIT)
    log.close()


class TestCommandLine:
    def test_by_default_both_ports_listen_on_127_0_0_1(self, tmp_path):
        # GIVEN no --host and no CORTEX_HOST
        proc, log, log_path = start(tmp_path, ["--port", "0", "--admin-port", "0"])
        try:
            wait_until(lambda: "health and metrics on" in log_path.read_text() or proc.poll() is not None, "the runtime to listen")
            text = log_path.read_text()
            assert re.search(r"on http://127\.0\.0\.1:\d+ \(health and metrics on http://127\.0\.0\.1:\d+\)", text), text
        finally:
            stop(proc, log)

    def test_the_admin_port_from_the_environment(self, tmp_path):
        proc, log, log_path = start(tmp_path, ["--port", "0"], env={"CORTEX_ADMIN_PORT": "0"})
        try:
            wait_until(lambda: "health and metrics on" in log_path.read_text() or proc.poll() is not None, "the runtime to listen")
            admin = re.search(r"health and metrics on (http://127\.0\.0\.1:\d+)", log_path.read_text()).group(1)
            wait_until(lambda: httpx.get(admin + "/healthz", timeout=WAIT).status_code == 200, "ready")
        finally:
            stop(proc, log)

    def test_one_port_for_both_is_refused(self, tmp_path):
        proc, log, log_path = start(tmp_path, ["--port", "18080", "--admin-port", "18080"])
        try:
            assert proc.wait(WAIT) == 2
            assert "the API's port and the admin port (--admin-port, $CORTEX_ADMIN_PORT) are both 18080" in log_path.read_text()
        finally:
            stop(proc, log)

    def test_unusable_timings_are_refused_naming_the_variable(self, tmp_path):
        proc, log, log_path = start(tmp_path, ["--port", "0", "--admin-port", "0"], env={"CORTEX_REQUEST_TIMEOUT": "10m"})
        try:
            assert proc.wait(WAIT) == 2
            assert "--request-timeout ($CORTEX_REQUEST_TIMEOUT) must be a number of seconds >= 0.001, got '10m'" in log_path.read_text()
        finally:
            stop(proc, log)
