"""A request's body → ``payload``, within the runtime's limits, parsed once, its bytes released.

By the request's media type (Cortex v0.30's rules):

- ``application/json``: the parsed JSON. Invalid JSON, invalid UTF-8 and nesting deeper than Python's
  recursion limit allow (about 900 levels) are 400s, answered ``{"error": ...}`` (errors.InvalidJSONError);
  other ``*+json`` types are "anything else", as in Cortex;
- ``text/plain``: a ``str``, decoded with the ``charset`` parameter (default UTF-8: ``latin-1``,
  ``utf-16``… as Python's codecs name them); a body that is not text in that charset, or an unknown
  charset, is a 400;
- ``multipart/form-data`` and ``application/x-www-form-urlencoded``: Starlette's ``FormData`` (values
  are ``str``, or ``UploadFile`` for a multipart part with a file name). A malformed body is a 400;
  so are more than ``MAX_FORM_FIELDS`` fields or ``MAX_FORM_FILES`` files, a field (not a file) over
  ``MAX_FORM_FIELD_BYTES`` and a part's headers over ``MAX_PART_HEADER_BYTES``;
- anything else: the raw ``bytes``.

The body is read as it arrives and counted: one over ``max_body_bytes`` is refused (413) as soon as
it passes the limit, and before anything is read when its ``Content-Length`` says so. Memory: the
body is held once (no list of chunks joined into a second copy), decoded text replaces it before
parsing, and neither is kept once the payload exists: a request costs its payload plus at most about
one copy of its body while it is parsed (bench/python-predictor/memory.py).

Multipart bodies are parsed here rather than by Starlette's ``request.form()``: python-multipart
0.0.5 (the version the runtime is pinned to, Debian bookworm's) has an exponential regular expression
in its ``Content-Type``/``Content-Disposition`` parser (CVE-2024-24762: a 40-character header holds
the event loop for minutes) and logs a warning per byte after the closing boundary; Starlette 0.26
writes each piece of a file through a thread (minutes of CPU for a few MiB of CR/LF-laden data) and
grows fields by bytes concatenation. Its byte-level state machine is still used; header values are
parsed by ``parse_options`` (linear time), and large chunks are parsed off the event loop.
"""

import asyncio
import codecs
import json
import logging
from tempfile import SpooledTemporaryFile
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple, Union

from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import ClientDisconnect

from .errors import BodyTooLargeError, InvalidJSONError, InvalidPayloadError

logger = logging.getLogger("cortex_runtime")

JSON_TYPES = ("application/json",)
TEXT_TYPES = ("text/plain",)
MULTIPART_TYPE = "multipart/form-data"
URLENCODED_TYPE = "application/x-www-form-urlencoded"
FORM_TYPES = (MULTIPART_TYPE, URLENCODED_TYPE)

#: Starlette's own limits for request.form(), kept.
MAX_FORM_FIELDS = 1000
MAX_FORM_FILES = 1000
#: A form field that is not a file is held in memory as text (newer Starlettes cap it at 1 MiB too).
MAX_FORM_FIELD_BYTES = 1024 * 1024
#: The headers of one multipart part, together (h11 caps the request's own head at 16 KiB).
MAX_PART_HEADER_BYTES = 16 * 1024
#: RFC 2046: a multipart boundary has 1 to 70 characters.
MAX_BOUNDARY_LENGTH = 70
#: A file part stays in memory up to this size, then goes to a temporary file (Starlette's value).
FILE_SPOOL_BYTES = 1024 * 1024
#: Chunks at least this large are parsed (multipart) in a thread, so that the event loop stays free.
THREAD_PARSE_BYTES = 64 * 1024

Body = Union[bytes, bytearray]


def parse_options(value: str) -> Tuple[str, Dict[str, str]]:
    """``'text/plain; charset="utf-8"'`` → ``('text/plain', {'charset': 'utf-8'})``, in linear time.

    The value before the first ``;`` is lower-cased; parameter names too; quoted values are unquoted
    (``\\x`` → ``x``). Parameters without ``=`` are skipped; the first of a repeated name wins.
    """
    head, sep, rest = value.partition(";")
    params: Dict[str, str] = {}
    if not sep:
        return head.strip().lower(), params
    for part in _split_params(rest):
        name, eq, raw = part.partition("=")
        name = name.strip().lower()
        if not eq or not name or name in params:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = _unquote(raw[1:-1])
        params[name] = raw
    return head.strip().lower(), params


