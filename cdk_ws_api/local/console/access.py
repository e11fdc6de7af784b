"""Who may use the console (pure): the per-run token, the ``Origin`` and the ``Host``.

The console can post to, inspect and close any connection, so only the person who started
the emulator may drive it:

- a random token is made per run and carried in the printed URL (``?token=...``); the feed
  (and with it every action) and the page refuse requests without it (403);
- a browser's WebSocket handshake carries ``Origin``: a page from any other origin (another
  site open in the same browser) is refused even if it guessed the URL. A handshake without
  ``Origin`` comes from a non-browser client, which no web page can drive, so the token alone
  decides;
- ``Host`` must be the address the emulator serves (its bound host, ``localhost`` or
  ``127.0.0.1`` with its port), which defeats DNS rebinding (a foreign name resolved to
  127.0.0.1).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ConsoleAccess", "new_token"]


def new_token() -> str:
    """A fresh per-run token (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class ConsoleAccess:
    """The checks for one run: ``token`` and the ``host:port`` names the emulator answers to."""

    def __init__(self, token: str, *, host: str, port: int) -> None:
        self.token = token
        names = {host, "localhost", "127.0.0.1", "[::1]"}
        bracketed = {
            f"[{name}]" if ":" in name and not name.startswith("[") else name for name in names
        }
        self.hosts = frozenset(f"{name}:{port}".lower() for name in bracketed)
        self.origins = frozenset(f"http://{name}" for name in self.hosts)

    def token_of(self, target: str) -> str | None:
        """The ``token`` query parameter of a request target, if any."""
        for name, value in parse_qsl(urlsplit(target).query, keep_blank_values=True):
            if name == "token":
                return value
        return None

    def refusal(
        self, target: str, *, host: str | None, origin: str | None, need_token: bool = True
    ) -> str | None:
        """Why a request is refused, or ``None`` when it may proceed."""
        if host is None or host.lower() not in self.hosts:
            return f"the console answers only on {sorted(self.hosts)[0]} (Host: {host!r})"
        if origin is not None and origin.lower() not in self.origins:
            return f"requests from the origin {origin!r} are not allowed"
        if need_token:
            token = self.token_of(target)
            if token is None:
                return "the console needs the token of the URL printed at start (?token=...)"
            if not hmac.compare_digest(token.encode(), self.token.encode()):
                return "wrong console token: use the URL printed at start"
        return None
