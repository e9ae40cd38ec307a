"""Streamed predictions (streaming.py): formats, errors, batching and post_predict, and, on a real runtime process,
incremental delivery and cancellation when the client leaves."""

import json
import socket
from pathlib import Path

import httpx
import pytest

from cortex_runtime.streaming import accepts_event_stream, encode_chunk, encode_event, is_stream
from harness import WAIT, settings, wait_until


def _default(value):
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RawStream:
    """One POST on a raw socket, read a piece at a time, closed when the test says: a client that leaves."""

    def __init__(self, url, body=b"{}", accept="text/event-stream"):
        host, port = url.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=WAIT)
        head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"Accept: {accept}\r\n\r\n").encode()
        self.sock.sendall(head + body)
        self.received = b""

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.received:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"the connection closed before {marker!r}; got {self.received!r}")
            self.received += chunk
        return self.received

    def close(self):
        self.sock.close()


# -- what streams, and how it is written -----------------------------------------------------------------

class TestWhatStreams:
    def test_iterators_and_generators_stream_and_iterables_do_not(self):
        async def agen():
            yield 1

        def gen():
            yield 1

        assert is_stream(gen()) and is_stream(iter([1])) and is_stream(agen())
        for value in ("text", b"bytes", {"a": 1}, [1, 2], (1,), 3, None):
            assert not is_stream(value), value

    def test_accept_names_the_event_stream_unless_its_q_is_0(self):
        assert accepts_event_stream("text/event-stream")
        assert accepts_event_stream("application/json, Text/Event-Stream;q=0.5")
        assert not accepts_event_stream("text/event-stream;q=0")
        assert not accepts_event_stream("*/*")
        assert not accepts_event_stream(None)

    def test_an_event_carries_each_line_of_a_str_in_a_data_line_and_json_in_one(self):
        assert encode_event("a\nb\r\nc", _default) == b"data: a\ndata: b\ndata: c\n\n"
        assert encode_event({"t": "x\ny"}, _default) == b'data: {"t":"x\\ny"}\n\n'
        assert encode_event(b"raw\nbytes", _default) == b"data: raw\ndata: bytes\n\n"
        assert encode_event("", _default) == b"data: \n\n"

    def test_a_chunk_is_utf8_text_bytes_as_is_or_a_json_line(self):
        assert encode_chunk("é", _default) == "é".encode()
        assert encode_chunk(b"\x00\xff", _default) == b"\x00\xff"
        assert encode_chunk([1, "a"], _default) == b'[1,"a"]\n'


MIXED = """
    class PythonPredictor:
        def __init__(self, config):
            pass

        def predict(self, payload):
            yield "one"
            yield {"token": "two"}
            yield b"three"
            yield "four\\nfive"
"""


class TestFormats:
    def test_sse_when_the_request_accepts_it(self, serve):
        server = serve(MIXED)
        response = server.post({}, headers={"Accept": "text/event-stream"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.text == ('data: one\n\ndata: {"token":"two"}\n\ndata: three\n\n'
                                 "data: four\ndata: five\n\n")

    def test_chunked_otherwise_typed_by_the_first_item(self, serve):
        server = serve(MIXED)
        response = server.post({})
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == 'one{"token":"two"}\nthreefour\nfive'

    def test_json_items_are_json_lines(self, serve):
        server = serve("""
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    return iter([{"i": i} for i in range(3)])
        """)
        response = server.post({})
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line) for line in response.text.splitlines()] == [{"i": 0}, {"i": 1}, {"i": 2}]

    def test_event_stream_makes_sse_whatever_the_accept_and_async_generators_stream(self, serve):
        server = serve("""
            import asyncio
            from cortex_runtime import EventStream

            class PythonPredictor:
                def __init__(self, config):
                    pass

                async def predict(self, payload):
                    async def tokens():
                        for word in payload["text"].split():
                            await asyncio.sleep(0)
                            yield word
                    return EventStream(tokens())
        """)
        response = server.post({"text": "a b c"}, headers={"Accept": "application/json"})
        assert response.headers["content-type"] == "text/event-stream"
        assert response.text == "data: a\n\ndata: b\n\ndata: c\n\n"

    def test_a_str_or_a_list_is_one_prediction_not_a_stream(self, serve):
        server = serve("""
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    return payload
        """)
        assert server.post(["a", "b"], headers={"Accept": "text/event-stream"}).json() == ["a", "b"]
        response = server.client.post("/", content="ab", headers={"Content-Type": "text/plain",
                                                                 "Accept": "text/event-stream"})
        assert (response.headers["content-type"], response.text) == ("text/plain; charset=utf-8", "ab")

    def test_an_empty_stream_is_an_empty_200(self, serve):
        server = serve("""
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    return iter(())
        """)
        response = server.post({}, headers={"Accept": "text/event-stream"})
        assert (response.status_code, response.text) == (200, "")


