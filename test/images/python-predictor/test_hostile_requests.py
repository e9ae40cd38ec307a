"""What a client that is not a friend sends the runtime's POST /, on raw sockets: bodies over the limit,
deep JSON, malformed forms and headers, text that is not text, and errors that must not leak.

After each case the server still answers an ordinary request. Servers run on 127.0.0.1, port 0; the
ones that a bug could wedge (a regular expression that never ends) run as child processes, which the
fixture kills.
"""

import gc
import logging
import socket
import threading
import tracemalloc
from typing import Dict, Optional, Tuple
from urllib.parse import urlparse

import httpx
import pytest
from harness import WAIT, settings, wait_until

LIMIT = 1024 * 1024
#: A raw exchange that gets no answer in this time has none coming (every answer here is immediate).
ANSWER_WAIT = 3.0

SIZES = """
    import sys

    class PythonPredictor:
        def __init__(self, config):
            pass

        def predict(self, payload, query_params):
            # The test's hooks when served in the test's process (absent in a child process).
            hooks = getattr(sys.modules.get("cortex_test_hooks"), "current", None)
            if hooks is not None and hasattr(hooks, "called"):
                hooks.called.append(type(payload).__name__)
            if query_params.get("raise"):
                raise RuntimeError("cannot reach the database: postgres://app:db password=hunter2@db:5432/prod")
            if hasattr(payload, "multi_items"):
                return {"type": "FormData", "items": [[k, v if isinstance(v, str) else "file:" + v.filename]
                                                      for k, v in payload.multi_items()]}
            return {"type": type(payload).__name__, "size": len(payload) if hasattr(payload, "__len__") else None,
                    "head": payload[:16] if isinstance(payload, str) else None}
"""


def address(url: str) -> Tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname, parsed.port


