"""Architect sandbox (``arc sandbox``, Architect 12 / sandbox 9) serving the same echo handler.

The project is written to ``bench/.peers/arc-echo/``: ``app.arc`` (``@ws`` routes
``connect``, ``disconnect``, ``default``, ``echo``, ``reply``, ``whoami``; ``@aws runtime
python3.11``), one ``src/ws/<route>/lambda.py`` per route (Architect's Python convention:
``lambda.py`` with ``handler(event, context)``) delegating to ``echo_handler.py``, a copy of
``bench/echo/handler.py``, and a ``.env`` with ``ECHO_MANAGEMENT_ENDPOINT`` (Architect passes
the ``.env`` variables to the functions, and not the rest of its own environment). ``@aws
timeout 30``: with a process started per message, 20 concurrent clients on 2 cores queue the
invocations for seconds, past Architect's default 5 s timeout (the client would then get
``Internal server error`` instead of the echo).

It runs fully offline: update notifier off (``NO_UPDATE_NOTIFIER``; Architect has no
telemetry), fake AWS credentials, the project's virtualenv first on ``PATH`` (sandbox runs
``python3`` from its ``PATH``, so the handlers get the ``.venv`` interpreter and its boto3),
every port on 127.0.0.1 (``--host 127.0.0.1``; ``--port`` for HTTP/WebSocket,
``ARC_INTERNAL_PORT`` for its AWS-service emulator, ``ARC_EVENTS_PORT`` and
``ARC_TABLES_PORT`` set too though this project starts neither). Stopping is
:class:`bench.proc.Server`'s: SIGTERM, then SIGKILL of the process group, which holds the
per-invocation ``python3`` processes too (spawned without ``detached``).

How sandbox 9.0.0 implements ``@ws`` (files under
``bench/.peers/arc/node_modules/@architect/sandbox/src/``):

- Routing (``http/register-websocket/connection.js``): each text message is parsed as JSON
  and dispatched to the ``@ws`` route named by its ``action`` field, else to ``default`` (the
  route selection is fixed to ``$request.body.action``). ``$connect`` runs at the upgrade
  (``upgrade.js``) and must return a 2xx ``statusCode``.
- (i) No two-way route responses: after a message's invocation, ``respondToError`` only
  sends ``{"message": "Internal server error", ...}`` when the function failed or returned a
  ``statusCode`` >= 400; the returned ``body`` is never sent to the client. So ``reply`` and
  ``whoami`` cannot work as on API Gateway; a function answers only through ``@connections``.
- (ii) ``@connections``: served by the internal "AWS service emulator" (``arc/index.js``,
  ``arc/_listener.js``, ``arc/_ws/index.js``) on the ``_arc`` port (``ARC_INTERNAL_PORT``,
  default 2222) under the prefix ``/_arc/ws``: ``POST/GET/DELETE
  /_arc/ws/@connections/{id}``, 410 ``GoneException`` for an unknown id, the POST body sent
  as a text frame. boto3's ``apigatewaymanagementapi`` client works against it with
  ``endpoint_url="http://127.0.0.1:<_arc port>/_arc/ws"`` (no signature check), which is
  what ``ECHO_MANAGEMENT_ENDPOINT`` is set to.
- (iii) Python functions (``invoke-lambda/index.js``, ``invoke-lambda/exec/index.js``,
  ``exec/spawn.js``, ``lib/runtime-eval.js``, ``exec/runtimes/python.py``): every invocation
  (``$connect``, each message, ``$disconnect``) spawns a new ``python3 -c <bootstrap>``
  through a shell (``shell: true``); the bootstrap fetches the one event from a Lambda
  Runtime API mock on the ``_arc`` port (``arc/_runtime-api``), imports the handler file,
  posts the result back and the process is then killed with ``tree-kill`` (SIGINT). No warm
  process: module state (the boto3 client the handler caches) is rebuilt on every message.
  The function's environment is built from scratch (``invoke-lambda/env/index.js``): fake or
  local AWS keys, ``AWS_REGION``, ``PATH``, ``PYTHONPATH``, ``ARC_*`` and the ``.env`` values.

Architect 12 declares ``engines.node >= 22``; ``arc sandbox`` runs on the Node 20 this project
uses (checked: start, ``@connections``, stop).
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from .core import BENCH, PEERS
from .peers import ensure_architect
from .proc import Server, free_port
from .sls import peer_environment

__all__ = ["PROJECT_DIR", "ArchitectSandbox"]

PROJECT_DIR = PEERS / "arc-echo"
APP_ARC = """\
@app
bench-echo

