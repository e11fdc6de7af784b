"""A real ``cdk-ws-api local`` process, for the tests about the process itself: the command
line, its banner, SIGTERM, being killed, its memory under hostile clients. Every other test
serves through the public ``cdk_ws_api.testing``.

:func:`start_emulator` runs ``python -m cdk_ws_api local ... --port 0``, waits for ``ready``,
and parses the banner for the bound URLs; :meth:`Emulator.stop` sends SIGTERM and checks
that the process exits 0 and leaves no descendant process behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from cdk_ws_api.testing import child_processes, is_running

__all__ = ["Emulator", "start_emulator"]

ROOT = Path(__file__).resolve().parents[2]


class Emulator:
    """A running ``cdk-ws-api local`` process."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ws_url = self.management_url = self.dynamodb_url = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> None:
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            raise RuntimeError("emulator did not start:\n" + "\n".join(self.lines))
        text = "\n".join(self.lines)
        self.ws_url = re.search(r"WebSocket URL:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        self.management_url = re.search(r"@connections URL:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        self.dynamodb_url = re.search(r"DynamoDB endpoint:\s+(\S+)", text).group(1)  # type: ignore[union-attr]

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 10) -> str:
        """The first log line matching ``pattern`` (regex), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if regex.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no log line matches {pattern!r}:\n{self.output[-3000:]}")

    def connect(self, query: str = "", **kwargs: Any) -> ClientConnection:
        url = self.ws_url + (f"?{query}" if query else "")
        return connect(url, open_timeout=20, close_timeout=5, **kwargs)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait, and assert no descendant process survives."""
        if self.process.poll() is not None:
            return self.process.returncode
        children = child_processes(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError("emulator ignored SIGTERM:\n" + self.output[-3000:]) from None
        self._reader.join(5)
        deadline = time.monotonic() + 5
        while any(is_running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [pid for pid in children if is_running(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"orphan processes after shutdown: {survivors}"
        return code


def start_emulator(
    args: Sequence[str], *, cwd: Path | None = None, timeout: float = 120
) -> Emulator:
    """Run ``python -m cdk_ws_api local ARGS --port 0`` and wait until it serves."""
    command = [sys.executable, "-m", "cdk_ws_api", "local", "--port", "0", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command,
        cwd=str(cwd or ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    emulator = Emulator(process)
    try:
        emulator.wait_ready(timeout)
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    return emulator
