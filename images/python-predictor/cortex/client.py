"""The client: ``call`` (a prediction from another API, whole or streamed) and ``get_api`` / ``list_apis`` (status and
endpoint, read through the Kubernetes API)."""

import codecs
import http.client
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from . import kubernetes
from ._deadline import Deadline as _Deadline
from .exceptions import APIError, CortexError, NotFound, StreamError

GATEWAY_URL_ENV = "CORTEX_GATEWAY_URL"
API_KEY_ENV = "CORTEX_API_KEY"
#: The header the proxy sidecar reads an API key from.
API_KEY_HEADER = "x-api-key"

_READ_SIZE = 65536
#: The most of an answer ``call`` holds: a whole body, or one event of a stream (a larger one is a CortexError
#: rather than the predictor's memory). The proxy's own limit on a request body.
MAX_ANSWER_SIZE = 128 * 1024 * 1024
#: An API name (a DNS-1035 label, as cortex.yaml requires).
_API_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
#: The characters of an endpoint path (those cortex.yaml allows in ``networking.endpoint``).
_PATH = re.compile(r"/[A-Za-z0-9_.\-/]*")
#: At most this much of an error body is quoted in the exception's message (all of it is in ``.body``).
_QUOTED = 500

Payload = Union[None, bytes, bytearray, str, dict, list]


@dataclass(frozen=True)
class Event:
    """One server-sent event of a streamed response: its ``data`` lines joined by newlines."""

    data: str
    #: The ``event:`` field; ``"message"`` when the server sent none.
    event: str = "message"
    id: Optional[str] = None

    def json(self) -> Any:
        """The data parsed as JSON (the runtime writes each dict or list a predictor yields as one JSON line)."""
        return json.loads(self.data)


def _body_and_type(payload: Payload) -> Tuple[Optional[bytes], Optional[str]]:
    if payload is None:
        return None, None
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload), "application/octet-stream"
    if isinstance(payload, str):
        return payload.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(payload, (dict, list)):
        return json.dumps(payload).encode("utf-8"), "application/json"
    raise TypeError(f"payload must be a dict or a list (sent as JSON), bytes or a str, got {type(payload).__name__}")


def _decode(body: bytes, content_type: str) -> Any:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return json.loads(body)
    if media.startswith("text/"):
        return body.decode("utf-8", "replace")
    return body


def _target(api_name: Any) -> str:
    """The path ``call`` posts to, or a CortexError for a name that is neither an API name nor an endpoint path: a
    name never carries a query, a fragment, an escape, a dot segment or another host into the request."""
    if not isinstance(api_name, str):
        raise CortexError(f"the API name must be a str, got {type(api_name).__name__}")
    if api_name.startswith("/"):
        segments = api_name.split("/")[1:]
        if (_PATH.fullmatch(api_name) and "//" not in api_name
                and not any(segment in (".", "..") for segment in segments)):
            return api_name
        raise CortexError(f"{api_name!r} is not an endpoint path: one that starts with \"/\" may contain only letters, "
                          "digits, \"/\", \"-\", \"_\" and \".\", with no empty, \".\" or \"..\" segment")
    if _API_NAME.fullmatch(api_name):
        return "/" + api_name
    raise CortexError(f"{api_name!r} is not an API name: a DNS-1035 label (at most 63 lower case letters, digits "
                      "and \"-\", starting with a letter and ending with a letter or a digit), or an endpoint path "
                      "starting with \"/\"")


def _parse_event(block: str) -> Optional[Event]:
    data: List[str] = []
    event = "message"
    event_id = None
    # only "\n" ends a line (CR and CRLF are made "\n" on arrival): str.splitlines would also split the data at
    # U+2028, U+0085, form feeds and the like, which JSON and text may hold as they are
    for line in block.split("\n"):
        if line == "" or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
    if not data and event == "message":
        return None
    return Event("\n".join(data), event, event_id)


class _Response(http.client.HTTPResponse):
    """Skips every interim 1xx answer before the final one (http.client skips only 100 Continue: a 103 Early Hints
    was taken for the answer, an empty one)."""

    def _read_status(self):  # type: ignore[no-untyped-def]
        while True:
            version, status, reason = super()._read_status()
            if not 100 <= status < 200 or status == 101:
                return version, status, reason
            http.client.parse_headers(self.fp)


