"""The browser console of ``cdk-ws-api local``, served at ``/_console/`` (see :mod:`.hub`).

Pure parts: :mod:`.access` (token, ``Origin``, ``Host``), :mod:`.journal` (records → entries,
bounded). Shells: :mod:`.hub` (page, feed, actions), :mod:`.testclient`, :mod:`.files`
(static files, also ``--static DIR``). The page is ``static/``: HTML, CSS, plain JavaScript.
"""

from __future__ import annotations

from .files import StaticFiles
from .hub import CONSOLE_PATH, Console

__all__ = ["CONSOLE_PATH", "Console", "StaticFiles"]
