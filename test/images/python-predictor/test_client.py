"""The client predictors import (``import cortex; cortex.client()``, images/python-predictor/cortex): calls to the real
runtime on loopback (JSON, bytes, text, an error status, the API key header, a stream received event by event),
and get_api / list_apis against a fake Kubernetes API server serving TLS with a CA made here and requiring the
ServiceAccount's bearer token."""

import http.server
import json
import os
import ssl
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

import cortex
from cortex.kubernetes import SERVICE_ACCOUNT_DIR_ENV
from harness import WAIT

ECHO = """
    import cortex_test_hooks
    from cortex_runtime.errors import UserError

    class PythonPredictor:
        def __init__(self, config):
            pass

        def predict(self, payload, headers):
            if payload == {"refuse": True}:
                raise UserError("this payload is refused")
            if isinstance(payload, dict) and payload.get("stream"):
                return self.stream(payload["stream"])
            kind = type(payload).__name__
            shown = payload.decode("latin-1") if isinstance(payload, bytes) else payload
            return {"type": kind, "payload": shown, "api_key": headers.get("x-api-key")}

        def stream(self, how):
            hooks = cortex_test_hooks.current
            yield {"token": "first"}
            # the test lets the second item go only once the client has the first: no buffering anywhere
            assert hooks.first_received.wait(10), "the client never saw the first event"
            yield "second\\nline"
            if how == "fail":
                raise RuntimeError("the model broke")
            yield {"token": "last"}
"""


@pytest.fixture
def runtime(serve, hooks):
    hooks.first_received = threading.Event()
    server = serve(ECHO)
    # the runtime answers on /predict as well as /: `call("predict")` posts to <gateway>/predict
    return server, cortex.client(gateway_url=server.url)


class TestCall:
    def test_a_dict_goes_as_json_and_the_json_answer_comes_back_parsed(self, runtime):
        _, client = runtime
        assert client.call("predict", {"text": "hi"}) == {"type": "dict", "payload": {"text": "hi"}, "api_key": None}

    def test_bytes_go_as_they_are_and_a_str_as_text(self, runtime):
        _, client = runtime
        assert client.call("predict", b"\x00\xff")["type"] == "bytes"
        assert client.call("predict", b"\x00\xff")["payload"] == "\x00\xff"
        assert client.call("predict", "plain text") == {"type": "str", "payload": "plain text", "api_key": None}

    def test_an_error_status_raises_with_the_status_and_the_body(self, runtime):
        _, client = runtime
        with pytest.raises(cortex.APIError) as raised:
            client.call("predict", {"refuse": True})
        assert raised.value.status == 400
        assert "this payload is refused" in raised.value.text
        assert "400" in str(raised.value) and "predict" in str(raised.value)

    def test_an_unknown_path_is_not_found(self, runtime):
        _, client = runtime
        with pytest.raises(cortex.NotFound) as raised:
            client.call("no-such-api", {})
        assert raised.value.status == 404

    def test_the_api_key_goes_in_x_api_key_from_the_argument_or_the_environment(self, runtime, monkeypatch):
        server, _ = runtime
        assert cortex.client(gateway_url=server.url, api_key="k-123").call("predict", {})["api_key"] == "k-123"
        monkeypatch.setenv("CORTEX_API_KEY", "k-env")
        assert cortex.client(gateway_url=server.url).call("predict", {})["api_key"] == "k-env"
        # a header of the call wins over the client's
        assert cortex.client(gateway_url=server.url).call("predict", {}, headers={"X-Api-Key": "k-call"})["api_key"] == "k-call"

    def test_the_gateway_url_comes_from_the_environment(self, runtime, monkeypatch):
        server, _ = runtime
        monkeypatch.setenv("CORTEX_GATEWAY_URL", server.url + "/")
        assert cortex.client().call("predict", [1, 2])["payload"] == [1, 2]
        monkeypatch.delenv("CORTEX_GATEWAY_URL")
        with pytest.raises(cortex.CortexError, match="CORTEX_GATEWAY_URL is not set"):
            cortex.client().call("predict", {})

    def test_an_unreachable_gateway_is_a_cortex_error(self):
        with pytest.raises(cortex.CortexError, match="cannot reach http://127.0.0.1:9/x"):
            cortex.client(gateway_url="http://127.0.0.1:9").call("x", {}, timeout=WAIT)