def read_response(sock: socket.socket) -> Tuple[int, Dict[str, str], bytes]:
    """One response off ``sock`` (Content-Length framed, or until the server closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before a whole response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while len(body) < length or length < 0:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def exchange(url: str, request: bytes, timeout: float = ANSWER_WAIT) -> Tuple[int, Dict[str, str], bytes]:
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock)


def post_request(body: bytes, content_type: str, extra: str = "") -> bytes:
    return (f"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n").encode("latin-1") + body


def assert_alive(url: str) -> None:
    response = httpx.post(url, json=[1, 2, 3], timeout=WAIT)
    assert (response.status_code, response.json()["size"]) == (200, 3)


@pytest.fixture
def limited(serve, monkeypatch):
    """The server with a body limit of LIMIT bytes (CORTEX_MAX_BODY_SIZE)."""
    monkeypatch.setenv("CORTEX_MAX_BODY_SIZE", "1Mi")
    return serve(SIZES)


class TestBodyLimit:
    def test_a_declared_length_over_the_limit_is_a_413_before_any_of_the_body_is_sent(self, limited, hooks):
        hooks.called = []
        # WHEN only the head is sent THEN the answer comes without waiting for the body
        status, headers, body = exchange(limited.url, post_request(b"", "application/json").replace(
            b"Content-Length: 0", b"Content-Length: %d" % (LIMIT + 1)))
        assert status == 413
        assert headers["connection"] == "close"
        assert f"larger than the {LIMIT} bytes this API takes" in body.decode()
        assert hooks.called == []
        assert_alive(limited.url)

    def test_expect_100_continue_over_the_limit_gets_the_413_not_a_continue(self, limited):
        request = (b"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/octet-stream\r\n"
                   b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (64 * LIMIT))
        status, _, _ = exchange(limited.url, request)
        assert status == 413

    def test_a_chunked_body_is_refused_once_it_passes_the_limit_and_no_more_is_read(self, limited, hooks):
        hooks.called = []
        sock = socket.create_connection(address(limited.url), timeout=ANSWER_WAIT)
        received = bytearray()
        closed = threading.Event()

        def reader() -> None:
            try:
                while chunk := sock.recv(65536):
                    received.extend(chunk)
            except OSError:
                pass
            closed.set()

        piece = 256 * 1024
        chunk = b"%x\r\n" % piece + b"x" * piece + b"\r\n"
        sent = 0
        try:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/octet-stream\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            threading.Thread(target=reader, daemon=True).start()
            # WHEN up to 64 times the limit is offered, and never the last chunk
            try:
                while sent < 64 * LIMIT and not closed.is_set():
                    sock.sendall(chunk)
                    sent += piece
            except OSError:  # the server closed the connection: what it did not read is refused
                pass
            assert closed.wait(ANSWER_WAIT), f"no answer after {sent} bytes sent"
        finally:
            sock.close()
        # THEN a 413, and the server stopped reading long before the client stopped offering
        assert bytes(received).startswith(b"HTTP/1.1 413 "), bytes(received[:200])
        assert sent < 32 * LIMIT
        assert hooks.called == []
        assert_alive(limited.url)

    def test_a_body_of_exactly_the_limit_is_read_whole(self, limited):
        status, _, body = exchange(limited.url, post_request(b"b" * LIMIT, "application/octet-stream"))
        assert (status, httpx.Response(200, content=body).json()["size"]) == (200, LIMIT)

    def test_a_chunked_body_under_the_limit_is_read_whole(self, limited):
        request = (b"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + b"".join(b"5\r\nhello\r\n" for _ in range(1000)) + b"0\r\n\r\n")
        status, _, body = exchange(limited.url, request)
        assert (status, httpx.Response(200, content=body).json()["size"]) == (200, 5000)

    def test_the_default_limit_is_the_proxys_128_mib(self, serve):
        server = serve(SIZES)
        status, _, _ = exchange(server.url, b"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n"
                                            b"Content-Length: %d\r\n\r\n" % (128 * 1024 * 1024 + 1))
        assert status == 413

    def test_a_client_that_leaves_mid_body_is_no_error_in_the_log(self, serve, caplog):
        server = serve(SIZES)
        with caplog.at_level(logging.INFO, logger="cortex_runtime"):
            with socket.create_connection(address(server.url), timeout=ANSWER_WAIT) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n[1, 2,")
            wait_until(lambda: any("went away" in r.getMessage() for r in caplog.records), "the log line")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert_alive(server.url)


class TestMemory:
    """The body's bytes are not kept beside the payload while predict runs, nor after the response."""

    SOURCE = """
        import tracemalloc
        import cortex_test_hooks

        class PythonPredictor:
            def __init__(self, config):
                pass

            def predict(self, payload):
                cortex_test_hooks.current.during = tracemalloc.get_traced_memory()[0]
                return len(payload)
    """

    @pytest.mark.parametrize("content_type, body", [
        ("application/json", b'"' + b"j" * (8 * LIMIT) + b'"'),
        ("text/plain", b"t" * (8 * LIMIT)),
    ], ids=["json", "text"])
    def test_only_the_payload_is_held_while_predict_runs_and_nothing_after(self, serve, hooks, content_type, body):
        server = serve(self.SOURCE)
        size = len(body)
        request = post_request(body, content_type)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            status, _, _ = exchange(server.url, request, timeout=WAIT)
            assert status == 200
            during = hooks.during - before
            # What a request left behind is freed when its response has gone (no later request needed).
            wait_until(lambda: tracemalloc.get_traced_memory()[0] - before < 0.5 * size, "the payload to be freed",
                       timeout=ANSWER_WAIT)
            after = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # THEN the payload (one text of `size` characters), not the body's bytes too
        assert during < 1.5 * size, f"{during / size:.2f} × the body while predict ran"
        assert after < 0.5 * size, f"{after / size:.2f} × the body kept after the response"


class TestJson:
    def test_json_nested_100k_levels_is_a_400(self, serve):
        server = serve(SIZES)
        for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
            status, _, response = exchange(server.url, post_request(body, "application/json"))
            assert status == 400
            assert "nested deeper than the runtime parses" in httpx.Response(400, content=response).json()["error"]
        assert_alive(server.url)

    def test_json_nested_500_levels_is_accepted(self, serve):
        server = serve(SIZES)
        status, _, _ = exchange(server.url, post_request(b"[" * 500 + b"]" * 500, "application/json"))
        assert status == 200

    @pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b'{"a": "\xc3\x28"}', b"{not json", b""])
    def test_json_that_is_not_utf8_or_not_json_is_a_400(self, serve, body):
        server = serve(SIZES)
        status, _, response = exchange(server.url, post_request(body, "application/json"))
        assert status == 400
        assert "the body is not valid JSON" in httpx.Response(400, content=response).json()["error"]