FAILS = """
    from cortex_runtime import UserError

    class PythonPredictor:
        def __init__(self, config):
            pass

        def predict(self, payload):
            if payload["at"] == 0:
                raise {"user": UserError("no such prompt"), "bug": RuntimeError("password=hunter2")}[payload["kind"]]
            yield "first"
            raise {"user": UserError("too long"), "bug": RuntimeError("password=hunter2")}[payload["kind"]]
"""


class TestErrors:
    def test_before_the_first_item_the_status_says_it(self, serve):
        server = serve(FAILS)
        response = server.post({"at": 0, "kind": "user"}, headers={"Accept": "text/event-stream"})
        assert (response.status_code, response.text) == (400, "no such prompt")
        response = server.post({"at": 0, "kind": "bug"})
        assert (response.status_code, response.text) == (500, "internal server error")
        assert response.headers["x-request-id"]

    def test_after_it_an_event_stream_ends_with_an_error_event_without_the_exception_text(self, serve):
        server = serve(FAILS)
        response = server.post({"at": 1, "kind": "bug"}, headers={"Accept": "text/event-stream"})
        assert response.status_code == 200
        assert response.text == "data: first\n\nevent: error\ndata: internal server error\n\n"
        response = server.post({"at": 1, "kind": "user"}, headers={"Accept": "text/event-stream"})
        assert response.text.endswith("event: error\ndata: too long\n\n")

    def test_after_it_a_chunked_stream_is_cut_so_that_the_client_sees_it_incomplete(self, serve):
        server = serve(FAILS)
        with pytest.raises(httpx.RemoteProtocolError):
            server.post({"at": 1, "kind": "bug"})
        assert server.post({"at": 0, "kind": "user"}).status_code == 400  # and the server serves on

    def test_an_item_that_is_not_json_fails_the_stream_with_a_message_in_the_log(self, serve, caplog):
        server = serve("""
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    yield "ok"
                    yield object()
        """)
        response = server.post({}, headers={"Accept": "text/event-stream"})
        assert response.text == "data: ok\n\nevent: error\ndata: internal server error\n\n"
        assert "cannot be sent as JSON" in caplog.text


class TestBatchingAndPostPredict:
    def test_a_generator_predict_with_batching_is_refused_at_load(self, serve):
        from cortex_runtime.errors import PredictorLoadError

        server = serve(MIXED, settings(server_side_batching={"max_batch_size": 2, "batch_interval_seconds": 0.01}),
                       load=False)
        with pytest.raises(PredictorLoadError, match="generator.*server_side_batching"):
            server.load()

    def test_a_batched_predict_that_returns_streams_fails_its_callers_with_the_reason(self, serve, caplog):
        server = serve("""
            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    return [iter(["a"]) for _ in payload]
        """, settings(server_side_batching={"max_batch_size": 1, "batch_interval_seconds": 0.01}))
        response = server.post({})
        assert response.status_code == 500
        assert response.text == "internal server error"
        assert "with server_side_batching, predict cannot stream" in caplog.text

    def test_post_predict_gets_the_list_of_items_once_the_stream_has_ended(self, serve, hooks):
        import threading

        hooks.done = threading.Event()
        server = serve("""
            import cortex_test_hooks

            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    yield "a"
                    yield {"b": 1}

                def post_predict(self, response, payload):
                    cortex_test_hooks.current.got = (response, payload)
                    cortex_test_hooks.current.done.set()
        """)
        assert server.post({"p": 1}).text == 'a{"b":1}\n'
        assert hooks.done.wait(WAIT)
        assert hooks.got == (["a", {"b": 1}], {"p": 1})


# -- a real runtime process: incremental delivery, and a client that leaves -------------------------------

BARRIER_GENERATOR = """
    import os
    import time

    class PythonPredictor:
        def __init__(self, config):
            self.dir = config["dir"]

        def predict(self, payload):
            def tokens():
                try:
                    yield "first"
                    while not os.path.exists(os.path.join(self.dir, "release")):
                        time.sleep(0.01)
                    yield "second"
                    yield "third"
                finally:
                    open(os.path.join(self.dir, "closed"), "w").close()
            if payload.get("plain"):
                return "plain"
            return tokens()
"""