def _split_params(text: str) -> List[str]:
    if '"' not in text:
        return text.split(";")
    parts: List[str] = []
    start = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unquote(text: str) -> str:
    if "\\" not in text:
        return text
    out: List[str] = []
    escaped = False
    for ch in text:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def body_headers(raw_headers: List[Tuple[bytes, bytes]]) -> Tuple[str, Optional[int]]:
    """The ``Content-Type`` ("" when absent) and ``Content-Length`` (None: chunked) of an ASGI scope's headers,
    in one pass (the HTTP server has checked that a Content-Length is a number)."""
    content_type = ""
    declared: Optional[int] = None
    for name, value in raw_headers:
        if name == b"content-type":
            content_type = content_type or value.decode("latin-1")  # the first, as Starlette's headers.get
        elif name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                pass
    return content_type, declared


class RequestBody:
    """The request's body as the server hands it over, counted against ``limit``.

    ``declared``: its Content-Length, None when chunked. ``complete``: the whole body has been read, so that
    the connection can carry another request.
    """

    def __init__(self, receive: Any, declared: Optional[int], limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.declared = declared
        self.received = 0
        self.complete = declared == 0

    def check_declared(self) -> None:
        if self.declared is not None and self.declared > self.limit:
            raise BodyTooLargeError(self._too_large(f"its Content-Length is {self.declared}"))

    def _too_large(self, what: str) -> str:
        return f"the request body is larger than the {self.limit} bytes this API takes ({what})"

    async def _next(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        self.received += len(chunk)
        if self.received > self.limit:
            raise BodyTooLargeError(self._too_large(f"{self.received} bytes received so far"))
        if not message.get("more_body", False):
            self.complete = True
        return chunk

    async def chunks(self) -> AsyncIterator[bytes]:
        """Each piece as it arrives; BodyTooLargeError as soon as the total passes the limit."""
        self.check_declared()
        while not self.complete:
            chunk = await self._next()
            if chunk:
                yield chunk

    async def read(self) -> Body:
        """The whole body, held once: a single piece as it came, or the pieces appended to one buffer."""
        self.check_declared()
        if self.complete:
            return b""
        first = await self._next()
        if self.complete:  # the usual case: the whole body in one piece
            return first
        body = bytearray(first)
        while not self.complete:
            body += await self._next()
        return body


async def read_payload(body: RequestBody, content_type: str) -> Any:
    """The payload for a body of ``content_type`` (the raw header value); errors are InvalidPayloadError (400)."""
    media_type, params = parse_options(content_type) if content_type else ("", {})
    if media_type in JSON_TYPES:
        return parse_json(await body.read(), media_type)
    if media_type in TEXT_TYPES:
        return decode_text(await body.read(), params.get("charset") or "utf-8")
    if media_type == MULTIPART_TYPE:
        return await read_multipart(body, params)
    if media_type == URLENCODED_TYPE:
        return await read_urlencoded(body)
    raw = await body.read()
    return raw if isinstance(raw, bytes) else bytes(raw)


def parse_json(raw: Body, media_type: str) -> Any:
    # One text copy replaces the bytes (json.loads(bytes) would decode them too, and the caller would
    # still hold the bytes while the objects are built).
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError as e:
        raise InvalidJSONError(f"the body is not valid JSON: it is not UTF-8 text ({e}); content-type was {media_type}") from e
    del raw
    try:
        return json.loads(text)
    except RecursionError as e:
        raise InvalidJSONError(
            "the body is not valid JSON for this API: it is nested deeper than the runtime parses (about 900 levels)"
        ) from e
    except ValueError as e:
        raise InvalidJSONError(f"the body is not valid JSON ({e}); content-type was {media_type}") from e


def decode_text(raw: Body, charset: str) -> str:
    try:
        codec = codecs.lookup(charset)
    except LookupError as e:
        raise InvalidPayloadError(f"the body's charset {charset!r} is not one this server knows") from e
    try:
        return raw.decode(codec.name)
    except UnicodeDecodeError as e:
        raise InvalidPayloadError(f"the body is not valid {charset} text ({e})") from e
    except LookupError as e:  # a codec that is not a text encoding (rot13, zlib)
        raise InvalidPayloadError(f"the body's charset {charset!r} is not a text encoding") from e


async def read_urlencoded(body: RequestBody) -> FormData:
    from starlette.formparsers import FormParser  # python-multipart is imported only for forms

    async def stream() -> AsyncIterator[bytes]:
        separators = 0
        async for chunk in body.chunks():
            # Each field costs Python objects: count them as they arrive rather than after the parse.
            separators += chunk.count(b"&") + chunk.count(b";")
            if separators >= MAX_FORM_FIELDS:
                raise InvalidPayloadError(f"the form has more than {MAX_FORM_FIELDS} fields")
            yield chunk
        yield b""  # FormParser's signal to finish

    parser = FormParser(Headers(raw=[(b"content-type", URLENCODED_TYPE.encode())]), stream())
    try:
        return await parser.parse()
    except (InvalidPayloadError, BodyTooLargeError, ClientDisconnect):
        raise
    except Exception as e:  # python-multipart's parse errors, or Starlette's own limits
        raise InvalidPayloadError(f"the body is not a valid urlencoded form: {_describe(e)}") from e


async def read_multipart(body: RequestBody, params: Dict[str, str]) -> FormData:
    boundary = params.get("boundary", "")
    if not 0 < len(boundary) <= MAX_BOUNDARY_LENGTH or any(c in boundary for c in "\r\n"):
        raise InvalidPayloadError(
            f"multipart/form-data needs a boundary parameter of 1 to {MAX_BOUNDARY_LENGTH} characters, "
            f"got {boundary[:80]!r}"
        )
    reader = _MultipartReader(boundary.encode("latin-1", "replace"), params.get("charset") or "utf-8")
    loop = asyncio.get_running_loop()
    try:
        async for chunk in body.chunks():
            if reader.ended:
                continue  # what follows the closing boundary is read, not parsed
            if len(chunk) >= THREAD_PARSE_BYTES:
                await loop.run_in_executor(None, reader.write, chunk)
            else:
                reader.write(chunk)
        if not reader.ended:
            raise InvalidPayloadError("the multipart body ends before its closing boundary")
    except BaseException:
        reader.close()
        raise
    return FormData(reader.items)


def _describe(e: BaseException) -> str:
    text = getattr(e, "detail", None) or getattr(e, "message", None) or str(e)
    return f"{text}" if text else type(e).__name__


class _MultipartReader:
    """python-multipart's state machine with callbacks of our own (see the module's docstring)."""

    def __init__(self, boundary: bytes, charset: str) -> None:
        import multipart  # python-multipart: imported only for forms

        self.charset = charset
        self.items: List[Tuple[str, Union[str, UploadFile]]] = []
        self.ended = False
        self._fields = 0
        self._files = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._header_bytes = 0
        self._headers: List[Tuple[bytes, bytes]] = []
        self._name = ""
        self._data = bytearray()
        self._upload: Optional[UploadFile] = None
        self._open: List[Any] = []
        self._parser = multipart.MultipartParser(boundary, callbacks={
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_piece,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        })

    def write(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except InvalidPayloadError:
            raise
        except ValueError as e:  # python-multipart's MultipartParseError
            raise InvalidPayloadError(f"the body is not valid multipart/form-data: {_describe(e)}") from e

    def close(self) -> None:
        for file in self._open:
            file.close()

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode(self.charset)
        except (UnicodeDecodeError, LookupError):  # as Starlette does: never an error for a name or value
            return raw.decode("latin-1")

    def _part_begin(self) -> None:
        self._headers = []
        self._header_bytes = 0
        self._upload = None
        self._data = bytearray()

    def _count_header(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise InvalidPayloadError(f"a multipart part's headers are larger than {MAX_PART_HEADER_BYTES} bytes")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_name += data[start:end]

    def _header_value_piece(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers.append((bytes(self._header_name).lower(), bytes(self._header_value)))
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        disposition = next((v for k, v in self._headers if k == b"content-disposition"), None)
        if disposition is None:
            raise InvalidPayloadError("a multipart part has no Content-Disposition header")
        _, options = parse_options(disposition.decode("latin-1"))
        if "name" not in options:
            raise InvalidPayloadError('a multipart part\'s Content-Disposition has no "name"')
        self._name = self._decode(options["name"].encode("latin-1"))
        if "filename" in options:
            self._files += 1
            if self._files > MAX_FORM_FILES:
                raise InvalidPayloadError(f"the form has more than {MAX_FORM_FILES} files")
            file = SpooledTemporaryFile(max_size=FILE_SPOOL_BYTES)
            self._open.append(file)
            filename = self._decode(options["filename"].encode("latin-1"))
            self._upload = UploadFile(file=file, size=0, filename=filename, headers=Headers(raw=self._headers))  # type: ignore[arg-type]
        else:
            self._fields += 1
            if self._fields > MAX_FORM_FIELDS:
                raise InvalidPayloadError(f"the form has more than {MAX_FORM_FIELDS} fields")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._upload is not None:
            self._upload.file.write(data[start:end])
            self._upload.size = (self._upload.size or 0) + (end - start)
            return
        if len(self._data) + (end - start) > MAX_FORM_FIELD_BYTES:
            raise InvalidPayloadError(
                f"form field {self._name!r} is larger than {MAX_FORM_FIELD_BYTES} bytes (send it as a file: with a filename)"
            )
        self._data += data[start:end]

    def _part_end(self) -> None:
        if self._upload is not None:
            self._upload.file.seek(0)
            self.items.append((self._name, self._upload))
            self._upload = None
        else:
            self.items.append((self._name, self._decode(bytes(self._data))))
            self._data = bytearray()

    def _end(self) -> None:
        self.ended = True
