"""serve.py: the runtime as the image runs it (``python -m cortex_runtime``), in child processes."""

import httpx
from harness import WAIT, settings, wait_until

FAILING_INIT = """
    class PythonPredictor:
        def __init__(self, config):
            raise RuntimeError("model.bin not found in the project")

        def predict(self, payload):
            return "unreachable"
"""

# The first process to start waits for the test's release file; the others return at once. Each
# records its pid, so the test knows how many processes were initialized.
ONE_SLOW_PROCESS = """
    import os
    import time

    class PythonPredictor:
        def __init__(self, config):
            directory = config["dir"]
            try:
                os.close(os.open(os.path.join(directory, "slow"), os.O_CREAT | os.O_EXCL))
                while not os.path.exists(os.path.join(directory, "release")):
                    time.sleep(0.01)
            except FileExistsError:
                pass
            open(os.path.join(directory, f"pid-{os.getpid()}"), "w").close()

        def predict(self, payload):
            return os.getpid()
"""


class TestInitFailure:
    def test_an_exception_in_init_is_logged_clearly_and_the_process_exits_1(self, run_runtime):
        runtime = run_runtime(FAILING_INIT, settings(api_name="broken-api"))
        assert runtime.wait_until_exited() == 1
        log = runtime.log
        assert ("broken-api: the predictor failed to start, exiting: PythonPredictor.__init__ raised RuntimeError: "
                "model.bin not found in the project") in log
        assert 'raise RuntimeError("model.bin not found in the project")' in log  # the user's line, in the traceback

    def test_with_several_processes_one_failing_init_stops_them_all_non_zero(self, run_runtime):
        runtime = run_runtime(FAILING_INIT, settings(api_name="broken-api", processes_per_replica=2))
        assert runtime.wait_until_exited() == 1
        assert "PythonPredictor.__init__ raised RuntimeError" in runtime.log
        assert "exited with code 1: stopping the others" in runtime.log

    def test_an_unsupported_type_exits_1_naming_what_is_missing(self, run_runtime):
        runtime = run_runtime("", settings(type="tensorflow", models={"path": "m"}))
        assert runtime.wait_until_exited() == 1
        assert "type tensorflow is not supported by this runtime" in runtime.log


class TestProcesses:
    def test_ready_only_when_every_process_has_initialized(self, run_runtime, tmp_path):
        marks = tmp_path / "marks"
        marks.mkdir()
        runtime = run_runtime(ONE_SLOW_PROCESS, settings(processes_per_replica=2, config={"dir": str(marks)}))
        url = runtime.wait_listening()

        # GIVEN one process initialized and the other still in __init__
        wait_until(lambda: (marks / "slow").exists() and len(list(marks.glob("pid-*"))) == 1, "one process to be ready")
        # THEN whichever process answers, the replica is not ready
        for _ in range(10):
            assert httpx.get(runtime.admin_url + "/healthz", timeout=WAIT).status_code == 503

        # WHEN the other returns THEN ready, with two processes serving
        (marks / "release").touch()
        runtime.wait_ready()
        assert len(list(marks.glob("pid-*"))) == 2
        pids = {p.name[len("pid-"):] for p in marks.glob("pid-*")}
        assert str(httpx.post(url, json={}, timeout=WAIT).json()) in pids
        assert runtime.stop() == 0

    def test_sigterm_stops_gracefully_with_exit_code_0(self, run_runtime):
        runtime = run_runtime("class PythonPredictor:\n    def predict(self, payload):\n        return 1\n", settings())
        url = runtime.wait_ready()
        assert httpx.post(url, json={}, timeout=WAIT).json() == 1
        assert runtime.stop() == 0
        assert "Shutting down" in runtime.log

    def test_neuron_cores_are_split_between_processes(self, run_runtime, tmp_path):
        source = """
            import os
            class PythonPredictor:
                def __init__(self, config):
                    self.cores = os.environ.get("NEURON_RT_VISIBLE_CORES")
                def predict(self, payload):
                    return self.cores
        """
        runtime = run_runtime(source, settings(processes_per_replica=2, compute={"cpu": None, "mem": None, "gpu": 0, "inf": 2}))
        runtime.wait_ready()
        assert "worker 0: NeuronCores 0-1" in runtime.log and "worker 1: NeuronCores 2-3" in runtime.log


class TestSettingsErrors:
    def test_unusable_settings_exit_2_listing_the_problems(self, run_runtime):
        runtime = run_runtime("", settings(version=1, threads_per_process=0, log_level="loud"))
        assert runtime.wait_until_exited() == 2
        assert "unusable predictor settings, exiting" in runtime.log
        assert "threads_per_process: must be an integer >= 1, got 0" in runtime.log
        assert 'log_level: must be one of debug, info, warning, error, got "loud"' in runtime.log