ASYNC_BARRIER_GENERATOR = """
    import asyncio
    import os

    class PythonPredictor:
        def __init__(self, config):
            self.dir = config["dir"]

        async def predict(self, payload):
            if payload.get("plain"):
                return "plain"
            if payload.get("hang"):
                open(os.path.join(self.dir, "started"), "w").close()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    open(os.path.join(self.dir, "cancelled"), "w").close()
                    raise
            return self.tokens()

        async def tokens(self):
            try:
                yield "first"
                await asyncio.Event().wait()  # nothing sets it: only a cancellation ends this wait
            except asyncio.CancelledError:
                open(os.path.join(self.dir, "cancelled"), "w").close()
                raise
            finally:
                open(os.path.join(self.dir, "closed"), "w").close()
"""


@pytest.fixture
def marks(tmp_path) -> Path:
    directory = tmp_path / "marks"
    directory.mkdir()
    return directory


class TestOnARealRuntime:
    def test_the_first_item_arrives_before_the_second_is_produced_and_the_rest_follows(self, run_runtime, marks):
        runtime = run_runtime(BARRIER_GENERATOR, settings(config={"dir": str(marks)}))
        url = runtime.wait_ready()
        with httpx.stream("POST", url, json={}, headers={"Accept": "text/event-stream"}, timeout=WAIT) as response:
            lines = (line.rstrip("\n") for line in response.iter_lines())
            assert next(lines) == "data: first"
            assert not (marks / "release").exists()  # the second item cannot exist yet
            (marks / "release").touch()
            assert [line for line in lines if line] == ["data: second", "data: third"]
        wait_until(lambda: (marks / "closed").exists(), "the generator's finally")

    def test_a_client_that_leaves_closes_the_generator_and_frees_the_only_thread(self, run_runtime, marks):
        runtime = run_runtime(BARRIER_GENERATOR, settings(config={"dir": str(marks)}, threads_per_process=1))
        url = runtime.wait_ready()
        client = RawStream(url)
        client.read_until(b"data: first\n\n")
        client.close()
        # The thread is in next(), waiting for the barrier: a thread cannot be interrupted, so the generator is
        # closed as soon as that call returns, and its item dropped.
        (marks / "release").touch()
        wait_until(lambda: (marks / "closed").exists(), "the generator's finally after the client left")
        response = httpx.post(url, json={"plain": True}, timeout=WAIT)  # one thread: free again
        assert response.text == "plain"
        assert "the client went away" in runtime.log

    def test_a_client_that_leaves_cancels_an_async_generator_where_it_awaits(self, run_runtime, marks):
        runtime = run_runtime(ASYNC_BARRIER_GENERATOR, settings(config={"dir": str(marks)}))
        url = runtime.wait_ready()
        client = RawStream(url)
        client.read_until(b"data: first\n\n")
        client.close()
        wait_until(lambda: (marks / "closed").exists(), "the async generator's finally")
        assert (marks / "cancelled").exists()
        assert httpx.post(url, json={"plain": True}, timeout=WAIT).text == "plain"

    def test_a_client_that_leaves_cancels_an_async_predict_that_has_not_returned(self, run_runtime, marks):
        runtime = run_runtime(ASYNC_BARRIER_GENERATOR, settings(config={"dir": str(marks)}))
        url = runtime.wait_ready()
        client = RawStream(url, body=b'{"hang": true}')
        wait_until(lambda: (marks / "started").exists(), "the async predict to start")
        client.close()
        wait_until(lambda: (marks / "cancelled").exists(), "the async predict's cancellation")
        assert httpx.post(url, json={"plain": True}, timeout=WAIT).text == "plain"


# -- the watchdog: silence between items, not a stream's length, makes a stuck thread -----------------------

