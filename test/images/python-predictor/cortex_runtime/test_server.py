"""server.py: the HTTP surface, against the real server on loopback."""

import logging
import threading

import httpx
from harness import WAIT, settings, wait_until

ECHO = """
    class PythonPredictor:
        def __init__(self, config):
            self.config = config

        def predict(self, payload, query_params, headers):
            kind = query_params.get("return", "echo")
            if kind == "echo":
                return {"payload": payload if not isinstance(payload, bytes) else payload.decode(),
                        "type": type(payload).__name__}
            if kind == "str":
                return "setosa"
            if kind == "int":
                return 3
            if kind == "float":
                return 0.25
            if kind == "list":
                return [1, "two", None, True]
            if kind == "none":
                return None
            if kind == "bytes":
                return b"\\x00\\x01binary"
            if kind == "numpy":
                import numpy as np
                return {"array": np.arange(3), "scalar": np.float32(1.5)}
            if kind == "response":
                from starlette.responses import Response
                return Response("made by the predictor", status_code=201, media_type="text/plain",
                                headers={"x-predictor": "yes"})
            if kind == "headers":
                return {"x-custom": headers.get("x-custom"), "params": query_params}
            if kind == "nan":
                return {"score": float("nan")}
            if kind == "surrogate-str":
                return "\\ud800"
            if kind == "surrogate-json":
                return {"text": "a\\ud800"}
            if kind == "set":
                return {1, 2}
            raise AssertionError(kind)
"""


class TestResponses:
    def test_json_payload_reaches_predict_parsed(self, serve):
        server = serve(ECHO)
        response = server.post({"a": [1, 2]})
        assert response.status_code == 200
        assert response.json() == {"payload": {"a": [1, 2]}, "type": "dict"}

    def test_other_content_types_reach_predict_as_bytes(self, serve):
        server = serve(ECHO)
        response = server.client.post("/", content=b"raw body", headers={"content-type": "application/octet-stream"})
        assert response.json() == {"payload": "raw body", "type": "bytes"}
        response = server.client.post("/", content=b"no type")
        assert response.json() == {"payload": "no type", "type": "bytes"}

    def test_form_data_reaches_predict_as_form(self, serve):
        server = serve(ECHO.replace('payload if not isinstance(payload, bytes) else payload.decode()', 'dict(payload)'))
        response = server.client.post("/", data={"key": "value"})
        assert response.json() == {"payload": {"key": "value"}, "type": "FormData"}

    def test_json_for_numbers_lists_and_none(self, serve):
        server = serve(ECHO)
        for kind, expected in [("int", 3), ("float", 0.25), ("list", [1, "two", None, True]), ("none", None)]:
            response = server.post({}, params={"return": kind})
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.json() == expected

    def test_a_string_is_sent_as_text_as_cortex_did(self, serve):
        response = serve(ECHO).post({}, params={"return": "str"})
        assert (response.status_code, response.headers["content-type"], response.text) == (
            200, "text/plain; charset=utf-8", "setosa")

    def test_nan_is_written_as_pythons_json_writes_it_as_cortex_did(self, serve):
        response = serve(ECHO).post({}, params={"return": "nan"})
        assert (response.status_code, response.text) == (200, '{"score":NaN}')

    def test_a_lone_surrogate_is_escaped_in_json_and_refused_in_text(self, serve, caplog):
        server = serve(ECHO)
        response = server.post({}, params={"return": "surrogate-json"})
        assert (response.status_code, response.content) == (200, b'{"text":"a\\ud800"}')
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            response = server.post({}, params={"return": "surrogate-str"})
        assert (response.status_code, response.text) == (500, "internal server error")
        assert any("predict returned a str that cannot be sent as UTF-8 text" in r.getMessage() for r in caplog.records)

    def test_numpy_values_become_json(self, serve):
        server = serve(ECHO)
        assert server.post({}, params={"return": "numpy"}).json() == {"array": [0, 1, 2], "scalar": 1.5}

    def test_bytes_are_sent_as_they_are(self, serve):
        server = serve(ECHO)
        response = server.post({}, params={"return": "bytes"})
        assert response.content == b"\x00\x01binary"
        assert response.headers["content-type"] == "application/octet-stream"

    def test_a_starlette_response_is_sent_as_it_is(self, serve):
        server = serve(ECHO)
        response = server.post({}, params={"return": "response"})
        assert (response.status_code, response.text) == (201, "made by the predictor")
        assert response.headers["x-predictor"] == "yes"

    def test_query_params_and_headers_reach_predict(self, serve):
        server = serve(ECHO)
        response = server.post({}, params={"return": "headers", "model": "a"}, headers={"X-Custom": "v"})
        # QueryParams, a Mapping, is sent as the JSON object of its last values
        assert response.json() == {"x-custom": "v", "params": {"return": "headers", "model": "a"}}

    def test_query_params_and_headers_are_starlettes_types(self, serve):
        source = """
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload, query_params, headers):
                    return {
                        "types": [type(query_params).__name__, type(headers).__name__],
                        "content_type": headers["Content-Type"],
                        "tags": query_params.getlist("tag"),
                        "last_tag": query_params["tag"],
                        "as_dict": dict(query_params),
                        "missing": [query_params.get("nope", "default"), headers.get("X-Nope")],
                        "keys": sorted(k for k in headers if k.startswith("x-")),
                    }
        """
        response = serve(source).client.post("/?tag=a&tag=b", json={}, headers={"X-One": "1"})
        assert response.json() == {
            "types": ["QueryParams", "Headers"], "content_type": "application/json", "tags": ["a", "b"],
            "last_tag": "b", "as_dict": {"tag": "b"}, "missing": ["default", None], "keys": ["x-one"],
        }

    def test_a_prediction_that_is_not_json_is_a_500_explained_in_the_log(self, serve, caplog):
        server = serve(ECHO)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            response = server.post({}, params={"return": "set"})
        assert response.status_code == 500
        assert any("predict returned a set that cannot be sent as JSON" in r.getMessage() for r in caplog.records)


