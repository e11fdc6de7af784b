"""Processes: start servers in their own session, measure a process tree's RSS, stop them.

RSS is read from ``/proc`` (no dependency): the tree is the root and every descendant, found
from each process's parent id; its RSS is the sum of the members' resident sets (shared pages
counted once per process, as ``ps``/``psutil`` report them).
"""

from __future__ import annotations

import collections
import contextlib
import os
import resource
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "RssSampler",
    "Server",
    "free_port",
    "raise_file_limit",
    "tree_pids",
    "tree_pss",
    "tree_rss",
]

_PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_file_limit(wanted: int = 20000) -> int:
    """Raise this process's open-file soft limit towards ``wanted`` (children inherit it);
    returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        children[int(fields[1])].append(int(entry.name))
    return children


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children = _parents()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def tree_rss(root: int) -> tuple[int, int]:
    """(RSS in bytes, number of processes) of ``root``'s tree."""
    total, count = 0, 0
    for pid in tree_pids(root):
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * _PAGE
        count += 1
    return total, count


def tree_pss(root: int) -> int:
    """PSS in bytes of ``root``'s tree: shared pages divided among the processes sharing
    them (what the tree really costs the machine; RSS counts shared pages once per process)."""
    total = 0
    for pid in tree_pids(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


class RssSampler:
    """Samples a process tree's RSS and PSS every ``interval`` seconds in a thread; keeps
    the peaks."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root = root
        self.interval = interval
        self.peak_bytes = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        rss, count = tree_rss(self.root)
        self.peak_bytes = max(self.peak_bytes, rss)
        self.peak_pss = max(self.peak_pss, tree_pss(self.root))
        self.peak_processes = max(self.peak_processes, count)
        return rss

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()


class Server:
    """A server process in its own session, its output kept (the last lines) by a thread.

    ``wait_for(predicate)`` blocks until an output line satisfies it; ``stop()`` sends SIGTERM
    to the process, then SIGKILL to its whole process group (only processes it started).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str],
        name: str,
    ) -> None:
        self.name = name
        self.lines: collections.deque[str] = collections.deque(maxlen=400)
        self._new_line = threading.Condition()
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The first output line (from the start) satisfying ``predicate``; raises
        ``RuntimeError`` with the output when the process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    tail = "\n".join(list(self.lines)[-40:])
                    raise RuntimeError(
                        f"{self.name} not ready (exit {self.process.poll()}):\n{tail}"
                    )
                self._new_line.wait(min(left, 0.5))

    def stop(self, grace: float = 20.0) -> None:
        if self.process.poll() is None:
            with _suppress_lookup():
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        with _suppress_lookup():
            os.killpg(self.process.pid, signal.SIGKILL)  # leftovers of the group we created
        with _suppress_lookup():
            self.process.wait(5)
        self._reader.join(2)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _suppress_lookup() -> contextlib.suppress:
    return contextlib.suppress(ProcessLookupError, PermissionError, subprocess.TimeoutExpired)
