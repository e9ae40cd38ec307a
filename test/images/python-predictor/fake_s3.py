"""A fake S3 endpoint on loopback: just what the runtime's model loader calls (ListObjectsV2, HeadObject,
GetObject), path-style (``/bucket/key``), over a dict of bucket → key → bytes.

It records every request and whether it was signed (an ``Authorization`` header or a presigned query), and can
play a public bucket that refuses signed requests from strangers (``refuse_signed``) or a private one that
refuses unsigned ones (``refuse_unsigned``). Tests point boto3 at it with ``AWS_ENDPOINT_URL_S3`` and take every
credential source away with ``no_aws_credentials``.
"""

import threading
from dataclasses import dataclass
from email.utils import formatdate
from hashlib import md5
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape


@dataclass
class S3Request:
    method: str
    bucket: str
    key: str
    query: Dict[str, List[str]]
    signed: bool


class FakeS3Server:
    def __init__(self, buckets: Dict[str, Dict[str, bytes]], *, refuse_signed: bool = False,
                 refuse_unsigned: bool = False, page_size: int = 1000) -> None:
        self.buckets = buckets
        self.refuse_signed = refuse_signed
        self.refuse_unsigned = refuse_unsigned
        self.page_size = page_size
        self.requests: List[S3Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeS3Server":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def record(self, request: S3Request) -> None:
        with self._lock:
            self.requests.append(request)

    def signed_requests(self) -> List[S3Request]:
        with self._lock:
            return [r for r in self.requests if r.signed]

    def downloads(self) -> List[str]:
        """``bucket/key`` of each GetObject, in order."""
        with self._lock:
            return [f"{r.bucket}/{r.key}" for r in self.requests if r.method == "GET" and r.key]


def no_aws_credentials(monkeypatch, tmp_path, endpoint_url: str) -> None:
    """No credential source boto3 could find (variables, shared files, IMDS), and S3 at ``endpoint_url``.

    Any request meant for elsewhere goes to a closed loopback port (the proxy variables), never off the machine.
    """
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint_url)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def _handler(fake: FakeS3Server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def _serve(self, body: bool) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            bucket, _, key = unquote(url.path).lstrip("/").partition("/")
            signed = "Authorization" in self.headers or "X-Amz-Signature" in query
            fake.record(S3Request(self.command, bucket, key, query, signed))
            if signed and fake.refuse_signed:
                return self._error(403, "AccessDenied", "this fake refuses signed requests", body)
            if not signed and fake.refuse_unsigned:
                return self._error(403, "AccessDenied", "Access Denied", body)
            objects = fake.buckets.get(bucket)
            if objects is None:
                return self._error(404, "NoSuchBucket", "The specified bucket does not exist", body)
            if not key:
                return self._list(bucket, objects, query, body)
            if key not in objects:
                return self._error(404, "NoSuchKey", "The specified key does not exist.", body)
            data = objects[key]
            self._send(200, data if body else None, "binary/octet-stream", {
                "ETag": '"%s"' % md5(data).hexdigest(),
                "Last-Modified": formatdate(0, usegmt=True),
                "Content-Length": str(len(data)),
            })

        def _list(self, bucket: str, objects: Dict[str, bytes], query: Dict[str, List[str]], body: bool) -> None:
            prefix = query.get("prefix", [""])[0]
            delimiter = query.get("delimiter", [""])[0]
            after = query.get("continuation-token", [""])[0]
            entries = []  # (sort key, xml)
            prefixes = set()
            for key in sorted(objects):
                if not key.startswith(prefix):
                    continue
                rest = key[len(prefix):]
                if delimiter and delimiter in rest:
                    prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
                else:
                    entries.append((key, "<Contents><Key>%s</Key><Size>%d</Size></Contents>" % (escape(key), len(objects[key]))))
            entries += [(p, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % escape(p)) for p in prefixes]
            entries = sorted(e for e in entries if e[0] > after)
            page, truncated = entries[:fake.page_size], len(entries) > fake.page_size
            xml = ('<?xml version="1.0" encoding="UTF-8"?>'
                   '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                   f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
                   f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
                   + (f"<NextContinuationToken>{escape(page[-1][0])}</NextContinuationToken>" if truncated else "")
                   + "".join(x for _, x in page) + "</ListBucketResult>")
            self._send(200, xml.encode() if body else None, "application/xml")

        def _error(self, status: int, code: str, message: str, body: bool) -> None:
            xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
            self._send(status, xml.encode() if body else None, "application/xml")

        def _send(self, status: int, data: Optional[bytes], content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if "Content-Length" not in (headers or {}):
                self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            if data:
                self.wfile.write(data)

    return Handler



def fake_boto3(client):
    """A stand-in for the boto3 module, as S3Storage uses it: a session that has credentials and gives ``client``."""
    import types

    session = types.SimpleNamespace(get_credentials=lambda: "credentials", client=lambda service, **options: client)
    return types.SimpleNamespace(Session=lambda: session)