class Client:
    """Calls the cluster's APIs through the gateway and reads their status. Made by ``cortex.client()``."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        gateway_url: Optional[str] = None,
        namespace: Optional[str] = None,
        service_account_dir: Optional[str] = None,
    ) -> None:
        self.api_key = api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)
        self.gateway_url = (gateway_url if gateway_url is not None else os.environ.get(GATEWAY_URL_ENV, "")).rstrip("/")
        self._namespace = namespace
        self._service_account_dir = service_account_dir

    # -- calling an API ---------------------------------------------------------------------------------------

    def call(
        self,
        api_name: str,
        payload: Payload = None,
        stream: bool = False,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """POSTs ``payload`` to ``<gateway>/<api_name>`` (or to ``<gateway><api_name>`` for an endpoint path such as
        ``/v1/summarize``).

        A dict or a list is sent as JSON, bytes as they are, a str as UTF-8 text. The answer: a JSON body parsed,
        a ``text/*`` body as a str, anything else as bytes. With ``stream=True`` (which asks for server-sent
        events unless ``headers`` sets Accept): an iterator of :class:`Event` for an event stream, else of byte
        chunks as they arrive; close it (or leave the loop and let it go) to hang up, which stops the callee's
        predictor. ``timeout``: seconds for the whole answer, or with ``stream=True`` for its head and then for
        each silence (default: none; the gateway's ``networking.timeout`` of the callee applies). An error status
        (a redirect included: none is followed) raises :class:`APIError` (``NotFound`` for 404) with ``.status``
        and ``.body``; an ``event: error`` mid-stream raises :class:`StreamError`. ``api_name`` must be an API
        name or an endpoint path (see docs/client.md): anything else raises :class:`CortexError` before any
        request.
        """
        if not self.gateway_url:
            raise CortexError(
                f"${GATEWAY_URL_ENV} is not set (every API container has it in the cluster); "
                "pass cortex.client(gateway_url='http://HOST:PORT') elsewhere"
            )
        path = _target(api_name)
        body, content_type = _body_and_type(payload)
        sent: Dict[str, str] = {"User-Agent": "cortex-cdk-client"}
        if content_type:
            sent["Content-Type"] = content_type
        if stream:
            sent["Accept"] = "text/event-stream"
        if self.api_key:
            sent[API_KEY_HEADER] = self.api_key
        for key, value in (headers or {}).items():
            for existing in [k for k in sent if k.lower() == key.lower()]:
                del sent[existing]
            sent[key] = value
        connection, target = self._connection(timeout)
        # the timeout bounds the answer's head and, without stream=True, its whole body: a server that sends a
        # byte now and then is never silent for long, yet must not hold the call for ever
        deadline = _Deadline(connection, timeout)
        try:
            try:
                connection.request("POST", target + path, body=body, headers=sent)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as e:
                if deadline.expired:
                    raise CortexError(f"{api_name}: no answer within the timeout ({timeout} s)") from e
                raise CortexError(f"cannot reach {self.gateway_url + path}: {e}") from e
            if response.status >= 300:
                raise self._error(api_name, response, self._read(api_name, response, deadline, timeout))
            if not stream:
                data = self._read(api_name, response, deadline, timeout)
                connection.close()
                try:
                    return _decode(data, response.getheader("Content-Type", ""))
                except ValueError as e:
                    raise APIError(f"{api_name}: the answer is not the {response.getheader('Content-Type')} it "
                                   f"says it is: {e}", response.status, data,
                                   {k.lower(): v for k, v in response.getheaders()}) from e
            deadline.cancel()
            if deadline.expired:
                raise CortexError(f"{api_name}: no answer within the timeout ({timeout} s)")
        except BaseException:
            deadline.cancel()
            connection.close()
            raise
        finally:
            deadline.cancel()
        if response.getheader("Content-Type", "").split(";")[0].strip().lower() == "text/event-stream":
            return self._events(api_name, connection, response)
        return self._chunks(connection, response)

    def _connection(self, timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(self.gateway_url)
        if "@" in parts.netloc:  # never sent by http.client, and the URL is quoted in messages: not quoted here
            raise CortexError("the gateway URL must not hold a user or password (they would not be sent); "
                              "an API key goes in cortex.client(api_key=...) or $CORTEX_API_KEY")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise CortexError(f"the gateway URL must be http:// or https:// with no query, got {self.gateway_url!r}")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        try:
            connection = kind(parts.hostname, parts.port, timeout=timeout)
        except ValueError as e:  # a port that is not a number
            raise CortexError(f"the gateway URL {self.gateway_url!r} is not usable: {e}") from e
        connection.response_class = _Response
        return connection, parts.path

    @staticmethod
    def _read(api_name: str, response: http.client.HTTPResponse, deadline: "_Deadline",
              timeout: Optional[float]) -> bytes:
        """The whole body, of at most MAX_ANSWER_SIZE bytes."""
        parts: List[bytes] = []
        size = 0
        try:
            while True:
                chunk = response.read1(_READ_SIZE)
                if not chunk:
                    if deadline.expired:  # the socket was shut: what came is not the whole answer
                        raise TimeoutError("the socket was shut")
                    if response.length:  # read1 does not check that all the Content-Length came
                        raise http.client.IncompleteRead(b"", response.length)
                    return b"".join(parts)
                size += len(chunk)
                if size > MAX_ANSWER_SIZE:
                    raise CortexError(f"{api_name}: the answer is larger than {MAX_ANSWER_SIZE} bytes; "
                                      "ask for it with stream=True to read it piece by piece")
                parts.append(chunk)
        except (OSError, http.client.HTTPException) as e:
            if deadline.expired:
                raise CortexError(f"{api_name}: the answer did not arrive within the timeout ({timeout} s); "
                                  f"{size} bytes came") from e
            raise CortexError(f"{api_name}: the answer broke off after {size} bytes: {e!r}") from e

    def _error(self, api_name: str, response: http.client.HTTPResponse, body: bytes) -> APIError:
        quoted = body[:_QUOTED].decode("utf-8", "replace").strip()
        message = f"{api_name}: {response.status} {response.reason}" + (f": {quoted}" if quoted else "")
        kind = NotFound if response.status == 404 else APIError
        return kind(message, response.status, body, {k.lower(): v for k, v in response.getheaders()})

    def _chunks(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> Iterator[bytes]:
        try:
            while True:
                chunk = response.read1(_READ_SIZE)
                if not chunk:
                    if response.length:  # read1 does not check that all the Content-Length came
                        raise http.client.IncompleteRead(b"", response.length)
                    return
                yield chunk
        except (OSError, http.client.HTTPException) as e:
            raise CortexError(f"the stream broke off: {e}") from e
        finally:
            connection.close()

    def _events(self, api_name: str, connection: http.client.HTTPConnection,
                response: http.client.HTTPResponse) -> Iterator[Event]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span two chunks
        buffer = ""
        searched = 0  # where the search for the blank line ending an event starts again: each byte is looked at once
        carriage_return = False  # the last chunk ended with "\r": a "\n" starting the next belongs to it
        try:
            while True:
                chunk = response.read1(_READ_SIZE)
                if not chunk:
                    if response.length:
                        raise http.client.IncompleteRead(b"", response.length)
                    break
                text = decoder.decode(chunk)
                if carriage_return and text.startswith("\n"):
                    text = text[1:]
                carriage_return = text.endswith("\r")
                buffer += text.replace("\r\n", "\n").replace("\r", "\n")
                while True:
                    end = buffer.find("\n\n", max(searched - 1, 0))
                    if end < 0:
                        searched = len(buffer)
                        if len(buffer) > MAX_ANSWER_SIZE:
                            raise CortexError(f"{api_name}: an event of the stream is larger than {MAX_ANSWER_SIZE} "
                                              "bytes (or the stream is not server-sent events)")
                        break
                    block, buffer, searched = buffer[:end], buffer[end + 2:], 0
                    event = _parse_event(block)
                    if event is None:
                        continue
                    if event.event == "error":
                        raise StreamError(f"{api_name}: the stream ended with an error: {event.data}", response.status,
                                          event.data.encode("utf-8"))
                    yield event
        except (OSError, http.client.HTTPException) as e:
            raise CortexError(f"the stream broke off: {e}") from e
        finally:
            connection.close()

    # -- reading APIs through the Kubernetes API ------------------------------------------------------------

    def _kubernetes(self) -> "kubernetes.KubernetesReader":
        return kubernetes.KubernetesReader.in_cluster(self._service_account_dir, self._namespace)

    def get_api(self, api_name: str) -> Dict[str, Any]:
        """An API's status and endpoint, read through the Kubernetes API with the pod's ServiceAccount (its API must
        set ``read_apis: true``)::

            {"metadata": {"name", "kind", "namespace", "last_updated"},
             "status": {"status_code": "live" | "updating" | "pending" | "error", "reason", "requested", "ready",
                        "up_to_date"},
             "endpoint": "<gateway URL><path>" or None}

        Raises :class:`NotFound` when the namespace has no such API.
        """
        reader = self._kubernetes()
        return reader.get_api(api_name, self.gateway_url or None)

    def list_apis(self) -> List[Dict[str, Any]]:
        """Every RealtimeAPI of the namespace, each as :meth:`get_api` describes it, by name."""
        reader = self._kubernetes()
        return reader.list_apis(self.gateway_url or None)

