"""SIGTERM drains with a deadline (serve.py): requests in flight finish, a hung one does not hold the process."""

import signal
import threading

import httpx
from harness import WAIT, WAITS_FOR_RELEASE, settings, wait_until


def post_in_background(url):
    """POSTs in a thread; the returned list gets the response (or the error)."""
    outcome = []

    def post():
        try:
            outcome.append(httpx.post(url, json={}, timeout=WAIT * 3))
        except httpx.HTTPError as e:
            outcome.append(e)

    threading.Thread(target=post, daemon=True).start()
    return outcome


def marks_dir(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    return marks


class TestSigterm:
    def test_a_request_in_flight_finishes_before_the_process_exits_0(self, run_runtime, tmp_path):
        # GIVEN a request inside predict
        marks = marks_dir(tmp_path)
        runtime = run_runtime(WAITS_FOR_RELEASE, settings(config={"dir": str(marks)}), env={"CORTEX_DRAIN_TIMEOUT": "30"})
        url = runtime.wait_ready()
        outcome = post_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        # WHEN SIGTERM arrives, and then predict returns
        runtime.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "Shutting down" in runtime.log, "the server to stop accepting")
        (marks / "release").touch()
        # THEN the request gets its answer, and the process exits 0
        assert runtime.wait_until_exited(WAIT) == 0
        wait_until(lambda: outcome, "the response")
        assert outcome[0].status_code == 200 and outcome[0].text == "released"

    def test_a_hung_predict_does_not_hold_the_process_past_the_drain_deadline(self, run_runtime, tmp_path):
        # GIVEN a request that never returns, and a drain deadline of 1 s
        marks = marks_dir(tmp_path)
        runtime = run_runtime(WAITS_FOR_RELEASE, settings(config={"dir": str(marks)}), env={"CORTEX_DRAIN_TIMEOUT": "1"})
        url = runtime.wait_ready()
        outcome = post_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        # WHEN SIGTERM arrives THEN the process exits (instead of waiting for predict forever), saying what it cut
        runtime.proc.send_signal(signal.SIGTERM)
        assert runtime.wait_until_exited(WAIT) == 0
        assert ("the drain deadline (1 s) has passed with 1 connection(s) still open: answering the 1 request(s) "
                "still in predict with 503") in runtime.log
        # AND the client got an answer, not a reset connection
        wait_until(lambda: outcome, "the response")
        assert outcome[0].status_code == 503
        assert "did not finish before the drain deadline" in outcome[0].text
        assert "Traceback" not in runtime.log

    def test_with_several_processes_a_hung_predict_does_not_hold_them_either(self, run_runtime, tmp_path):
        marks = marks_dir(tmp_path)
        runtime = run_runtime(WAITS_FOR_RELEASE, settings(processes_per_replica=2, config={"dir": str(marks)}),
                              env={"CORTEX_DRAIN_TIMEOUT": "1"})
        url = runtime.wait_ready()
        post_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "predict to start")
        runtime.proc.send_signal(signal.SIGTERM)
        assert runtime.wait_until_exited(WAIT) == 0
        assert "the drain deadline (1 s) has passed" in runtime.log

    def test_with_batching_every_caller_of_a_hung_batch_gets_503_at_the_drain_deadline(self, run_runtime, tmp_path):
        # GIVEN a batch of two requests that never returns (the batch closes when full: both have arrived)
        marks = marks_dir(tmp_path)
        batching = {"max_batch_size": 2, "batch_interval_seconds": 60}
        runtime = run_runtime(WAITS_FOR_RELEASE, settings(server_side_batching=batching, config={"dir": str(marks)}),
                              env={"CORTEX_DRAIN_TIMEOUT": "1"})
        url = runtime.wait_ready()
        first, second = post_in_background(url), post_in_background(url)
        wait_until(lambda: any(marks.glob("started-*")), "the batch to start")
        # WHEN SIGTERM arrives THEN both callers get 503 at the deadline, and the process exits 0
        runtime.proc.send_signal(signal.SIGTERM)
        assert runtime.wait_until_exited(WAIT) == 0
        wait_until(lambda: first and second, "both responses")
        assert [r.status_code for r in first + second] == [503, 503], runtime.log
