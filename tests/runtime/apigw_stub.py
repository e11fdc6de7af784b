"""A tiny ``@connections`` server that answers the way API Gateway does (for tests).

moto's management API accepts any connection id and never answers 410, so the error paths
(410/403/413/429, retries) are tested against this server instead. It speaks the service
model's rest-json wire format: errors carry ``x-amzn-ErrorType: <Code>`` and a JSON body
``{"message": ...}``, which botocore turns into ``ClientError`` with that code.

- Only ids in ``known`` exist; any other id is 410 ``GoneException``.
- Only ``/{stage}/@connections/{id}`` paths are served; another stage is 403 ``Forbidden``
  (as API Gateway answers a wrong stage path).
- A body over 131072 bytes is 413 ``PayloadTooLargeException``.
- ``script(id, 429, 429)`` makes the next requests for ``id`` answer those statuses first.
- Every request is recorded in ``requests`` (method, connection id, body, and the raw path and
  headers, to check encodings and signatures).
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

ERROR_CODES = {
    403: "ForbiddenException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}


@dataclass(frozen=True)
class Recorded:
    method: str
    connection_id: str
    body: bytes
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict, compare=False)


class ApiGatewayStub:
    """``ssl_context``: serve HTTPS with it (a server-side context) instead of plain HTTP."""

    def __init__(self, *, stage: str = "test", ssl_context: ssl.SSLContext | None = None) -> None:
        self.stage = stage
        self.scheme = "https" if ssl_context is not None else "http"
        self.known: set[str] = set()
        self.requests: list[Recorded] = []
        self._scripts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{self.stage}"

    def start(self) -> ApiGatewayStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every known connection, script and recorded request."""
        with self._lock:
            self.known.clear()
            self.requests.clear()
            self._scripts.clear()

    def script(self, connection_id: str, *statuses: int) -> None:
        """Answer the next requests about ``connection_id`` with ``statuses``, in order."""
        with self._lock:
            self._scripts.setdefault(connection_id, []).extend(statuses)

    def requests_for(self, connection_id: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.connection_id == connection_id]

    def _answer(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, object] | None]:
        prefix = f"/{self.stage}/@connections/"
        if not path.startswith(prefix):
            return 403, {"message": "Forbidden"}
        connection_id = unquote(path[len(prefix) :])
        with self._lock:
            self.requests.append(Recorded(method, connection_id, body, path, dict(headers or {})))
            scripted = self._scripts.get(connection_id)
            if scripted:
                status = scripted.pop(0)
                if status >= 400:
                    return status, {"message": f"scripted {status}"}
            if connection_id not in self.known:
                return 410, {"message": None}
            if method == "POST" and len(body) > 131072:
                return 413, {"message": "Message too long"}
            if method == "DELETE":
                self.known.discard(connection_id)
                return 204, None
            if method == "GET":
                return 200, {
                    "connectedAt": "2025-01-27T16:39:47.617Z",
                    "lastActiveAt": "2025-01-27T16:41:02.001Z",
                    "identity": {"sourceIp": "93.108.161.96", "userAgent": "test-client/1.0"},
                }
            return 200, None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = stub._answer(self.command, self.path, body, headers)
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", ERROR_CODES.get(status, "Unknown"))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
