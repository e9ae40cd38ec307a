"""What the client raises: every error is a ``CortexError``; an API that answered with an error is an ``APIError``
carrying the status and the body, so that a caller can tell a 503 (retry) from a 400 (its own payload)."""

from typing import Optional


class CortexError(Exception):
    """The client could not do what was asked (no gateway URL, the API unreachable, no Kubernetes access)."""


class APIError(CortexError):
    """An API (or the gateway, or the Kubernetes API) answered with an error status, or with a body that is not the
    JSON its Content-Type says."""

    def __init__(self, message: str, status: Optional[int], body: bytes = b"", headers: Optional[dict] = None):
        super().__init__(message)
        #: The HTTP status.
        self.status = status
        #: The response body, as received.
        self.body = body
        #: The response headers, names in lower case.
        self.headers = headers or {}

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


class NotFound(APIError):
    """No API of that name (a 404 from the gateway or the Kubernetes API)."""


class StreamError(APIError):
    """A stream that started (status 200) ended with an ``event: error``: the predictor failed mid-way."""
