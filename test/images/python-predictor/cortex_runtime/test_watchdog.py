"""watchdog.py: a process whose predictor hangs stops being ready, then exits so that its container restarts.

The Watchdog's rules with a fake clock, then the real runtime (``python -m cortex_runtime``) with a predictor
that never returns and short timeouts (``CORTEX_REQUEST_TIMEOUT``, ``CORTEX_STUCK_GRACE``).
"""

import re
import threading
import types

import httpx
import pytest
from harness import WAIT, WAITS_FOR_RELEASE, settings, wait_until

from cortex_runtime.watchdog import EXIT_STUCK, Watchdog


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeValue:
    """multiprocessing.Value's interface, in one process."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


def watchdog_over(busy_since, *, stuck_after=10.0, grace=5.0, shared=None, batcher=None):
    clock = FakeClock()
    exits = []
    threads = types.SimpleNamespace(busy_since=busy_since, threads=[threading.current_thread()] * len(busy_since))
    # ready=False: faulthandler (which would end this test process) is never armed here.
    dog = Watchdog(threads, stuck_after=stuck_after, grace=grace, api_name="test-api", ready=lambda: False,
                   shared=shared, batcher=batcher, clock=clock, exit_process=exits.append)
    return dog, clock, exits


class TestRules:
    def test_every_thread_in_one_call_past_the_timeout_is_stuck_then_exits_after_the_grace(self):
        # GIVEN two threads that started their calls at t=0 and t=2
        dog, clock, exits = watchdog_over([1000.0, 1002.0])
        # WHEN the later one has been busy just under the timeout THEN not stuck
        clock.now = 1011.9
        dog.tick()
        assert dog.stuck_reason() is None
        # WHEN both have been busy longer THEN stuck, and it says why
        clock.now = 1012.0
        dog.tick()
        assert "every predict thread (2) has been in one call for more than 10 s" in dog.stuck_reason()
        # WHEN the grace passes with both still busy THEN the process exits with EXIT_STUCK
        clock.now = 1016.9
        dog.tick()
        assert exits == []
        clock.now = 1017.0
        dog.tick()
        assert exits == [EXIT_STUCK]

    def test_one_free_thread_means_not_stuck(self):
        dog, clock, exits = watchdog_over([1000.0, None])
        clock.now = 5000.0
        dog.tick()
        assert dog.stuck_reason() is None and exits == []

    def test_a_thread_that_returns_within_the_grace_makes_it_ready_again(self):
        busy = [1000.0]
        dog, clock, exits = watchdog_over(busy)
        clock.now = 1010.0
        dog.tick()
        assert dog.stuck_reason() is not None
        # WHEN the call returns and the thread takes a new one THEN ready again, no exit
        busy[0] = None
        clock.now = 1012.0
        dog.tick()
        assert dog.stuck_reason() is None
        busy[0] = 1012.0
        clock.now = 1016.0
        dog.tick()
        assert dog.stuck_reason() is None and exits == []

    def test_with_batching_a_batch_in_predict_past_the_timeout_is_stuck_whatever_the_free_threads(self):
        # GIVEN two threads, one free, and a batch handed to predict at t=0 (one batch runs at a time)
        batcher = types.SimpleNamespace(running_since=1000.0)
        dog, clock, exits = watchdog_over([1000.0, None], batcher=batcher)
        clock.now = 1010.0
        dog.tick()
        assert "the running batch (server_side_batching runs one at a time) has been in predict for more than 10 s" in dog.stuck_reason()
        # WHEN the batch returns THEN ready again
        batcher.running_since = None
        dog.tick()
        assert dog.stuck_reason() is None and exits == []

    def test_a_stuck_process_makes_the_whole_replica_not_ready(self):
        # GIVEN two processes' watchdogs sharing one counter
        shared = FakeValue()
        stuck, clock, _ = watchdog_over([1000.0], shared=shared)
        healthy, _, _ = watchdog_over([None], shared=shared)
        # WHEN one is stuck THEN the other is not ready either
        clock.now = 1010.0
        stuck.tick()
        assert healthy.stuck_reason() == "another process of this replica has every predict thread stuck"
        # WHEN it recovers THEN both are ready
        stuck.threads.busy_since[0] = None
        stuck.tick()
        assert shared.value == 0 and healthy.stuck_reason() is None

    def test_after_sigterm_nothing_is_checked(self):
        dog, clock, exits = watchdog_over([1000.0], grace=0.0)
        dog._draining = True  # what draining() sets, without arming faulthandler in this process
        clock.now = 2000.0
        dog.tick()
        assert dog.stuck_reason() is None and exits == []

    def test_bad_timings_are_refused(self):
        with pytest.raises(ValueError, match=r"stuck_after \(0\) must be > 0"):
            watchdog_over([None], stuck_after=0)
        with pytest.raises(ValueError, match=r"grace \(-1\) must be >= 0"):
            watchdog_over([None], grace=-1)


# predict blocks until the test's release file exists (never, unless the test creates it); it marks the
# calls it has started, so the test knows a thread is busy.
HANGS = WAITS_FOR_RELEASE

# An async predict that blocks the event loop itself: nothing in the process can answer any more.
BLOCKS_THE_LOOP = """
    import time

    class PythonPredictor:
        async def predict(self, payload):
            while True:
                time.sleep(0.05)
