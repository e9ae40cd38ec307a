"""Test harness: the real runtime on loopback, with small predictors written to temporary projects.

Two ways to run it:
- ``InProcessServer``: create_app + uvicorn in a thread of the test process, so that a test's
  predictor and the test share threading events (through ``cortex_test_hooks.current``) and the test
  can look inside (the batcher, the model cache) — deterministic, no sleeps;
- ``RuntimeProcess``: ``python -m cortex_runtime`` as a child process, as the image runs it (exit
  codes, logs, several processes, signals).
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[3]
RUNTIME_DIR = ROOT / "images" / "python-predictor"
EXAMPLES_DIR = ROOT / "examples"

from cortex_runtime.config import parse_settings  # noqa: E402  (conftest puts RUNTIME_DIR on sys.path)
from cortex_runtime.predictor import Predictor  # noqa: E402
from cortex_runtime.serve import ListenerDispatch, bind  # noqa: E402
from cortex_runtime.server import create_app  # noqa: E402
from cortex_runtime.tracker import Tracker  # noqa: E402

#: Upper bound for anything a test waits for; reaching it means the behaviour is missing.
WAIT = 10.0

#: A predictor whose predict marks that it started (a file in ``config["dir"]``) and then blocks until the test
#: creates ``release`` there: a request held inside predict for as long as a test needs (hang, drain, watchdog).
WAITS_FOR_RELEASE = """
    import os
    import time

    class PythonPredictor:
        def __init__(self, config):
            self.dir = config["dir"]

        def predict(self, payload):
            open(os.path.join(self.dir, f"started-{os.getpid()}-{time.monotonic_ns()}"), "w").close()
            while not os.path.exists(os.path.join(self.dir, "release")):
                time.sleep(0.01)
            return "released"
"""


def settings(**overrides: Any) -> Dict[str, Any]:
    """A settings file's content, as cortex-cdk renders it (every key present), with overrides."""
    base: Dict[str, Any] = {
        "version": 1,
        "api_name": "test-api",
        "port": 8080,
        "type": "python",
        "path": "predictor.py",
        "config": {},
        "models": None,
        "server_side_batching": None,
        "processes_per_replica": 1,
        "threads_per_process": 1,
        "log_level": "info",
        "python_path": None,
        "signature_key": None,
        "dependencies": {"pip": "requirements.txt", "conda": "conda-packages.txt", "shell": "dependencies.sh"},
        "tracker": None,
        "compute": {"cpu": "200m", "mem": None, "gpu": 0, "inf": 0},
    }
    base.update(overrides)
    return base


def write_project(directory: Path, predictor_source: str, files: Optional[Dict[str, str]] = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "predictor.py").write_text(textwrap.dedent(predictor_source))
    for name, content in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return directory


def wait_until(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class InProcessServer:
    def __init__(self, settings_dict: Dict[str, Any], project_dir: Path) -> None:
        self.settings = parse_settings(settings_dict)
        self.predictor = Predictor(self.settings, str(project_dir), model_cache_dir=str(project_dir) + "-model-cache")
        self.tracker = Tracker(self.settings.tracker, self.settings.api_name) if self.settings.tracker else None
        self.app = create_app(self.predictor, self.settings, tracker=self.tracker)
        self.sock = bind("127.0.0.1", 0)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        # /healthz and /metrics are on the admin listener, as in the runtime (serve.py)
        self.admin_sock = bind("127.0.0.1", 0)
        self.admin_url = "http://127.0.0.1:%d" % self.admin_sock.getsockname()[1]
        dispatch = ListenerDispatch(self.app, self.app.state.admin_app, self.admin_sock.getsockname()[1])
        config = uvicorn.Config(dispatch, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock, self.admin_sock]},
                                       daemon=True)
        self.client = httpx.Client(base_url=self.url, timeout=WAIT)
        self.admin = httpx.Client(base_url=self.admin_url, timeout=WAIT)

    def start(self) -> "InProcessServer":
        self.thread.start()
        wait_until(lambda: self.server.started, "the server to start")
        return self

    def load(self) -> "InProcessServer":
        self.predictor.load()
        return self

    def stop(self) -> None:
        self.client.close()
        self.admin.close()
        self.server.should_exit = True
        self.thread.join(WAIT)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(WAIT)
        self.sock.close()
        self.admin_sock.close()

    def post(self, payload: Any = None, *, params: Optional[Dict[str, str]] = None, **kwargs: Any) -> httpx.Response:
        if payload is not None:
            kwargs["json"] = payload
        return self.client.post("/", params=params, **kwargs)


class RuntimeProcess:
    """``python -m cortex_runtime`` in a child process, on a free loopback port."""

    def __init__(self, settings_dict: Dict[str, Any], project_dir: Path, workdir: Path,
                 env: Optional[Dict[str, str]] = None, args: Optional[List[str]] = None) -> None:
        self.settings_path = workdir / "predictor.json"
        self.settings_path.write_text(json.dumps(settings_dict))
        self.log_path = workdir / "runtime.log"
        child_env = {
            **os.environ,
            "PYTHONPATH": str(RUNTIME_DIR),
            "PYTHONDONTWRITEBYTECODE": "1",
            "CORTEX_MODEL_CACHE_DIR": str(workdir / "model-cache"),
            **(env or {}),
        }
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cortex_runtime", "--settings", str(self.settings_path), "--project-dir",
             str(project_dir), "--host", "127.0.0.1", "--port", "0", "--admin-port", "0", *(args or [])],
            env=child_env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(workdir),
        )
        self.url: Optional[str] = None
        #: Where /healthz and /metrics are (the runtime's admin port).
        self.admin_url: Optional[str] = None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_listening(self) -> str:
        def listening() -> bool:
            log = self.log
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", log)
            admin = re.search(r"health and metrics on (http://127\.0\.0\.1:\d+)", log)
            if match:
                self.url = match.group(1)
            if admin:
                self.admin_url = admin.group(1)
            if self.proc.poll() is not None and not match:
                raise AssertionError(f"the runtime exited ({self.proc.returncode}) before listening:\n{self.log}")
            return match is not None

        wait_until(listening, "the runtime to listen")
        assert self.url is not None
        return self.url

    def wait_ready(self, timeout: float = 30.0) -> str:
        url = self.wait_listening()
        assert self.admin_url is not None, self.log

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the runtime exited ({self.proc.returncode}):\n{self.log}")
            try:
                return httpx.get(self.admin_url + "/healthz", timeout=WAIT).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "the runtime to be ready", timeout)
        return url

    def wait_until_exited(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self._log.close()
        return self.proc.returncode
