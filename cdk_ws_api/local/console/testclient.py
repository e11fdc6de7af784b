"""The console's test client: a WebSocket connection to the API opened by the emulator on a
page's behalf, so that it can carry any header (a browser's WebSocket cannot set headers,
and authorizers often read them). Its events go to the page through its feed."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

__all__ = ["TestClient"]

#: Seconds the handshake ($connect and its authorizer included) may take.
OPEN_TIMEOUT = 40.0


class TestClient:
    """One test connection; ``emit`` receives ``{"kind": "client", ...}`` entries."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        client_id: int,
        url: str,
        *,
        query: str,
        headers: list[tuple[str, str]],
        emit: Callable[[dict[str, Any]], None],
        forget: Callable[[], Any],
    ) -> None:
        self.client_id = client_id
        self.url = url + (f"?{query.lstrip('?')}" if query.strip() else "")
        self.headers = headers
        self._emit = emit
        self._forget = forget
        self._ws: ClientConnection | None = None
        self._opened = asyncio.Event()

    def _event(self, event: str, **fields: Any) -> None:
        self._emit({"kind": "client", "clientId": self.client_id, "event": event, **fields})

    async def run(self) -> None:
        try:
            try:
                self._ws = await connect(
                    self.url,
                    additional_headers=self.headers,
                    open_timeout=OPEN_TIMEOUT,
                    ping_interval=None,
                    max_size=None,
                    compression=None,
                )
            except InvalidStatus as refused:
                body = refused.response.body.decode(errors="replace")
                status = refused.response.status_code
                self._event("refused", status=status, body=body)
                return
            except Exception as exc:  # refused TCP, timeout, bad URL: all shown as they are
                self._event("error", message=f"{type(exc).__name__}: {exc}")
                return
            self._opened.set()
            self._event("open", url=self.url)
            ws = self._ws
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    if isinstance(message, bytes):
                        self._event("frame", binary=True, data=base64.b64encode(message).decode())
                    else:
                        self._event("frame", binary=False, data=message)
            received = ws.protocol.close_rcvd
            sent = ws.protocol.close_sent
            frame = received or sent
            code = int(frame.code) if frame is not None else 1006
            reason = frame.reason if frame is not None else ""
            self._event("close", code=code, reason=reason, byServer=received is not None)
        finally:
            self._forget()

    async def send(self, text: str) -> None:
        if self._ws is None:
            raise RuntimeError("the test connection is not open yet")
        await self._ws.send(text)

    async def close(self, code: int = 1000) -> None:
        if self._ws is not None:
            await self._ws.close(code)
