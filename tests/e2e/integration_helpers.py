"""Helpers of the integration end-to-end tests: a loopback HTTP backend for HTTP/HTTP_PROXY
integrations (every POST answered by a function of the request), a JSON question/answer on a
WebSocket, and boto3 clients on the emulator's moto server."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from e2e_helpers import recv_json

from cdk_ws_api.testing import LocalApi

__all__ = ["Seen", "ask", "aws_client", "serve_json"]

Seen = dict[str, Any]
"""What the backend received: ``method``, ``path``, ``headers`` (lower-case names), ``body``."""


@contextlib.contextmanager
def serve_json(answer: Callable[[Seen], tuple[int, Any]]) -> Iterator[str]:
    """Serve on ``127.0.0.1`` (a free port) until the block ends; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            seen = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            status, payload = answer(seen)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def ask(ws: Any, **body: Any) -> Any:
    """Send ``body`` as JSON and return the next message, parsed."""
    ws.send(json.dumps(body))
    return recv_json(ws, timeout=30)


def aws_client(emulator: LocalApi, service: str) -> Any:
    """A boto3 client of ``service`` on the emulator's embedded moto server."""
    return boto3.client(service, endpoint_url=emulator.dynamodb_url, region_name="us-east-1")
