"""A time limit on a whole HTTP exchange: http.client's timeout bounds each read, so a server sending a byte now and
then would hold the caller for ever."""

import http.client
import socket
import threading
from typing import Optional


class Deadline:
    """Shuts a connection's socket when the time is up, so that a read blocked on a server sending a byte now and
    then returns."""

    def __init__(self, connection: http.client.HTTPConnection, timeout: Optional[float]) -> None:
        self.expired = False
        self._connection = connection
        self._timer = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
