"""The machine and the versions a benchmark run measured, as Markdown list items."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .core import ROOT
from .peers import package_version

__all__ = ["describe_machine"]

PYTHON_PACKAGES = ("cdk-ws-api", "aws-cdk-lib", "constructs", "jsii", "boto3", "websockets", "moto")
PEER_PACKAGES = (
    "aws-lambda-powertools",
    "pydantic",
    "serverless",
    "serverless-offline",
    "@architect/architect",
    "@architect/sandbox",
)


def _command(*args: str) -> str:
    try:
        completed = subprocess.run(
            list(args), cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "?"
    return completed.stdout.strip() or "?"


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_machine() -> list[str]:
    """Cores, memory, OS, Python, Node, package versions, the commit measured."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    commit = _command("git", "rev-parse", "--short", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--untracked-files=no")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    ours = ", ".join(f"{name} {_installed(name)}" for name in PYTHON_PACKAGES)
    peers = ", ".join(f"{name} {package_version(name) or '?'}" for name in PEER_PACKAGES)
    return [
        f"- CPU: {os.cpu_count()} cores ({_cpu_model()}); memory {pages / 2**30:.1f} GiB; "
        f"load average at start {load}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"Node {_command('node', '--version')}",
        f"- Project packages: {ours}",
        f"- Peers (in `bench/.peers/`): {peers}",
        f"- Commit: {commit}" + (" with uncommitted changes" if dirty not in ("", "?") else ""),
    ]
