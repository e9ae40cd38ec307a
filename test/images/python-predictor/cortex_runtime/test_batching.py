"""batching.py: server-side batching, against the real server.

Batches are made deterministic by holding the first batch's predict on an event: the requests sent
meanwhile are known to be waiting (the batcher's pending count) before it is released.
"""

import logging
import threading

import httpx
from harness import WAIT, settings, wait_until

SOURCE = """
    import threading
    import cortex_test_hooks
    from cortex_runtime import UserError

    class PythonPredictor:
        def __init__(self, config):
            pass

        def predict(self, payload, query_params):
            hooks = cortex_test_hooks.current
            assert isinstance(payload, list) and isinstance(query_params, list)
            hooks.calls.append([p["x"] for p in payload])
            if len(hooks.calls) == 1 and getattr(hooks, "hold_first", None) is not None:
                hooks.first_entered.set()
                assert hooks.hold_first.wait(10)
            if any(p.get("fail") for p in payload):
                raise RuntimeError("the model ran out of memory")
            if any(p.get("user_error") for p in payload):
                raise UserError("one input of the batch is malformed")
            if any(p.get("short") for p in payload):
                return [p["x"] for p in payload][1:]
            if any(p.get("not_a_list") for p in payload):
                return {"oops": True}
            return [
                ValueError("this one failed") if p.get("fail_me") else
                {"x": p["x"], "batch_size": len(payload), "q": q.get("q")}
                for p, q in zip(payload, query_params)
            ]
"""


class Requests:
    """Requests sent from threads, so that several wait on the server at once."""

    def __init__(self, url):
        self.url = url
        self.threads = []
        self.responses = {}

    def send(self, x, **fields):
        def post():
            self.responses[x] = httpx.post(self.url, json={"x": x, **fields}, params={"q": str(x)}, timeout=WAIT)

        thread = threading.Thread(target=post)
        thread.start()
        self.threads.append(thread)

    def wait(self):
        for thread in self.threads:
            thread.join(3 * WAIT)
        return self.responses


def batching_server(serve, hooks, max_batch_size, interval, hold_first=True):
    hooks.calls = []
    hooks.first_entered = threading.Event()
    hooks.hold_first = threading.Event() if hold_first else None
    return serve(SOURCE, settings(
        threads_per_process=max(max_batch_size, 1),
        server_side_batching={"max_batch_size": max_batch_size, "batch_interval_seconds": interval},
    ))


def hold_first_batch_then_queue(server, hooks, requests, first, queued):
    """Sends ``first``; once its batch is held in predict, sends ``queued`` and waits until all are pending."""
    requests.send(first)
    assert hooks.first_entered.wait(WAIT)
    for x, fields in queued:
        requests.send(x, **fields)
    batcher = server.app.state.batcher
    wait_until(lambda: batcher.pending == len(queued), f"{len(queued)} requests to wait for a batch")
    hooks.hold_first.set()


class TestGathering:
    def test_concurrent_requests_are_gathered_into_one_predict_call(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=8, interval=0.01)
        requests = Requests(server.url)
        hold_first_batch_then_queue(server, hooks, requests, 0, [(1, {}), (2, {}), (3, {})])
        responses = requests.wait()

        assert hooks.calls[0] == [0]
        assert sorted(hooks.calls[1]) == [1, 2, 3] and len(hooks.calls) == 2
        # each caller gets its own element back, with its own query parameters
        for x in (1, 2, 3):
            assert responses[x].status_code == 200
            assert responses[x].json() == {"x": x, "batch_size": 3, "q": str(x)}

    def test_a_batch_never_exceeds_max_batch_size(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=2, interval=0.01)
        requests = Requests(server.url)
        hold_first_batch_then_queue(server, hooks, requests, 0, [(x, {}) for x in range(1, 6)])
        responses = requests.wait()

        assert [len(call) for call in hooks.calls] == [1, 2, 2, 1]
        assert sorted(x for call in hooks.calls for x in call) == list(range(6))
        assert all(r.status_code == 200 for r in responses.values())

    def test_a_full_batch_does_not_wait_for_the_interval(self, serve, hooks):
        # An interval far longer than the test's timeouts: only a full batch can answer in time.
        server = batching_server(serve, hooks, max_batch_size=3, interval=600, hold_first=False)
        requests = Requests(server.url)
        for x in range(3):
            requests.send(x)
        responses = requests.wait()
        assert len(responses) == 3 and all(r.json()["batch_size"] == 3 for r in responses.values())
        assert len(hooks.calls) == 1

    def test_after_the_interval_a_partial_batch_runs(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=8, interval=0.05, hold_first=False)
        response = httpx.post(server.url, json={"x": 7}, timeout=WAIT)
        assert response.json() == {"x": 7, "batch_size": 1, "q": None}
        assert server.app.state.batcher.batch_sizes[-1] == 1