"""


def send_in_background(url):
    """POSTs without waiting for an answer (the proxy would give up; here nobody does)."""

    def post():
        try:
            httpx.post(url, json={}, timeout=WAIT * 3)
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def healthz(runtime):
    try:
        response = httpx.get(runtime.admin_url + "/healthz", timeout=WAIT)
    except httpx.TransportError:
        return None
    return response


class TestStuckPredictor:
    def test_all_threads_stuck_turns_healthz_503_then_the_process_exits_3_naming_where_it_hangs(self, run_runtime, tmp_path):
        # GIVEN a runtime with one thread, a request timeout of 0.3 s and a grace of 1 s
        marks = tmp_path / "marks"
        marks.mkdir()
        runtime = run_runtime(HANGS, settings(config={"dir": str(marks)}),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.3", "CORTEX_STUCK_GRACE": "1"})
        url = runtime.wait_ready()
        # WHEN a request hangs in predict
        send_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        # THEN /healthz turns 503 (stuck), saying why
        wait_until(lambda: healthz(runtime).status_code == 503, "/healthz to fail")
        body = healthz(runtime).json()
        assert body["status"] == "stuck"
        assert "every predict thread (1) has been in one call for more than 0.3 s" in body["detail"]
        # AND THEN the process exits with code 3, the log showing the line predict hangs on
        assert runtime.wait_until_exited(WAIT) == EXIT_STUCK
        log = runtime.log
        assert "test-api: not ready: every predict thread (1)" in log
        assert "predict is still stuck 1 s later: exiting with code 3" in log
        assert re.search(r'project/predictor\.py", line \d+, in predict\n    time\.sleep\(0\.01\)', log)

    def test_a_thread_that_returns_makes_the_runtime_ready_again(self, run_runtime, tmp_path):
        marks = tmp_path / "marks"
        marks.mkdir()
        runtime = run_runtime(HANGS, settings(config={"dir": str(marks)}),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.3", "CORTEX_STUCK_GRACE": "60"})
        url = runtime.wait_ready()
        send_in_background(url)
        wait_until(lambda: healthz(runtime).status_code == 503, "/healthz to fail")
        # WHEN predict returns after all
        (marks / "release").touch()
        # THEN ready again, and serving
        wait_until(lambda: healthz(runtime).status_code == 200, "/healthz to recover")
        assert httpx.post(url, json={}, timeout=WAIT).text == "released"
        assert "predict returned after" in runtime.log
        assert runtime.proc.poll() is None

    def test_with_several_processes_one_stuck_process_makes_the_replica_not_ready_then_stops_it(self, run_runtime, tmp_path):
        # GIVEN two processes of one thread each, and one request hanging (in one of them)
        marks = tmp_path / "marks"
        marks.mkdir()
        runtime = run_runtime(HANGS, settings(processes_per_replica=2, config={"dir": str(marks)}),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.3", "CORTEX_STUCK_GRACE": "2"})
        url = runtime.wait_ready()
        send_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        # THEN whichever process answers /healthz, the replica is stuck
        wait_until(lambda: healthz(runtime).status_code == 503, "/healthz to fail")
        statuses = {healthz(runtime).json()["status"] for _ in range(10)}
        assert statuses == {"stuck"}
        # AND THEN the stuck process exits with code 3, which stops the others, and the runtime exits 3
        assert runtime.wait_until_exited(WAIT) == EXIT_STUCK
        assert "exited with code 3: stopping the others" in runtime.log

    def test_with_batching_a_hung_batch_is_stuck_though_threads_are_free(self, run_runtime, tmp_path):
        # GIVEN batching with 4 threads: one batch at a time, so a hung batch holds every later request
        marks = tmp_path / "marks"
        marks.mkdir()
        batching = {"max_batch_size": 2, "batch_interval_seconds": 0.01}
        runtime = run_runtime(HANGS, settings(threads_per_process=4, server_side_batching=batching, config={"dir": str(marks)}),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.3", "CORTEX_STUCK_GRACE": "60"})
        url = runtime.wait_ready()
        send_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        # THEN stuck, naming the batch
        wait_until(lambda: healthz(runtime).status_code == 503, "/healthz to fail")
        assert "the running batch (server_side_batching runs one at a time)" in healthz(runtime).json()["detail"]
        (marks / "release").touch()
        wait_until(lambda: healthz(runtime).status_code == 200, "/healthz to recover")

    def test_an_event_loop_blocked_for_good_ends_the_process_with_the_tracebacks(self, run_runtime):
        # GIVEN an async predict that blocks the loop (so no Python code of the runtime can run)
        runtime = run_runtime(BLOCKS_THE_LOOP, settings(),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.5", "CORTEX_STUCK_GRACE": "0.5"})
        url = runtime.wait_ready()
        # WHEN a request blocks it
        send_in_background(url)
        # THEN faulthandler ends the process (code 1) after timeout + grace, printing where each thread was
        assert runtime.wait_until_exited(WAIT) == 1
        log = runtime.log
        assert "Timeout (0:00:01)!" in log
        assert "in predict" in log
