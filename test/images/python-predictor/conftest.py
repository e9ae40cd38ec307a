import sys
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep __pycache__ out of images/python-predictor (it is a Docker build context)
sys.path.insert(0, str(HERE.parents[2] / "images" / "python-predictor"))
sys.path.insert(0, str(HERE))

from harness import InProcessServer, RuntimeProcess, write_project  # noqa: E402

# Predictors written by the tests reach the test's events and records through this module.
hooks_module = types.ModuleType("cortex_test_hooks")
hooks_module.current = None
sys.modules["cortex_test_hooks"] = hooks_module


@pytest.fixture
def hooks():
    """A namespace the test and its predictor share (``import cortex_test_hooks; cortex_test_hooks.current``)."""
    namespace = types.SimpleNamespace()
    hooks_module.current = namespace
    yield namespace
    hooks_module.current = None


@pytest.fixture
def serve(tmp_path):
    """serve(predictor_source, settings=None, files=None, load=True) → a started InProcessServer."""
    servers = []

    def start(source, settings_dict=None, files=None, load=True, project_name="project"):
        from harness import settings as make_settings

        project = write_project(tmp_path / project_name, source, files)
        server = InProcessServer(settings_dict or make_settings(), project).start()
        servers.append(server)
        if load:
            server.load()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def run_runtime(tmp_path):
    """run_runtime(predictor_source | project Path, settings, files=None, env=None, args=None) → a RuntimeProcess."""
    processes = []

    def start(source, settings_dict, files=None, env=None, args=None):
        project = source if isinstance(source, Path) else write_project(tmp_path / "project", source, files)
        workdir = tmp_path / f"run-{len(processes)}"
        workdir.mkdir()
        process = RuntimeProcess(settings_dict, project, workdir, env, args)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()