class TestFailures:
    def test_a_failing_batch_fails_only_its_own_callers(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=2, interval=0.01)
        requests = Requests(server.url)
        # batches: [0] (held), then [1 fails, 2], then [3]
        requests.send(0)
        assert hooks.first_entered.wait(WAIT)
        requests.send(1, fail=True)
        wait_until(lambda: server.app.state.batcher.pending == 1, "request 1 to wait")
        requests.send(2)
        wait_until(lambda: server.app.state.batcher.pending == 2, "request 2 to wait")
        requests.send(3)
        wait_until(lambda: server.app.state.batcher.pending == 3, "request 3 to wait")
        hooks.hold_first.set()
        responses = requests.wait()

        assert hooks.calls == [[0], [1, 2], [3]]
        assert responses[0].status_code == 200 and responses[3].status_code == 200
        for x in (1, 2):
            assert responses[x].status_code == 500
            assert responses[x].text == "internal server error"  # the exception's text is in the log

    def test_a_user_error_in_a_batch_is_a_400_for_its_callers(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=4, interval=0.01)
        requests = Requests(server.url)
        hold_first_batch_then_queue(server, hooks, requests, 0, [(1, {"user_error": True}), (2, {})])
        responses = requests.wait()
        assert responses[0].status_code == 200
        assert [responses[x].status_code for x in (1, 2)] == [400, 400]
        assert responses[1].text == "one input of the batch is malformed"

    def test_a_result_of_the_wrong_length_is_a_500_explained_in_the_log(self, serve, hooks, caplog):
        server = batching_server(serve, hooks, max_batch_size=4, interval=0.01)
        requests = Requests(server.url)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            hold_first_batch_then_queue(server, hooks, requests, 0, [(1, {"short": True}), (2, {}), (3, {})])
            responses = requests.wait()
        for x in (1, 2, 3):
            assert responses[x].status_code == 500
            assert responses[x].text == "internal server error"
            logged = [r.getMessage() for r in caplog.records if responses[x].headers["x-request-id"] in r.getMessage()]
            assert len(logged) == 1 and logged[0].endswith(
                "with server_side_batching, predict must return a list of one prediction per request, in order: "
                "got 2 predictions for a batch of 3 requests"
            )

    def test_a_result_that_is_not_a_list_is_a_500_explained_in_the_log(self, serve, hooks, caplog):
        server = batching_server(serve, hooks, max_batch_size=2, interval=0.01, hold_first=False)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            response = httpx.post(server.url, json={"x": 1, "not_a_list": True}, timeout=WAIT)
        assert response.status_code == 500
        assert any("got a dict for a batch of 1 requests" in r.getMessage() for r in caplog.records)

    def test_an_exception_as_an_element_fails_only_that_caller(self, serve, hooks):
        server = batching_server(serve, hooks, max_batch_size=4, interval=0.01)
        requests = Requests(server.url)
        hold_first_batch_then_queue(server, hooks, requests, 0, [(1, {"fail_me": True}), (2, {})])
        responses = requests.wait()
        assert responses[1].status_code == 500
        assert responses[1].text == "internal server error"
        assert responses[2].json() == {"x": 2, "batch_size": 2, "q": "2"}