class TestStream:
    def test_events_arrive_one_at_a_time_while_the_predictor_waits(self, runtime, hooks):
        _, client = runtime
        events = client.call("predict", {"stream": "ok"}, stream=True, timeout=WAIT)
        first = next(events)
        assert first.json() == {"token": "first"} and first.event == "message"
        # the predictor waits for this before it yields the rest: a client that waited for more than the first
        # event (a buffer, the whole body) would end in the predictor's timeout and a StreamError instead
        hooks.first_received.set()
        assert [e.data for e in events] == ["second\nline", '{"token":"last"}']

    def test_an_error_event_mid_stream_raises_after_the_events_before_it(self, runtime, hooks):
        _, client = runtime
        events = client.call("predict", {"stream": "fail"}, stream=True, timeout=WAIT)
        assert next(events).json() == {"token": "first"}
        hooks.first_received.set()
        assert next(events).data == "second\nline"
        with pytest.raises(cortex.StreamError) as raised:
            next(events)
        assert raised.value.status == 200

    def test_without_event_stream_in_accept_the_chunks_come_as_bytes(self, runtime, hooks):
        _, client = runtime
        chunks = client.call("predict", {"stream": "ok"}, stream=True, headers={"Accept": "*/*"}, timeout=WAIT)
        received = next(chunks)
        assert received == b'{"token":"first"}\n'
        hooks.first_received.set()
        assert b"".join(chunks) == b'second\nline{"token":"last"}\n'

    def test_a_stream_of_an_api_that_does_not_stream_is_its_body(self, runtime):
        _, client = runtime
        chunks = client.call("predict", {"a": 1}, stream=True, timeout=WAIT)
        assert json.loads(b"".join(chunks))["payload"] == {"a": 1}


# -- get_api and list_apis: a fake Kubernetes API server with TLS and a bearer token ------------------------

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 it signs (openssl, as Debian ships it)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=fake-cluster-ca", cwd=d)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                               "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    return d


def _deployment(name, replicas=2, ready=2, updated=2):
    return {"metadata": {"name": name, "generation": 1, "labels": {"cortex.dev/api-name": name, "cortex.dev/api-kind": "RealtimeAPI"},
                         "creationTimestamp": "2024-05-01T09:00:00Z",
                         "managedFields": [{"time": "2024-05-01T10:00:00Z"}, {"time": "2024-05-01T11:00:00Z", "subresource": "scale"}]},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready, "updatedReplicas": updated}}


def _pod(api, waiting=None):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {"metadata": {"name": f"{api}-abc", "labels": {"cortex.dev/api-name": api, "cortex.dev/api-kind": "RealtimeAPI"}},
            "status": {"phase": "Running", "containerStatuses": [{"name": "api", "restartCount": 4, "state": state}]}}


def _virtual_service(api, path):
    return {"metadata": {"name": api, "labels": {"cortex.dev/api-name": api, "cortex.dev/api-kind": "RealtimeAPI"}},
            "spec": {"http": [{"match": [{"uri": {"exact": path}}]}]}}