class TestErrors:
    SOURCE = """
        from cortex_runtime import UserError

        class PythonPredictor:
            def __init__(self, config):
                pass

            def predict(self, payload):
                if payload["raise"] == "user":
                    raise UserError("petal_length is missing")
                if payload["raise"] == "http":
                    from starlette.exceptions import HTTPException
                    raise HTTPException(status_code=429, detail="slow down")
                raise KeyError("boom")
    """

    def test_user_error_is_a_400_with_its_message_as_text(self, serve):
        response = serve(self.SOURCE).post({"raise": "user"})
        assert (response.status_code, response.headers["content-type"], response.text) == (
            400, "text/plain; charset=utf-8", "petal_length is missing")
        assert response.headers["x-request-id"]

    def test_starlette_http_exception_keeps_its_status_and_detail(self, serve):
        response = serve(self.SOURCE).post({"raise": "http"})
        assert (response.status_code, response.text) == (429, "slow down")

    def test_any_other_exception_is_a_500_internal_server_error(self, serve):
        response = serve(self.SOURCE).post({"raise": "other"})
        assert (response.status_code, response.text) == (500, "internal server error")

    def test_invalid_json_is_a_400_in_json_as_cortex_answered_it(self, serve):
        server = serve(self.SOURCE)
        response = server.client.post("/", content=b"{not json", headers={"content-type": "application/json"})
        assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
        assert list(response.json()) == ["error"]
        assert "the body is not valid JSON" in response.json()["error"]

    def test_a_body_that_is_not_text_in_its_charset_is_a_400_as_text(self, serve):
        server = serve(self.SOURCE)
        response = server.client.post("/", content=b"\xff", headers={"content-type": "text/plain; charset=ascii"})
        assert response.status_code == 400
        assert response.text.startswith("the body is not valid ascii text")


class TestReadiness:
    SLOW_INIT = """
        import cortex_test_hooks

        class PythonPredictor:
            def __init__(self, config):
                hooks = cortex_test_hooks.current
                hooks.init_started.set()
                assert hooks.init_may_return.wait(10)

            def predict(self, payload):
                return "ok"
    """

    def test_healthz_is_503_until_init_returns_then_200(self, serve, hooks):
        hooks.init_started, hooks.init_may_return = threading.Event(), threading.Event()
        server = serve(self.SLOW_INIT, load=False)
        loader = threading.Thread(target=server.load)
        loader.start()
        assert hooks.init_started.wait(WAIT)

        # WHEN __init__ is still running THEN not ready, and predictions are refused
        assert server.admin.get("/healthz").status_code == 503
        response = server.post({})
        assert response.status_code == 503
        assert "__init__ has not returned" in response.text
        assert server.client.get("/").json()["ready"] is False

        # WHEN __init__ returns THEN ready
        hooks.init_may_return.set()
        loader.join(WAIT)
        assert server.admin.get("/healthz").status_code == 200
        assert server.post({}).text == "ok"

    def test_healthz_is_503_before_load_is_even_called(self, serve):
        server = serve(self.SLOW_INIT, load=False)
        assert server.admin.get("/healthz").json() == {"status": "loading"}