class TestText:
    def test_text_plain_is_a_str_in_its_charset_utf8_by_default(self, serve):
        server = serve(SIZES)
        _, _, body = exchange(server.url, post_request("héllo wörld".encode(), "text/plain"))
        assert httpx.Response(200, content=body).json() == {"type": "str", "size": 11, "head": "héllo wörld"}
        _, _, body = exchange(server.url, post_request("héllo".encode("latin-1"), 'text/plain; charset="ISO-8859-1"'))
        assert httpx.Response(200, content=body).json()["head"] == "héllo"

    @pytest.mark.parametrize("content_type, body, message", [
        ("text/plain", b"caf\xe9", "the body is not valid utf-8 text"),
        ("text/plain; charset=klingon", b"abc", "the body's charset 'klingon' is not one this server knows"),
        ("text/plain; charset=rot13", b"abc", "the body's charset 'rot13' is not a text encoding"),
    ])
    def test_text_that_is_not_text_in_its_charset_is_a_400(self, serve, content_type, body, message):
        server = serve(SIZES)
        status, _, response = exchange(server.url, post_request(body, content_type))
        assert status == 400
        assert message in response.decode()


MULTIPART = "multipart/form-data; boundary=xyz"


class TestForms:
    @pytest.mark.parametrize("content_type, body, message", [
        (MULTIPART, b"garbage without a boundary", "not valid multipart/form-data"),
        (MULTIPART, b"--xyz\r\nbad header line\r\n\r\nv\r\n--xyz--\r\n", "not valid multipart/form-data"),
        (MULTIPART, b"--xyz\r\n: no name\r\n\r\nv\r\n--xyz--\r\n", "not valid multipart/form-data"),
        (MULTIPART, b"--xyzGARBAGE\r\n", "not valid multipart/form-data"),
        (MULTIPART, b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nv', "ends before its closing boundary"),
        (MULTIPART, b"--xyz\r\nContent-Type: text/plain\r\n\r\nv\r\n--xyz--\r\n", "no Content-Disposition"),
        (MULTIPART, b"--xyz\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xyz--\r\n", 'has no "name"'),
        ("multipart/form-data", b"--xyz--\r\n", "needs a boundary parameter"),
        ("multipart/form-data; boundary=" + "b" * 71, b"--xyz--\r\n", "needs a boundary parameter"),
        (MULTIPART, b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\nX: " + b"h" * 20000 + b"\r\n\r\nv\r\n--xyz--\r\n",
         "headers are larger than 16384 bytes"),
        (MULTIPART, b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"v" * (1024 * 1024 + 1) + b"\r\n--xyz--\r\n",
         "form field 'a' is larger than 1048576 bytes"),
        ("application/x-www-form-urlencoded", b"&" * 4096, "more than 1000 fields"),
        ("application/x-www-form-urlencoded", b"a=1&" * 1001, "more than 1000 fields"),
    ])
    def test_a_malformed_form_is_a_400(self, serve, hooks, content_type, body, message):
        hooks.called = []
        server = serve(SIZES)
        status, _, response = exchange(server.url, post_request(body, content_type))
        assert status == 400, response[:300]
        assert message in response.decode()
        assert hooks.called == []
        assert_alive(server.url)

    def test_a_valid_multipart_form_with_a_field_and_a_file(self, serve):
        server = serve(SIZES)
        response = httpx.post(server.url, data={"text": "hello"}, files={"upload": ("a.bin", b"\r\n--x" * 100_000)},
                              timeout=WAIT)
        assert response.json() == {"type": "FormData", "items": [["text", "hello"], ["upload", "file:a.bin"]]}

    def test_trailing_bytes_after_the_closing_boundary_do_not_flood_the_log(self, serve, caplog):
        server = serve(SIZES)
        body = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--xyz--\r\n' + b"g" * 65536
        with caplog.at_level(logging.DEBUG):
            status, _, response = exchange(server.url, post_request(body, MULTIPART))
        assert (status, httpx.Response(200, content=response).json()["items"]) == (200, [["a", "v"]])
        assert len([r for r in caplog.records if r.name.startswith("multipart")]) == 0

    # python-multipart 0.0.5's header regex backtracks exponentially on these (CVE-2024-24762): each
    # added backslash doubles the time; 60 of them hold the event loop for longer than anyone waits.
    BACKTRACKING = '; !="' + "\\" * 60

    def test_a_content_type_that_makes_the_header_regex_backtrack_is_answered_at_once(self, run_runtime, tmp_path):
        runtime = run_runtime(SIZES, settings())
        url = runtime.wait_ready()
        for content_type in ("application/x-www-form-urlencoded" + self.BACKTRACKING, MULTIPART + self.BACKTRACKING):
            status, _, _ = exchange(url, post_request(b"a=1", content_type))
            assert status in (200, 400)
        assert_alive(url)

    def test_a_part_header_that_makes_the_header_regex_backtrack_is_answered_at_once(self, run_runtime):
        runtime = run_runtime(SIZES, settings())
        url = runtime.wait_ready()
        body = (b'--xyz\r\nContent-Disposition: form-data; name="a"' + self.BACKTRACKING.encode()
                + b"\r\n\r\nv\r\n--xyz--\r\n")
        status, _, response = exchange(url, post_request(body, MULTIPART))
        assert (status, httpx.Response(200, content=response).json()["items"]) == (200, [["a", "v"]])
        assert_alive(url)


class TestErrors:
    def test_an_exception_text_is_not_sent_but_logged_with_the_request_id(self, serve, caplog):
        server = serve(SIZES)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            status, headers, body = exchange(server.url, post_request(b"{}", "application/json").replace(
                b"POST / ", b"POST /?raise=1 "))
        assert status == 500
        assert b"hunter2" not in body and b"postgres" not in body and b"RuntimeError" not in body
        request_id = headers["x-request-id"]
        assert body == b"internal server error"
        logged = [r for r in caplog.records if request_id in r.getMessage()]
        assert len(logged) == 1 and "db password=hunter2" in logged[0].getMessage() and logged[0].exc_info

    def test_an_incoming_request_id_is_kept_in_the_response_and_the_log(self, serve, caplog):
        server = serve(SIZES)
        with caplog.at_level(logging.ERROR, logger="cortex_runtime"):
            response = httpx.post(server.url, params={"raise": "1"}, json={},
                                  headers={"X-Request-Id": "7f3c9a2e-1b2d-4c5e-8f90-123456789abc"}, timeout=WAIT)
        assert response.headers["x-request-id"] == "7f3c9a2e-1b2d-4c5e-8f90-123456789abc"
        assert any("7f3c9a2e-1b2d-4c5e-8f90-123456789abc" in r.getMessage() for r in caplog.records)

    @pytest.mark.parametrize("incoming", ["x" * 129, "has spaces in it", '"quoted"', "-leading-dash"])
    def test_an_incoming_request_id_that_does_not_look_like_one_is_replaced(self, serve, incoming):
        server = serve(SIZES)
        response = httpx.post(server.url, content=b"{not json", timeout=WAIT,
                              headers={"X-Request-Id": incoming, "Content-Type": "application/json"})
        assert response.status_code == 400  # an error response: it carries the id
        assert response.headers["x-request-id"] != incoming and len(response.headers["x-request-id"]) == 36


class TestDebug:
    def test_debug_true_is_ignored_when_the_api_does_not_allow_it(self, serve, caplog):
        server = serve(SIZES)  # allow_debug absent: as in the cluster by default
        with caplog.at_level(logging.DEBUG):
            for _ in range(2):
                response = httpx.post(server.url, params={"debug": "true"}, json={"secret": "s3cr3t"}, timeout=WAIT)
                assert response.status_code == 200
        assert not [r for r in caplog.records if r.name == "cortex_runtime.debug"]
        assert not [r for r in caplog.records if "s3cr3t" in r.getMessage()]
        assert len([r for r in caplog.records if "?debug=true is ignored" in r.getMessage()]) == 1

    def test_debug_logs_of_a_large_payload_are_cut(self, serve, caplog):
        server = serve(SIZES, settings(allow_debug=True))
        with caplog.at_level(logging.INFO, logger="cortex_runtime.debug"):
            httpx.post(server.url, params={"debug": "true"}, json=list(range(100_000)), timeout=WAIT)
        payload_line = next(r.getMessage() for r in caplog.records if "debug: payload" in r.getMessage())
        assert payload_line.endswith("... (cut)") and len(payload_line) < 10_100
