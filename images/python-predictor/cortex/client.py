"""The client: ``call`` (a prediction from another API, whole or streamed) and ``get_api`` / ``list_apis`` (status and
endpoint, read through the Kubernetes API)."""

import http.client
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from . import kubernetes
from .exceptions import APIError, CortexError, NotFound, StreamError

GATEWAY_URL_ENV = "CORTEX_GATEWAY_URL"
API_KEY_ENV = "CORTEX_API_KEY"
#: The header the proxy sidecar reads an API key from.
API_KEY_HEADER = "x-api-key"

_READ_SIZE = 65536
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


def _parse_event(block: str) -> Optional[Event]:
    data: List[str] = []
    event = "message"
    event_id = None
    for line in block.splitlines():
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
        predictor. ``timeout``: seconds of silence before giving up (default: none; the gateway's
        ``networking.timeout`` of the callee applies). An error status raises :class:`APIError` (``NotFound``
        for 404) with ``.status`` and ``.body``; an ``event: error`` mid-stream raises :class:`StreamError`.
        """
        if not self.gateway_url:
            raise CortexError(
                f"${GATEWAY_URL_ENV} is not set (every API container has it in the cluster); "
                "pass cortex.client(gateway_url='http://HOST:PORT') elsewhere"
            )
        body, content_type = _body_and_type(payload)
        path = api_name if api_name.startswith("/") else "/" + quote(api_name, safe="")
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
        connection, response = self._post(self.gateway_url + path, body, sent, timeout)
        try:
            if response.status >= 300:
                raise self._error(api_name, response, response.read())
        except BaseException:
            connection.close()
            raise
        if not stream:
            try:
                data = response.read()
            finally:
                connection.close()
            return _decode(data, response.getheader("Content-Type", ""))
        if response.getheader("Content-Type", "").split(";")[0].strip().lower() == "text/event-stream":
            return self._events(api_name, connection, response)
        return self._chunks(connection, response)

    def _post(self, url: str, body: Optional[bytes], headers: Dict[str, str],
              timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CortexError(f"the gateway URL must be http:// or https://, got {self.gateway_url!r}")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=body, headers=headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as e:
            connection.close()
            raise CortexError(f"cannot reach {url}: {e}") from e

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
                    return
                yield chunk
        except (OSError, http.client.HTTPException) as e:
            raise CortexError(f"the stream broke off: {e}") from e
        finally:
            connection.close()

    def _events(self, api_name: str, connection: http.client.HTTPConnection,
                response: http.client.HTTPResponse) -> Iterator[Event]:
        buffer = ""
        try:
            while True:
                chunk = response.read1(_READ_SIZE)
                if not chunk:
                    break
                buffer += chunk.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
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

