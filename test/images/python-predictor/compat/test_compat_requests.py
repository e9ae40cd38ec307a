"""Compatibility with Cortex v0.30's request and response interface (issue 14, items 2, 3 and 8).

2. ``payload`` by the request's Content-Type, as docs/workloads/realtime/predictors.md ("API requests") lists it
   and pkg/cortex/serve/cortex_internal/serve/serve.py parsed it: ``application/json`` → the parsed JSON;
   ``text/plain`` → a ``str`` in the request's charset (UTF-8 by default); ``multipart/form-data`` and
   ``application/x-www-form-urlencoded`` → Starlette's ``FormData`` (``UploadFile`` for files); anything else
   (``application/*+json`` too) → the raw ``bytes``.
3. ``headers`` and ``query_params`` are Starlette's ``Headers`` (case-insensitive) and ``QueryParams``
   (multi-valued), as serve.py passed ``request.headers`` and ``request.query_params``.
8. Responses ("API responses"): a JSON-serializable object → JSON, a ``str`` → ``text/plain``, ``bytes`` →
   ``application/octet-stream``, a Starlette ``Response`` as it is. Errors are text: an HTTPException's detail
   with its status, anything else ``500 internal server error``; an invalid JSON body is a 400
   ``{"error": ...}``. ``POST``/``GET`` on ``/predict`` (Cortex's route) as on ``/``; ``GET`` says Cortex's
   message.

The predictors under predictors/req-*/ use the interface as Cortex's docs show it.
"""

import io
import pickle
from pathlib import Path

import pytest

PREDICTORS = Path(__file__).resolve().parent / "predictors"


@pytest.fixture
def serve_predictor(serve):
    """serve_predictor("req-...") → the runtime (in process, on loopback) serving that predictor."""
    return lambda name: serve((PREDICTORS / name / "predictor.py").read_text())


class TestPayloadTypes:
    def test_each_documented_content_type_reaches_predict_as_cortex_parsed_it(self, serve_predictor):
        server = serve_predictor("req-payloads")
        post = server.client.post
        pickled = pickle.dumps({"key": "value"})

        # JSON data
        response = post("/", content=b'{"key": "value"}', headers={"Content-Type": "application/json"})
        assert response.json() == {"type": "dict", "read": "value"}
        # text data: UTF-8 unless the charset says otherwise
        response = post("/", content=b"hello world", headers={"Content-Type": "text/plain"})
        assert response.json() == {"type": "str", "read": "hello world"}
        response = post("/", content="café crème".encode("latin-1"), headers={"Content-Type": "text/plain; charset=latin-1"})
        assert response.json() == {"type": "str", "read": "café crème"}
        response = post("/", content="naïve".encode("utf-16"), headers={"Content-Type": "Text/Plain; Charset=UTF-16"})
        assert response.json() == {"type": "str", "read": "naïve"}
        # binary data
        response = post("/", content=pickled, headers={"Content-Type": "application/octet-stream"})
        assert response.json() == {"type": "bytes", "read": {"key": "value"}}
        # form data (files), as curl -F sends it
        files = {"text": ("text.txt", io.BytesIO(b"hello file"), "text/plain"),
                 "object": ("object.pkl", io.BytesIO(pickled), "application/octet-stream")}
        response = post("/", files=files)
        assert response.json() == {"type": "FormData", "read": {"text": "hello file", "object": {"key": "value"}}}
        # form data (text), as curl -d sends it
        response = post("/", content=b"key=value", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.json() == {"type": "FormData", "read": {"key": "value"}}
        # every other Content-Type is bytes: a JSON-suffixed type too (Cortex parsed only application/json)
        response = post("/", content=b'{"key": "value"}', headers={"Content-Type": "application/vnd.api+json"})
        assert response.json() == {"type": "bytes", "read": '{"key": "value"}'}
        response = post("/", content=b"raw")  # no Content-Type at all
        assert response.json() == {"type": "bytes", "read": "raw"}


class TestHeadersAndQueryParams:
    def test_headers_are_case_insensitive_and_query_params_multi_valued(self, serve_predictor):
        server = serve_predictor("req-headers")
        response = server.client.post("/?model=iris&tag=a&tag=b", json={}, headers={"x-api-key": "k1"})
        assert (response.status_code, response.json()) == (
            200, {"content_type": "application/json", "api_key": "k1", "model": "iris", "tags": ["a", "b"]})


class TestResponses:
    def test_each_documented_response_type_is_sent_as_cortex_sent_it(self, serve_predictor):
        server = serve_predictor("req-responses")

        def answer(kind):
            response = server.post({"return": kind})
            return response.status_code, response.headers["content-type"], response.content

        assert answer("json") == (200, "application/json", b'{"label":"class 1","scores":[0.9,0.1]}')
        assert answer("string") == (200, "text/plain; charset=utf-8", b"class 1")
        assert answer("bytes") == (200, "application/octet-stream", b"\x00\x00\x00\x00")
        assert answer("response") == (201, "text/html; charset=utf-8", b"<b>class 1</b>")

    def test_errors_are_text_and_an_invalid_json_body_is_a_json_400(self, serve_predictor):
        server = serve_predictor("req-responses")

        response = server.post({"return": "http-error"})
        assert (response.status_code, response.text) == (422, "petal_length must be a number")
        assert response.headers["content-type"].startswith("text/plain")

        response = server.post({"return": "exception"})
        assert (response.status_code, response.text) == (500, "internal server error")

        response = server.client.post("/", content=b"{not json", headers={"Content-Type": "application/json"})
        assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
        assert list(response.json()) == ["error"]


class TestRoutes:
    def test_predictions_are_served_on_cortexs_route_too(self, serve_predictor):
        server = serve_predictor("req-responses")
        for path in ("/", "/predict", "/predict/"):
            response = server.client.post(path, json={"return": "json"})
            assert (path, response.status_code, response.json()["label"]) == (path, 200, "class 1")

    def test_get_says_cortexs_message(self, serve_predictor):
        server = serve_predictor("req-responses")
        for path in ("/", "/predict"):
            assert server.client.get(path).json()["message"] == (
                "make a prediction by sending a post request to this endpoint with a json payload")