class FakeKubernetes:
    """Answers the reads of get_api and list_apis in namespace ``apis``, to requests bearing ``self.token`` only."""

    def __init__(self, certificates: Path):
        self.token = "token-1"
        self.requests = []
        self.deployments = [_deployment("summarizer"), _deployment("iris", replicas=1, ready=0, updated=1)]
        self.pods = [_pod("summarizer"), _pod("iris", waiting="CrashLoopBackOff")]
        self.routes = [_virtual_service("summarizer", "/summarizer"), _virtual_service("iris", "/v1/iris")]
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path, _, query = self.path.partition("?")
                fake.requests.append((path, query, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self.answer(401, {"kind": "Status", "message": "Unauthorized", "reason": "Unauthorized"})
                base = "/apis/apps/v1/namespaces/apis/deployments"
                lists = {base: fake.deployments, "/api/v1/namespaces/apis/pods": fake.pods,
                         "/apis/networking.istio.io/v1/namespaces/apis/virtualservices": fake.routes}
                if path in lists:
                    selector = urllib.parse.parse_qs(query).get("labelSelector", [""])[0]
                    wanted = dict(term.split("=") for term in selector.split(",") if term)
                    items = [o for o in lists[path] if all(o["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
                    return self.answer(200, {"kind": "List", "items": items})
                for d in fake.deployments:
                    if path == f"{base}/{d['metadata']['name']}":
                        return self.answer(200, d)
                if path.startswith("/apis/apps/v1/namespaces/forbidden/"):
                    return self.answer(403, {"kind": "Status", "message": 'deployments.apps "x" is forbidden', "reason": "Forbidden"})
                self.answer(404, {"kind": "Status", "message": "not found", "reason": "NotFound"})

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates / "server.crt", certificates / "server.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kube(certificates, tmp_path, monkeypatch):
    fake = FakeKubernetes(certificates)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_bytes((certificates / "ca.crt").read_bytes())
    (account / "token").write_text(fake.token + "\n")
    (account / "namespace").write_text("apis")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))
    monkeypatch.setenv(SERVICE_ACCOUNT_DIR_ENV, str(account))
    monkeypatch.setenv("CORTEX_GATEWAY_URL", "http://apis-gateway.istio-system.svc.cluster.local")
    fake.account = account
    yield fake
    fake.stop()


class TestGetApi:
    def test_status_and_endpoint_of_a_live_api_with_the_token_over_tls(self, kube):
        api = cortex.client().get_api("summarizer")
        assert api == {
            "metadata": {"name": "summarizer", "kind": "RealtimeAPI", "namespace": "apis", "last_updated": "2024-05-01T10:00:00Z"},
            "status": {"status_code": "live", "reason": None, "requested": 2, "ready": 2, "up_to_date": 2},
            "endpoint": "http://apis-gateway.istio-system.svc.cluster.local/summarizer",
        }
        paths = [r[0] for r in kube.requests]
        assert paths == ["/apis/apps/v1/namespaces/apis/deployments/summarizer", "/api/v1/namespaces/apis/pods",
                         "/apis/networking.istio.io/v1/namespaces/apis/virtualservices"]
        assert all(auth == "Bearer token-1" for _, _, auth in kube.requests)
        assert "labelSelector=cortex.dev%2Fapi-name%3Dsummarizer" in kube.requests[1][1]

    def test_an_api_in_error_says_why_and_its_own_endpoint_path(self, kube):
        api = cortex.client().get_api("iris")
        assert api["status"]["status_code"] == "error"
        assert api["status"]["reason"] == 'crash looping: container "api" restarted 4 times'
        assert api["endpoint"] == "http://apis-gateway.istio-system.svc.cluster.local/v1/iris"

    def test_list_apis_lists_every_api_by_name(self, kube):
        apis = cortex.client().list_apis()
        assert [(a["metadata"]["name"], a["status"]["status_code"]) for a in apis] == [("iris", "error"), ("summarizer", "live")]

    def test_the_token_is_read_again_at_each_request_as_the_kubelet_rotates_it(self, kube):
        client = cortex.client()
        client.get_api("summarizer")
        kube.token = "token-2"
        (kube.account / "token").write_text("token-2")
        assert client.get_api("summarizer")["status"]["status_code"] == "live"
        assert kube.requests[-1][2] == "Bearer token-2"

    def test_an_unknown_api_is_not_found(self, kube):
        with pytest.raises(cortex.NotFound, match="no API named 'nope' in namespace 'apis'"):
            cortex.client().get_api("nope")

    def test_a_refused_read_names_read_apis(self, kube):
        with pytest.raises(cortex.APIError, match="read_apis: true") as raised:
            cortex.client(namespace="forbidden").get_api("x")
        assert raised.value.status == 403
        kube.token = "another"
        with pytest.raises(cortex.APIError, match="401 Unauthorized; .*read_apis") as raised:
            cortex.client().get_api("summarizer")

    def test_a_server_its_ca_does_not_sign_is_refused(self, kube, tmp_path, certificates):
        # the server's own certificate as the CA: not a CA, so verification fails
        (kube.account / "ca.crt").write_bytes((certificates / "server.crt").read_bytes())
        with pytest.raises(cortex.CortexError, match="cannot reach the Kubernetes API at https://127.0.0.1"):
            cortex.client().get_api("summarizer")
        assert kube.requests == []

    def test_outside_a_pod_or_without_a_token_it_says_so(self, kube, monkeypatch):
        os.remove(kube.account / "token")
        with pytest.raises(cortex.CortexError, match="no ServiceAccount token in .*read_apis: true"):
            cortex.client().get_api("summarizer")
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
        with pytest.raises(cortex.CortexError, match="not in a Kubernetes pod"):
            cortex.client().get_api("summarizer")


def _waiting_pod(reason, message):
    return {"metadata": {"name": "p"}, "status": {"phase": "Pending", "containerStatuses": [
        {"name": "api", "state": {"waiting": {"reason": reason, "message": message}}}]}}


def test_get_api_reads_a_container_that_cannot_start_as_cortex_get_does():
    """A missing Secret is an error; the kubelet's passing messages of the same reason are not (lib/private/pod-diagnosis.ts)."""
    from cortex.kubernetes import _pod_problem
    missing = _pod_problem(_waiting_pod("CreateContainerConfigError", 'secret "iris-keys" not found'))
    assert missing == {"kind": "error", "message": 'container "api" cannot start (CreateContainerConfigError)'}
    for passing in ("services have not yet been read at least once, cannot construct envvars", "context deadline exceeded"):
        assert _pod_problem(_waiting_pod("CreateContainerConfigError", passing)) is None
