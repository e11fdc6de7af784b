"""Static files over the emulator's HTTP plane: the console's own assets and ``--static DIR``.

Written here rather than taken from a library: the emulator's HTTP channel is its own small
HTTP/1.1 shell (:mod:`..sharedport`), so the WSGI/ASGI static-file apps (whitenoise,
starlette's ``StaticFiles``) would need an adapter larger than this module. What it does:
``GET`` only; the path is decoded and resolved inside the root (``..``, absolute
paths and symlinks leading out are 404); a directory serves its ``index.html``; the content
type comes from :mod:`mimetypes`; files are read per request (edit, reload: no cache), with
``Cache-Control: no-cache``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..management import HttpResponse

__all__ = ["StaticFiles", "text_response"]

#: Files larger than this are not served (the emulator answers from memory).
MAX_FILE_BYTES = 16 * 1024 * 1024

_SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


def text_response(status: int, text: str, content_type: str = "text/plain") -> HttpResponse:
    """A small UTF-8 answer (errors, refusals)."""
    headers = {"Content-Type": f"{content_type}; charset=utf-8", **_SECURITY_HEADERS}
    return HttpResponse(status, text.encode(), headers)


class StaticFiles:
    """Serves the files under ``root`` at the URL prefix ``mount`` (``/`` or ``/_console/``)."""

    def __init__(self, root: Path, *, mount: str = "/") -> None:
        self.root = root.resolve()
        self.mount = mount if mount.endswith("/") else mount + "/"

    def path_for(self, target: str) -> Path | None:
        """The file a request target names, or ``None`` (outside the root, or no such file)."""
        path = urlsplit(target).path
        if not path.startswith(self.mount):
            return None
        relative = unquote(path[len(self.mount) :])
        if "\0" in relative:
            return None
        candidate = (self.root / relative.lstrip("/")).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def respond(self, method: str, target: str) -> HttpResponse | None:
        """The answer to ``method target``, or ``None`` when the target is not under the mount."""
        if not urlsplit(target).path.startswith(self.mount):
            return None
        if method != "GET":
            return text_response(405, "Method Not Allowed")
        path = self.path_for(target)
        if path is None:
            return text_response(404, "Not Found")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return text_response(413, f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript",):
            content_type += "; charset=utf-8"
        return HttpResponse(
            200, path.read_bytes(), {"Content-Type": content_type, **_SECURITY_HEADERS}
        )