@ws
connect
disconnect
default
echo
reply
whoami

@aws
runtime python3.11
region us-east-1
timeout 30
"""
# route -> function of echo_handler.py it runs (None: a bare 200, no import)
ROUTES: dict[str, str | None] = {
    "connect": "connect",
    "disconnect": None,
    "default": None,
    "echo": "echo",
    "reply": "reply",
    "whoami": "whoami",
}
DELEGATE = '''\
"""Architect's handler for the @ws route {route!r}: bench/echo/handler.py {function}."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from echo_handler import {function} as handler  # noqa: E402

__all__ = ["handler"]
'''
BARE = '''\
"""Architect's handler for the @ws route {route!r}: accepts, does nothing."""


def handler(event, context):
    return {{"statusCode": 200}}
'''


def write_project(management_port: int) -> Path:
    """Write the Architect echo project into ``bench/.peers/arc-echo``; returns its path."""
    PROJECT_DIR.mkdir(parents=True, exist_ok=True)
    (PROJECT_DIR / "app.arc").write_text(APP_ARC)
    shutil.copyfile(BENCH / "echo" / "handler.py", PROJECT_DIR / "echo_handler.py")
    (PROJECT_DIR / ".env").write_text(
        f"ECHO_MANAGEMENT_ENDPOINT=http://127.0.0.1:{management_port}/_arc/ws\n"
    )
    for route, function in ROUTES.items():
        folder = PROJECT_DIR / "src" / "ws" / route
        folder.mkdir(parents=True, exist_ok=True)
        template = BARE if function is None else DELEGATE
        (folder / "lambda.py").write_text(template.format(route=route, function=function))
    return PROJECT_DIR


class ArchitectSandbox:
    """``with ArchitectSandbox() as arc:`` → ``arc.websocket_url``, ``arc.management_url``,
    ``arc.pid``."""

    def __init__(self, ready_timeout: float = 120.0) -> None:
        self.binary = ensure_architect()
        self.ready_timeout = ready_timeout
        self.server: Server | None = None
        self.websocket_url = ""
        self.management_url = ""
        self.command: list[str] = []

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def __enter__(self) -> ArchitectSandbox:
        http_port, internal_port = free_port(), free_port()
        events_port, tables_port = free_port(), free_port()
        write_project(internal_port)
        env = peer_environment(
            NO_UPDATE_NOTIFIER="1",
            ARC_ENV="testing",
            ARC_INTERNAL_PORT=str(internal_port),
            ARC_EVENTS_PORT=str(events_port),
            ARC_TABLES_PORT=str(tables_port),
        )
        for name in ("ARC_HTTP_PORT", "PORT", "ARC_HOST", "ARC_DB_EXTERNAL", "ARC_LOCAL"):
            env.pop(name, None)
        self.command = [
            str(self.binary),
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(http_port),
        ]
        self.server = Server(self.command, cwd=PROJECT_DIR, env=env, name="architect sandbox")
        try:
            self.server.wait_for(
                lambda line: "Local environment ready!" in line, self.ready_timeout
            )
            self.websocket_url = f"ws://127.0.0.1:{http_port}"
            self.management_url = f"http://127.0.0.1:{internal_port}/_arc/ws"
            self._check_management()
        except BaseException:
            self.server.stop()
            raise
        return self

    def _check_management(self) -> None:
        """Sandbox moves its internal port up when the chosen one got taken meanwhile
        (``sandbox/ports.js``), which would leave the handlers' ``.env`` pointing elsewhere:
        check that ``@connections`` answers there (410 Gone for an unknown id)."""
        url = f"{self.management_url}/@connections/bench-probe"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        try:
            with opener.open(urllib.request.Request(url, method="GET"), timeout=10):
                pass
        except urllib.error.HTTPError as error:
            if error.code == 410:
                return
        except OSError:
            pass
        raise RuntimeError(f"architect sandbox: no @connections at {self.management_url}")

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
