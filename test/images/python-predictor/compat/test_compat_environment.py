"""Compatibility with Cortex v0.30: a predictor's environment.

Cortex v0.30 (docs/workloads/realtime/predictors.md, "Project files"; pkg/cortex/serve/init/bootloader.sh)
exported the project's ``.env`` (``VARIABLE=value`` lines, sourced by bash with ``set -a``) before starting the
predictor, over the container's environment, ``predictor.env`` included. The predictor here reads them the way
those docs show: ``os.environ`` in ``__init__`` and ``predict``.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from harness import ROOT, WAIT, settings, wait_until

PREDICTORS = Path(__file__).resolve().parent / "predictors"
CLI = ROOT / "dist" / "bin" / "cortex.js"
NAMES = ["GREETING", "EXPORTED", "QUOTED", "LITERAL", "DERIVED", "SHARED", "FROM_PREDICTOR_ENV", "TMPDIR"]


def copy_project(tmp_path: Path, env_text: str = None) -> Path:
    project = tmp_path / "env-dotenv"
    shutil.copytree(PREDICTORS / "env-dotenv", project)
    if env_text is not None:
        (project / ".env").write_text(env_text)
    return project


def predict(url: str) -> dict:
    response = httpx.post(url + "/", json={"names": NAMES}, timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_projects_dotenv_is_exported_before_init_and_over_the_containers_environment(run_runtime, tmp_path):
    # GIVEN the project with its .env, and a container environment (predictor.env in a pod) that sets SHARED too
    runtime = run_runtime(copy_project(tmp_path), settings(api_name="env-dotenv"), env={"SHARED": "container"})

    # WHEN the runtime starts and serves a request
    body = predict(runtime.wait_ready())

    # THEN __init__ saw the .env, its values as bash reads them, and the .env won over the container's SHARED
    assert body["greeting"] == "hello"
    assert body["env"]["EXPORTED"] == "yes"
    assert body["env"]["QUOTED"] == "two words"
    assert body["env"]["LITERAL"] == "$GREETING stays as written"
    assert body["env"]["DERIVED"] == "hello-world"
    assert body["env"]["SHARED"] == ".env"
    assert "6 variable(s) from " in runtime.log and "(over the environment's SHARED)" in runtime.log


def test_a_malformed_dotenv_stops_the_start_with_exit_2_naming_the_file_and_line(run_runtime, tmp_path):
    # GIVEN a .env whose third line bash would not read as an assignment
    project = copy_project(tmp_path, "GREETING=hello\n# fine\nSECRET = s3cr3t\nCORTEX_HOST=0.0.0.0\n")
    runtime = run_runtime(project, settings(api_name="env-dotenv"))

    # THEN the runtime stops before serving, exit 2, every bad line named with what is allowed
    assert runtime.wait_until_exited(WAIT) == 2
    log = runtime.log
    env_path = os.path.join(str(project), ".env")
    assert f"{env_path}:3: a space before the = of SECRET: write SECRET=VALUE" in log
    assert f"{env_path}:4: CORTEX_HOST: names starting with CORTEX_ are reserved" in log
    assert "allowed in .env: a line is NAME=VALUE or export NAME=VALUE" in log
    assert "s3cr3t" not in log.split("SECRET")[0]  # no value printed ahead of the line's own text
    assert "Traceback" not in log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cortex_local_applies_predictor_env_the_dotenv_over_it_and_a_temporary_directory_of_its_own(tmp_path):
    # GIVEN the project's cortex.yaml (predictor.env: FROM_PREDICTOR_ENV, SHARED) run by `cortex local`
    assert CLI.exists(), f"{CLI} is missing: build the CLI first (npm run build)"
    project = copy_project(tmp_path)
    port = free_port()
    log_path = tmp_path / "cortex-local.log"
    with open(log_path, "wb") as log:
        cli = subprocess.Popen(
            ["node", str(CLI), "local", "env-dotenv", "-f", str(project / "cortex.yaml"), "--port", str(port)],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        def ready() -> bool:
            if cli.poll() is not None:
                raise AssertionError(f"cortex local exited ({cli.returncode}):\n{log_path.read_text()}")
            return "env-dotenv is ready" in log_path.read_text()

        wait_until(ready, "cortex local to be ready", 60.0)

        # WHEN a request goes through the local proxy
        body = predict(f"http://127.0.0.1:{port}")

        # THEN predictor.env is applied, the .env goes over it, and TMPDIR is the API's own directory
        assert body["env"]["FROM_PREDICTOR_ENV"] == "yaml"
        assert body["env"]["SHARED"] == ".env"
        assert body["greeting"] == "hello"
        tmpdir = body["env"]["TMPDIR"]
        assert body["tempdir"] == tmpdir and os.path.basename(tmpdir) == "tmp" and "cortex-local-env-dotenv-" in tmpdir
        assert os.path.isdir(tmpdir)
        assert f"TMPDIR={tmpdir}" in log_path.read_text()
    finally:
        # WHEN Ctrl-C THEN it stops, and the temporary directory is gone
        cli.send_signal(signal.SIGINT)
        try:
            code = cli.wait(30)
        except subprocess.TimeoutExpired:
            cli.kill()
            code = cli.wait(WAIT)
    assert code == 0, log_path.read_text()
    deadline = time.monotonic() + WAIT
    while os.path.exists(tmpdir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(tmpdir)
