"""Start ``cdk-ws-api local`` as a real subprocess and talk to it like a user would.

:func:`start_emulator` runs ``python -m cdk_ws_api local ... --port 0``, waits for ``ready``,
and parses the banner for the bound URLs; :meth:`Emulator.stop` sends SIGTERM and checks
that the process exits 0 and leaves no descendant process behind.
"""

from __future__ import annotations

import json
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

import boto3
from websockets.sync.client import ClientConnection, connect

__all__ = ["Emulator", "descendants", "recv_json", "start_emulator", "synth"]

ROOT = Path(__file__).resolve().parents[2]
PLAIN_STACK_APP = Path(__file__).resolve().parent / "plain_stack" / "stack_app.py"


def synth(app_file: Path, outdir: Path) -> Path:
    """Synthesize ``app_file`` into ``outdir`` (no CDK CLI) and return ``outdir``."""
    env = dict(
        os.environ, CDK_OUTDIR=str(outdir), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"
    )
    subprocess.run(
        [sys.executable, str(app_file)],
        env=env,
        cwd=str(app_file.parent),
        check=True,
        capture_output=True,
        timeout=180,
    )
    return outdir


def descendants(pid: int) -> set[int]:
    """All live descendant pids of ``pid`` (Linux ``/proc``)."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


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

    def management(self) -> Any:
        return boto3.client(
            "apigatewaymanagementapi", endpoint_url=self.management_url, region_name="us-east-1"
        )

    def dynamodb(self) -> Any:
        return boto3.resource("dynamodb", endpoint_url=self.dynamodb_url, region_name="us-east-1")

    def table(self, prefix: str) -> Any:
        resource = self.dynamodb()
        names = [
            t.name for t in resource.tables.all() if t.name.split("-", 1)[-1].startswith(prefix)
        ]
        assert len(names) == 1, names
        return resource.Table(names[0])

    def audit(self, pk: str, timeout: float = 10) -> dict[str, Any]:
        """The plain stack's audit item ``pk``, waiting for the handler to write it."""
        table = self.table("Audit")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = table.get_item(Key={"pk": pk}).get("Item")
            if item:
                return item  # type: ignore[no-any-return]
            time.sleep(0.1)
        raise AssertionError(f"no audit item {pk}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait, and assert no descendant process survives."""
        if self.process.poll() is not None:
            return self.process.returncode
        children = descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError("emulator ignored SIGTERM:\n" + self.output[-3000:]) from None
        self._reader.join(5)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [pid for pid in children if _alive(pid)]
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


def recv_json(ws: ClientConnection, timeout: float = 15) -> Any:
    message = ws.recv(timeout=timeout)
    assert isinstance(message, str), message
    return json.loads(message)
