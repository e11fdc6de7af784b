"""Drive a ``python -m bench.wsclient hold`` process: many open connections in another
process, counting what they receive (so the sender and the receivers do not share a GIL)."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

from .core import PEERS, ROOT, python

__all__ = ["Holder"]


class Holder:
    """``with Holder(url, clients=1000, ids=True) as holder:`` then ``holder.opened`` (the
    first report: connected, failed, ids, seconds) and ``holder.ask("count TAG N 30")``."""

    def __init__(
        self,
        url: str,
        *,
        clients: int,
        ids: bool = False,
        parallel: int = 100,
        timeout: float = 600.0,
    ) -> None:
        command = [
            python(),
            "-m",
            "bench.wsclient",
            "hold",
            url,
            "--clients",
            str(clients),
            "--parallel",
            str(parallel),
            "--max-seconds",
            str(timeout),
        ]
        if ids:
            command.append("--ids")
        self.timeout = timeout
        PEERS.mkdir(parents=True, exist_ok=True)
        self._log = (PEERS / "wsclient-hold.log").open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.opened: dict[str, Any] = {}

    def _read(self, timeout: float) -> dict[str, Any]:
        box: list[str] = []
        assert self.process.stdout is not None
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            raise RuntimeError(f"the client process gave no answer in {timeout:g} s")
        result: dict[str, Any] = json.loads(box[0])
        return result

    def ask(self, command: str, timeout: float = 120.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read(timeout)

    def __enter__(self) -> Holder:
        try:
            self.opened = self._read(self.timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(5)
        self._log.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