class TestPostPredict:
    SOURCE = """
        import cortex_test_hooks

        class PythonPredictor:
            def __init__(self, config):
                pass

            def predict(self, payload):
                return {"label": payload["x"] * 2}

            def post_predict(self, response, payload, query_params):
                hooks = cortex_test_hooks.current
                hooks.events.append(("post_predict started", response, payload, query_params))
                assert hooks.release.wait(10), "post_predict was never released"
                hooks.events.append(("post_predict done",))
                hooks.done.set()
    """

    def test_runs_after_the_response_was_sent_with_the_response_and_payload(self, serve, hooks):
        hooks.events, hooks.release, hooks.done = [], threading.Event(), threading.Event()
        server = serve(self.SOURCE)

        # WHEN a request is served THEN its response arrives while post_predict is still held
        response = server.post({"x": 21}, params={"q": "1"})
        assert response.json() == {"label": 42}
        assert not hooks.done.is_set()
        wait_until(lambda: hooks.events, "post_predict to start")
        (started, response_arg, payload_arg, query_params_arg), = hooks.events
        assert (started, response_arg, payload_arg, dict(query_params_arg)) == ("post_predict started", {"label": 42}, {"x": 21}, {"q": "1"})

        # WHEN released THEN it completes
        hooks.release.set()
        assert hooks.done.wait(WAIT)
        assert hooks.events[-1] == ("post_predict done",)

    def test_a_failing_post_predict_does_not_change_the_response(self, serve, caplog):
        source = """
            class PythonPredictor:
                def __init__(self, config):
                    pass
                def predict(self, payload):
                    return "fine"
                def post_predict(self, response):
                    raise RuntimeError("storage is down")
        """
        server = serve(source)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            assert server.post({}).text == "fine"
            wait_until(lambda: any("post_predict failed" in r.getMessage() for r in caplog.records), "the log")


class TestDebug:
    SOURCE = """
        class PythonPredictor:
            def __init__(self, config):
                pass
            def predict(self, payload):
                return {"doubled": payload["x"] * 2}
    """

    def test_debug_true_logs_the_payload_and_the_prediction(self, serve, caplog):
        server = serve(self.SOURCE, settings(log_level="error", allow_debug=True))
        caplog.set_level(logging.INFO)
        root = logging.getLogger()
        root.setLevel(logging.ERROR)  # as __main__ sets it for log_level error: it must not hide what was asked for
        try:
            server.post({"x": 4}, params={"debug": "true"})
        finally:
            root.setLevel(logging.INFO)
        messages = [r.getMessage() for r in caplog.records if r.name == "cortex_runtime.debug"]
        assert messages == ['test-api: debug: payload: {"x": 4}', 'test-api: debug: prediction: {"doubled": 8}']

    def test_without_debug_nothing_is_logged(self, serve, caplog):
        server = serve(self.SOURCE)
        with caplog.at_level(logging.DEBUG):
            server.post({"x": 4})
        assert not [r for r in caplog.records if r.name == "cortex_runtime.debug"]


class TestThreads:
    SOURCE = """
        import threading
        import cortex_test_hooks

        class PythonPredictor:
            def __init__(self, config):
                self.lock = threading.Lock()
                self.active = 0
                self.most = 0

            def predict(self, payload):
                hooks = cortex_test_hooks.current
                with self.lock:
                    self.active += 1
                    self.most = max(self.most, self.active)
                try:
                    hooks.barrier.wait(10)
                except threading.BrokenBarrierError:
                    pass
                with self.lock:
                    self.active -= 1
                return self.most
    """

    def _concurrent_posts(self, server, n):
        results = [None] * n

        def post(i):
            results[i] = httpx.post(server.url, json={}, timeout=WAIT).json()

        threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(3 * WAIT)
        return results

    def test_threads_per_process_predictions_run_at_once(self, serve, hooks):
        hooks.barrier = threading.Barrier(4)
        server = serve(self.SOURCE, settings(threads_per_process=4))
        # All four meet at the barrier only if four threads run predict together.
        assert max(self._concurrent_posts(server, 4)) == 4
        assert not hooks.barrier.broken

    def test_one_thread_runs_predictions_one_at_a_time(self, serve, hooks):
        hooks.barrier = threading.Barrier(1)
        server = serve(self.SOURCE, settings(threads_per_process=1))
        assert max(self._concurrent_posts(server, 3)) == 1


class TestAsyncPredict:
    def test_an_async_predict_is_awaited(self, serve):
        source = """
            import asyncio

            class PythonPredictor:
                def __init__(self, config):
                    pass
                async def predict(self, payload):
                    await asyncio.sleep(0)
                    return {"async": payload}
        """
        assert serve(source).post(1).json() == {"async": 1}


class TestRoutes:
    def test_get_says_cortexs_message_the_api_name_and_readiness(self, serve):
        server = serve(ECHO)
        expected = {"message": "make a prediction by sending a post request to this endpoint with a json payload",
                    "api_name": "test-api", "ready": True}
        for path in ("/", "/predict", "/predict/"):
            assert server.client.get(path).json() == expected

    def test_post_predict_serves_predictions_as_post_root_does(self, serve):
        server = serve(ECHO)
        for path in ("/predict", "/predict/"):
            response = server.client.post(path, json={"a": 1})
            assert (response.status_code, response.json()) == (200, {"payload": {"a": 1}, "type": "dict"})

    def test_other_paths_are_404(self, serve):
        server = serve(ECHO)
        assert server.client.post("/predictions", json={}).status_code == 404
        assert server.client.post("/predict/x", json={}).status_code == 404

    def test_metrics_is_empty_without_a_tracker(self, serve):
        response = serve(ECHO).admin.get("/metrics")
        assert (response.status_code, response.text) == (200, "")