class TestWatchdog:
    def test_each_item_of_a_sync_iterator_is_one_call_in_the_predict_threads(self):
        import asyncio
        import threading

        from cortex_runtime.streaming import _END, ItemSource
        from cortex_runtime.threads import PredictThreads

        threads = PredictThreads(1)
        seen = []

        def tokens():
            for i in range(3):
                seen.append((threading.current_thread().name, threads.busy_since[0] is not None))
                yield i

        async def drain():
            source = ItemSource(tokens(), threads, "test-api")
            items = []
            while True:
                item = await source.next()
                # between two items the thread is free: the watchdog's clock starts again at each item
                assert threads.busy_since == [None]
                if item is _END:
                    return items
                items.append(item)

        try:
            assert asyncio.run(drain()) == [0, 1, 2]
        finally:
            threads.shutdown()
        assert seen == [("cortex-predict-0", True)] * 3

    def test_a_stream_longer_than_the_request_timeout_that_keeps_yielding_is_not_stuck(self, run_runtime):
        # GIVEN a request timeout of 0.5 s and a stream of 40 items 0.02 s apart (0.8 s in all)
        runtime = run_runtime("""
            import time

            class PythonPredictor:
                def __init__(self, config):
                    pass

                def predict(self, payload):
                    for i in range(40):
                        time.sleep(0.02)
                        yield {"i": i}
        """, settings(), env={"CORTEX_REQUEST_TIMEOUT": "0.5", "CORTEX_STUCK_GRACE": "0.5"})
        url = runtime.wait_ready()
        # WHEN it is read whole THEN every item arrives, and the process never called itself stuck
        response = httpx.post(url, json={}, timeout=WAIT)
        assert len(response.text.splitlines()) == 40
        assert httpx.get(runtime.admin_url + "/healthz", timeout=WAIT).status_code == 200
        assert "not ready" not in runtime.log

    def test_a_generator_silent_between_items_past_the_request_timeout_is_stuck(self, run_runtime, marks):
        runtime = run_runtime(BARRIER_GENERATOR, settings(config={"dir": str(marks)}),
                              env={"CORTEX_REQUEST_TIMEOUT": "0.3", "CORTEX_STUCK_GRACE": "60"})
        url = runtime.wait_ready()
        client = RawStream(url)
        client.read_until(b"data: first\n\n")

        def healthz():
            return httpx.get(runtime.admin_url + "/healthz", timeout=WAIT)

        wait_until(lambda: healthz().status_code == 503, "/healthz to say stuck")
        assert "every predict thread (1) has been in one call for more than 0.3 s" in healthz().json()["detail"]
        (marks / "release").touch()
        client.read_until(b"data: third\n\n")
        wait_until(lambda: healthz().status_code == 200, "/healthz to recover")
        client.close()


# -- examples/token-stream ---------------------------------------------------------------------------------

class TestTokenStreamExample:
    def test_it_streams_its_sample_as_events_or_as_text_and_refuses_a_payload_without_a_prompt(self, run_runtime):
        from harness import EXAMPLES_DIR

        example = EXAMPLES_DIR / "token-stream"
        runtime = run_runtime(example, settings(config={"delay_seconds": 0.001, "max_tokens": 40}))
        url = runtime.wait_ready()
        sample = json.loads((example / "sample.json").read_text())
        events = httpx.post(url, json=sample, headers={"Accept": "text/event-stream"}, timeout=WAIT)
        tokens = [line[len("data: "):] for line in events.text.split("\n") if line.startswith("data: ")]
        assert len(tokens) == sample["max_tokens"] == 12
        text = httpx.post(url, json=sample, timeout=WAIT)
        assert text.headers["content-type"] == "text/plain; charset=utf-8"
        assert text.text == "".join(tokens) == "reads the model writes the prompt and writes it . each token "
        refused = httpx.post(url, json={"text": "hi"}, headers={"Accept": "text/event-stream"}, timeout=WAIT)
        assert refused.status_code == 400
        assert '"prompt" string' in refused.text


class TestDrain:
    def test_a_stream_waiting_for_its_next_item_at_the_drain_deadline_ends_with_an_error_event(self, run_runtime, marks):
        import signal

        runtime = run_runtime(BARRIER_GENERATOR, settings(config={"dir": str(marks)}),
                              env={"CORTEX_DRAIN_TIMEOUT": "0.5"})
        url = runtime.wait_ready()
        client = RawStream(url)
        client.read_until(b"data: first\n\n")
        runtime.proc.send_signal(signal.SIGTERM)
        # THEN the event that says why, then the stream's last chunk (the end of a whole response)
        received = client.read_until(b"\r\n0\r\n\r\n")
        assert (b"event: error\ndata: the API is shutting down and this request did not finish before the drain "
                b"deadline\n\n\r\n0\r\n\r\n") in received
        assert runtime.wait_until_exited(WAIT) == 0
        client.close()
