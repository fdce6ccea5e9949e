"""One keep-alive HTTP connection to the receiver."""

import http.client

HEADERS = {"Content-Type": "application/json", "User-Agent": "relay/1.4"}


class HttpConnection:
    """A single HTTP/1.1 connection; not thread-safe, the pool lends it to one caller.

    A closed connection stays closed: post() on it raises ConnectionError instead of
    quietly reconnecting, so that a connection the pool believes is healthy really is.
    """

    def __init__(self, host: str, port: int, timeout_s: float = 10.0) -> None:
        self._http = http.client.HTTPConnection(host, port, timeout=timeout_s)
        self.closed = False

    def post(self, path: str, body: bytes) -> int:
        """Send one POST and return the response status. Network failures raise OSError."""
        if self.closed:
            raise ConnectionError("post() on a closed connection")
        try:
            self._http.request("POST", path, body=body, headers=HEADERS)
            response = self._http.getresponse()
            response.read()  # drain it, or the connection cannot be reused
        except http.client.HTTPException as exc:
            raise ConnectionError(f"bad response from receiver: {exc}") from exc
        return response.status

    def close(self) -> None:
        self.closed = True
        self._http.close()
