"""The cdk-ws-api emulator serving the echo service (:mod:`bench.echo`), as users start it.

``echo_assembly()`` synthesizes ``bench/echo/stack.py`` into ``bench/.peers/echo-assembly``
(again only when the stack, the constructs or the runtime changed). ``LocalEmulator`` runs
``python -m cdk_ws_api local --assembly DIR --port 0 --quiet`` in its own session, waits for
its ``ready`` line and reads the URLs it prints.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from .core import BENCH, PEERS, ROOT, python
from .proc import Server

__all__ = ["LocalEmulator", "echo_assembly"]

ASSEMBLY = PEERS / "echo-assembly"
_SOURCES = (BENCH / "echo", ROOT / "cdk_ws_api", ROOT / "lambda_runtime")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for directory in _SOURCES:
        for path in sorted(directory.rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def echo_assembly() -> Path:
    """The echo service's cloud assembly, synthesized when missing or stale."""
    stamp = ASSEMBLY / ".fingerprint"
    fingerprint = _fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return ASSEMBLY
    shutil.rmtree(ASSEMBLY, ignore_errors=True)
    env = dict(
        os.environ, CDK_OUTDIR=str(ASSEMBLY), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"
    )
    completed = subprocess.run(
        [python(), str(BENCH / "echo" / "stack.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"synth of bench/echo/stack.py failed:\n{completed.stderr[-3000:]}")
    stamp.write_text(fingerprint)
    return ASSEMBLY


class LocalEmulator:
    """``with LocalEmulator() as emulator:`` → ``emulator.websocket_url``,
    ``emulator.management_url``, ``emulator.pid`` (the root of its process tree)."""

    def __init__(self, *, extra_args: tuple[str, ...] = (), ready_timeout: float = 90.0) -> None:
        self.assembly = echo_assembly()
        self.command = [
            python(),
            "-m",
            "cdk_ws_api",
            "local",
            "--assembly",
            str(self.assembly),
            "--port",
            "0",
            "--quiet",
            *extra_args,
        ]
        self.ready_timeout = ready_timeout
        self.server: Server | None = None
        self.websocket_url = ""
        self.management_url = ""

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def __enter__(self) -> LocalEmulator:
        env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
        self.server = Server(self.command, cwd=ROOT, env=env, name="cdk-ws-api local")
        try:
            self.server.wait_for(lambda line: line.startswith("ready"), self.ready_timeout)
            banner = "\n".join(self.server.lines)
            found = re.search(r"ws://\S+", banner)
            if found is None:
                raise RuntimeError(f"no ws:// URL in the emulator's banner:\n{banner}")
            self.websocket_url = found.group(0)
            management = re.search(r"@connections[^\n]*?(http://\S+)", banner)
            self.management_url = (
                management.group(1)
                if management
                else self.websocket_url.replace("ws://", "http://", 1)
            )
        except BaseException:
            self.server.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
