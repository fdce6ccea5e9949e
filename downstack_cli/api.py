"""A small client for the Downstack JSON API, standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass


class ApiError(Exception):
    """The server refused or could not be reached; the message is fit to print."""


@dataclass
class Api:
    url: str
    token: str
    timeout_s: float = 30.0

    def _request(self, method: str, path: str, body: bytes | None = None, headers=None):
        request = urllib.request.Request(
            self.url.rstrip("/") + "/api/v1" + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise ApiError(_message(exc)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"cannot reach {self.url}: {reason}") from None

    def get_json(self, path: str) -> dict:
        body, _ = self._request("GET", path)
        return json.loads(body)

    def get_bytes(self, path: str) -> bytes:
        return self._request("GET", path)[0]

    def post_files(self, path: str, files: dict[str, bytes]) -> dict:
        boundary = uuid.uuid4().hex
        parts = []
        for name, data in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        raw, _ = self._request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        return json.loads(raw)


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("error")
    except (ValueError, AttributeError):
        detail = None
    if exc.code == 401:
        return detail or "the server refused the token; run `downstack login` again"
    if exc.code == 404:
        return "not found (check the lab's name with `downstack labs`)"
    return detail or f"the server answered {exc.code} {exc.reason}"
