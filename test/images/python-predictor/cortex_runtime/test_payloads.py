"""payloads.py: the pieces that need no server (the server's behaviour is in test_hostile_requests.py)."""

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
