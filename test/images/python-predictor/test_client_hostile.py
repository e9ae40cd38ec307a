"""cortex.client() against a hostile or broken gateway and API server: names that are not API names, answers that
drip, stop short, lie about their type or length, never end, redirect elsewhere; server-sent events split at awkward
places. One raw HTTP server on loopback for the module, scripted by the request's path."""

import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import cortex
from cortex import kubernetes
from cortex.kubernetes import SERVICE_ACCOUNT_DIR_ENV

client_module = sys.modules["cortex.client"]  # cortex.client is the function
JSON = "Content-Type: application/json\r\n"


class RawServer:
    """Answers each request with the bytes its path's script sends; records what came (path, headers)."""

    def __init__(self, context=None):
        self.requests = []
        self.scripts = {}
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", 0))
            while len(rest) < length:
                rest += conn.recv(65536)
            self.requests.append((path, headers))
            script = self.scripts.get(path.split("?")[0])
            if script is None:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                script(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.listener.close()


def send(text):
    return lambda conn: conn.sendall(text.encode("latin-1") if isinstance(text, str) else text)


@pytest.fixture(scope="module")
def server():
    s = RawServer()
    yield s
    s.stop()


@pytest.fixture
def api(server):
    server.requests.clear()
    return cortex.client(gateway_url=f"http://127.0.0.1:{server.port}", api_key="the-key")


class TestNames:
    @pytest.mark.parametrize("name", [
        "../x", "a/../../b", "x?y=1", "x#f", "a b", "x\r\nHost: evil", "%2e%2e", "//evil.example/x", "http://evil/x",
        "", "a" * 64, "caf\u00e9", "Iris", "-x", "x-", "1x", "/a/../b", "/./x", "/a//b", "/x?y=1", "/x#f", "/x y",
        "/x\r\nHost: evil", "/%2e%2e/x", "/caf\u00e9", None, 3,
    ])
    def test_a_name_that_is_neither_an_api_name_nor_an_endpoint_path_is_refused_before_any_request(self, api, server, name):
        with pytest.raises(cortex.CortexError, match="is not an API name|is not an endpoint path|must be a str"):
            api.call(name, {})
        assert server.requests == []

    def test_api_names_and_endpoint_paths_go_as_they_are(self, api, server):
        for name in ["iris", "a" * 63, "sum-2", "/v1/iris", "/", "/v1.2/a_b-c/"]:
            with pytest.raises(cortex.NotFound):
                api.call(name, {})
        assert [path for path, _ in server.requests] == ["/iris", "/" + "a" * 63, "/sum-2", "/v1/iris", "/", "/v1.2/a_b-c/"]


def test_a_gateway_url_with_a_password_is_refused_without_quoting_it(server):
    with pytest.raises(cortex.CortexError, match="must not hold a user or password") as raised:
        cortex.client(gateway_url=f"http://user:hunter2@127.0.0.1:{server.port}").call("iris", {})
    assert "hunter2" not in str(raised.value)


class TestAnswers:
    def test_a_body_that_drips_is_bounded_by_the_timeout(self, api, server):
        stop = threading.Event()

        def drip(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):  # 20 s in all, a byte every 20 ms: never silent for the 1 s timeout
                if stop.is_set():
                    return
                conn.sendall(b" ")
                time.sleep(0.02)

        server.scripts["/drip"] = drip
        try:
            with pytest.raises(cortex.CortexError, match="did not arrive within the timeout"):
                api.call("drip", {}, timeout=1)
        finally:
            stop.set()

    def test_a_body_shorter_than_its_content_length_is_a_cortex_error(self, api, server):
        server.scripts["/short"] = send(f"HTTP/1.1 200 OK\r\n{JSON}Content-Length: 100\r\n\r\n{{}}")
        with pytest.raises(cortex.CortexError, match="short: the answer broke off after 2 bytes"):
            api.call("short", {})

    def test_a_chunk_size_of_terabytes_is_a_cortex_error_not_a_memory_error(self, api, server):
        server.scripts["/chunks"] = send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nabc")
        with pytest.raises(cortex.CortexError, match="broke off"):
            api.call("chunks", {})

    def test_an_answer_larger_than_the_limit_is_a_cortex_error(self, api, server, monkeypatch):
        monkeypatch.setattr(client_module, "MAX_ANSWER_SIZE", 1 << 20, raising=False)
        server.scripts["/huge"] = send(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n" + b"x" * (2 << 20))
        with pytest.raises(cortex.CortexError, match="larger than 1048576 bytes"):
            api.call("huge", {})

    def test_json_that_does_not_parse_is_an_api_error_with_the_body(self, api, server):
        server.scripts["/badjson"] = send(f"HTTP/1.1 200 OK\r\n{JSON}Content-Length: 5\r\n\r\n{{nope")
        with pytest.raises(cortex.APIError, match="not the application/json it says it is") as raised:
            api.call("badjson", {})
        assert raised.value.status == 200 and raised.value.body == b"{nope"

    def test_invalid_utf8_in_text_is_replaced_and_http_1_0_reads_to_the_close(self, api, server):
        server.scripts["/text"] = send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nab\xffcd")
        assert api.call("text", {}) == "ab\ufffdcd"

    def test_a_redirect_is_not_followed_and_the_key_goes_nowhere_else(self, api, server):
        other = RawServer()
        try:
            server.scripts["/moved"] = send(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{other.port}/x\r\n"
                                            "Content-Length: 0\r\n\r\n")
            with pytest.raises(cortex.APIError) as raised:
                api.call("moved", {})
            assert raised.value.status == 307 and raised.value.headers["location"].endswith("/x")
            assert other.requests == []
            assert server.requests[0][1]["x-api-key"] == "the-key"
        finally:
            other.stop()

    def test_an_interim_1xx_answer_is_not_taken_for_the_answer(self, api, server):
        server.scripts["/hints"] = send(f"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                                        f"HTTP/1.1 200 OK\r\n{JSON}Content-Length: 7\r\n\r\n{{\"a\":1}}")
        assert api.call("hints", {}) == {"a": 1}


class FakeResponse:
    status = 200
    length = None

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def read1(self, _):
        return self.chunks.pop(0) if self.chunks else b""


class FakeConnection:
    def close(self):
        pass


def events(chunks):
    return list(cortex.Client()._events("x", FakeConnection(), FakeResponse(chunks)))


class TestEvents:
    def test_a_character_split_between_two_reads_arrives_whole(self):
        data = "data: caf\u00e9 \u2014 \u00fc\n\n".encode()
        for cut in range(1, len(data)):
            assert [e.data for e in events([data[:cut], data[cut:]])] == ["caf\u00e9 \u2014 \u00fc"]

    def test_crlf_split_between_two_reads_ends_one_line_not_an_event(self):
        assert [e.data for e in events([b"data: a\r", b"\ndata: b\r\n\r\n"])] == ["a\nb"]
        assert [e.data for e in events([b"data: a\r\n\r", b"\ndata: b\r\n\r\n"])] == ["a", "b"]

    def test_only_newlines_end_lines_data_keeps_line_separators_of_unicode(self):
        data = "data: a\u2028b\u0085c\x0cd\n\n".encode()
        assert [e.data for e in events([data])] == ["a\u2028b\u0085c\x0cd"]

    def test_comments_retry_data_only_lines_and_event_names(self):
        got = events([b": comment\nretry: 10\ndata:\n\nevent: tick\ndata:x\nid: 7\n\n"])
        assert got == [cortex.Event(""), cortex.Event("x", "tick", "7")]

    def test_an_event_that_never_ends_is_bounded(self, monkeypatch):
        monkeypatch.setattr(client_module, "MAX_ANSWER_SIZE", 1 << 20, raising=False)
        with pytest.raises(cortex.CortexError, match="larger than 1048576 bytes"):
            events([b"data: " + b"x" * 65536] * 32)


# -- the Kubernetes API ------------------------------------------------------------------------------------------

DEPLOYMENTS = "/apis/apps/v1/namespaces/apis/deployments"
PODS = "/api/v1/namespaces/apis/pods"
ROUTES = "/apis/networking.istio.io/v1/namespaces/apis/virtualservices"
LABELS = {"cortex.dev/api-name": "iris", "cortex.dev/api-kind": "RealtimeAPI"}


def answer(body, status="200 OK"):
    data = body if isinstance(body, bytes) else __import__("json").dumps(body).encode()
    return send(f"HTTP/1.1 {status}\r\n{JSON}Content-Length: {len(data)}\r\n\r\n".encode() + data)


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def kube_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=ca", cwd=d)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "server.crt", d / "server.key")
    s = RawServer(context)
    s.ca = (d / "ca.crt").read_bytes()
    yield s
    s.stop()


@pytest.fixture
def kube(kube_server, tmp_path, monkeypatch):
    kube_server.requests.clear()
    kube_server.scripts.clear()
    kube_server.scripts.update({PODS: answer({"items": []}), ROUTES: answer({"items": []})})
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_bytes(kube_server.ca)
    (account / "token").write_text("secret-token\n")
    (account / "namespace").write_text("apis")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(kube_server.port))
    monkeypatch.setenv(SERVICE_ACCOUNT_DIR_ENV, str(account))
    kube_server.account = account
    return kube_server


class TestKubernetes:
    def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(self, kube):
        other = RawServer()
        try:
            kube.scripts[DEPLOYMENTS + "/iris"] = send(f"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:{other.port}/x\r\n"
                                                       "Content-Length: 0\r\n\r\n")
            with pytest.raises(cortex.APIError) as raised:
                cortex.client().get_api("iris")
            assert raised.value.status == 301 and other.requests == []
        finally:
            other.stop()

    @pytest.mark.parametrize("body", [
        b"not json", b"[]", b"null", {"items": 3}, {"items": [None]}, {"items": [{"metadata": None}]},
        {"items": [{"metadata": {"name": "iris", "labels": LABELS}, "spec": {"replicas": "2"}, "status": {"readyReplicas": 1}}]},
        {"items": [{"metadata": {"name": "iris", "labels": LABELS}, "status": {"conditions": 5}}]},
        {"items": [{"metadata": {"name": "iris", "labels": LABELS, "managedFields": [{"time": 1}, {"time": "x"}]}}]},
    ])
    def test_objects_of_the_wrong_shape_are_a_cortex_error(self, kube, body):
        kube.scripts[DEPLOYMENTS] = answer(body)
        with pytest.raises(cortex.CortexError) as raised:
            cortex.client().list_apis()
        assert type(raised.value) is cortex.CortexError

    def test_a_pod_list_of_the_wrong_shape_is_a_cortex_error_for_get_api(self, kube):
        kube.scripts[DEPLOYMENTS + "/iris"] = answer({"metadata": {"name": "iris", "labels": LABELS}})
        kube.scripts[PODS] = answer({"items": [{"metadata": {"labels": LABELS}, "status": {"containerStatuses": [7]}}]})
        with pytest.raises(cortex.CortexError, match="cannot read"):
            cortex.client().get_api("iris")

    def test_an_answer_that_drips_is_bounded(self, kube, monkeypatch):
        monkeypatch.setattr(kubernetes, "_TIMEOUT", 1.0)
        stop = threading.Event()

        def drip(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                if stop.is_set():
                    return
                conn.sendall(b" ")
                time.sleep(0.02)

        kube.scripts[DEPLOYMENTS] = drip
        try:
            with pytest.raises(cortex.CortexError, match="no whole answer .* within 1.0 s"):
                cortex.client().list_apis()
        finally:
            stop.set()

    def test_an_answer_larger_than_the_limit_is_a_cortex_error(self, kube, monkeypatch):
        monkeypatch.setattr(kubernetes, "MAX_ANSWER_SIZE", 1 << 20, raising=False)
        kube.scripts[DEPLOYMENTS] = answer({"items": [], "padding": "x" * (2 << 20)})
        with pytest.raises(cortex.CortexError, match="larger than 1048576 bytes"):
            cortex.client().list_apis()

    def test_a_name_that_is_not_an_api_name_is_refused_before_any_request(self, kube):
        for name in ["../x", "a/b", "x,cortex.dev/api-kind", "", "Iris", "a" * 64, None]:
            with pytest.raises(cortex.CortexError, match="is not an API name"):
                cortex.client().get_api(name)
        assert kube.requests == []

    @pytest.mark.parametrize("namespace", ["../x", "apis/../../api/v1/secrets", "a\nb", "", "a b", "APIS", "x" * 64])
    def test_a_namespace_that_is_not_a_namespace_is_refused_before_any_request(self, kube, namespace):
        (kube.account / "namespace").write_text(namespace)
        with pytest.raises(cortex.CortexError, match="does not hold a namespace"):
            cortex.client().list_apis()
        with pytest.raises(cortex.CortexError, match="namespace must be a DNS-1123 label"):
            cortex.client(namespace=namespace).list_apis()
        assert kube.requests == []

    @pytest.mark.parametrize("token", [b"secret\ntoken", b"secret-\xff", b"secret" * (1 << 18), b"secret token", b""],
                             ids=["newline", "not-ascii", "1.5-MiB", "space", "empty"])
    def test_a_token_file_that_holds_no_token_is_refused_without_quoting_it(self, kube, token):
        (kube.account / "token").write_bytes(token)
        with pytest.raises(cortex.CortexError, match="does not hold a bearer token") as raised:
            cortex.client().list_apis()
        assert "secret" not in str(raised.value)
        assert kube.requests == []

    def test_a_token_that_is_a_directory_is_a_cortex_error(self, kube):
        (kube.account / "token").unlink()
        (kube.account / "token").mkdir()
        with pytest.raises(cortex.CortexError, match="cannot read the ServiceAccount token"):
            cortex.client().list_apis()

    @pytest.mark.parametrize("host, port, message", [
        ("a b", None, "cannot reach the Kubernetes API"), ("127.0.0.1/x", None, "cannot reach the Kubernetes API"),
        ("::1", None, r"cannot reach the Kubernetes API at https://\[::1\]"),
        ("127.0.0.1", "abc", "KUBERNETES_SERVICE_PORT must be a port number"),
        ("127.0.0.1", "99999", "KUBERNETES_SERVICE_PORT must be a port number"),
    ])
    def test_a_service_host_or_port_of_garbage_is_a_cortex_error(self, kube, monkeypatch, host, port, message):
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
        if port is not None:
            monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
        with pytest.raises(cortex.CortexError, match=message):
            cortex.client().list_apis()


class TestStreamsThatBreakOff:
    def test_a_stream_shorter_than_its_content_length_is_a_cortex_error_not_a_quiet_end(self, api, server):
        server.scripts["/cut"] = send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nabc")
        with pytest.raises(cortex.CortexError, match="the stream broke off"):
            list(api.call("cut", {}, stream=True))
        server.scripts["/cut-events"] = send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 100\r\n\r\n"
                                             "data: a\n\n")
        with pytest.raises(cortex.CortexError, match="the stream broke off"):
            list(api.call("cut-events", {}, stream=True))
