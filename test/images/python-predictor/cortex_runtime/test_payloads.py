"""payloads.py: the pieces that need no server (the server's behaviour is in test_hostile_requests.py): option
parsing, and the payload by media type."""

import pytest

from cortex_runtime.payloads import parse_options


class TestParseOptions:
    @pytest.mark.parametrize("value, expected", [
        ("application/json", ("application/json", {})),
        (" Text/Plain ; Charset=UTF-8", ("text/plain", {"charset": "UTF-8"})),
        ('multipart/form-data; boundary="a;b=c"; charset=latin-1', ("multipart/form-data", {"boundary": "a;b=c", "charset": "latin-1"})),
        ('form-data; name="fi\\"le"; filename="C:\\\\x.txt"', ("form-data", {"name": 'fi"le', "filename": "C:\\x.txt"})),
        ("text/plain; flag; charset=a; charset=b", ("text/plain", {"charset": "a"})),
        ("text/plain;", ("text/plain", {})),
    ])
    def test_media_type_and_parameters(self, value, expected):
        assert parse_options(value) == expected

    def test_what_made_python_multiparts_regex_backtrack_is_read_in_one_pass(self):
        # CVE-2024-24762's shape: with python-multipart 0.0.5 this value would not be parsed in a lifetime.
        value = 'application/x-www-form-urlencoded; !="' + "\\" * 5000
        media_type, params = parse_options(value)
        assert media_type == "application/x-www-form-urlencoded" and list(params) == ["!"]


def _read(body: bytes, content_type: str):
    """read_payload over a body that arrives in one piece."""
    import asyncio

    from cortex_runtime.payloads import RequestBody, read_payload

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return asyncio.run(read_payload(RequestBody(receive, len(body), 1 << 20), content_type))


class TestReadPayload:
    """The payload by media type, as Cortex v0.30 parsed it (its serve.py, and predictors.md "API requests")."""

    @pytest.mark.parametrize("content_type, body, expected", [
        ("application/json", b'{"a": [1]}', {"a": [1]}),
        ("Application/JSON; charset=utf-8", b'"x"', "x"),
        ("text/plain", "héllo".encode(), "héllo"),
        ("text/plain; charset=latin-1", "café".encode("latin-1"), "café"),
        ('text/plain; charset="ISO-8859-1"', b"\xe9", "é"),
        ("text/plain; charset=utf-16", "naïve".encode("utf-16"), "naïve"),
        ("application/octet-stream", b"\x00\x01", b"\x00\x01"),
        ("application/vnd.api+json", b'{"a": 1}', b'{"a": 1}'),  # Cortex parsed application/json only
        ("image/png", b"\x89PNG", b"\x89PNG"),
        ("", b"raw", b"raw"),
    ])
    def test_by_media_type(self, content_type, body, expected):
        payload = _read(body, content_type)
        assert (type(payload), payload) == (type(expected), expected)

    def test_forms_are_starlettes_form_data(self):
        from starlette.datastructures import FormData

        payload = _read(b"key=value&key=other", "application/x-www-form-urlencoded")
        assert isinstance(payload, FormData) and payload.getlist("key") == ["value", "other"]

    def test_invalid_json_is_the_error_answered_in_json(self):
        from cortex_runtime.errors import InvalidJSONError, InvalidPayloadError

        with pytest.raises(InvalidJSONError, match="the body is not valid JSON"):
            _read(b"{not json", "application/json")
        with pytest.raises(InvalidPayloadError) as raised:
            _read(b"\xff", "text/plain")
        assert not isinstance(raised.value, InvalidJSONError)
