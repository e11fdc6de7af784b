"""The peers, installed by the benchmarks themselves into the git-ignored ``bench/.peers/``.

- PyPI ``aws-lambda-powertools[parser]`` with ``pip install --target bench/.peers/python``;
- npm ``serverless@3`` and ``serverless-offline@13`` in ``bench/.peers/node`` (v4 of the
  framework needs an online login; v3 runs offline);
- npm ``@architect/architect@12`` (Architect, whose ``arc sandbox`` is the other local
  WebSocket dev server) in its own ``bench/.peers/arc``.

Each is installed once (a stamp file records it); delete ``bench/.peers`` to reinstall.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .core import PEERS

__all__ = [
    "ARCHITECT_SPEC",
    "ARC_DIR",
    "NODE_DIR",
    "POWERTOOLS_SPEC",
    "PYTHON_DIR",
    "SERVERLESS_SPECS",
    "ensure_architect",
    "ensure_powertools",
    "ensure_serverless",
    "package_version",
]

PYTHON_DIR = PEERS / "python"
NODE_DIR = PEERS / "node"
ARC_DIR = PEERS / "arc"
POWERTOOLS_SPEC = "aws-lambda-powertools[parser]"
SERVERLESS_SPECS = ("serverless@3", "serverless-offline@13")
ARCHITECT_SPEC = "@architect/architect@12"


def _run(command: list[str], cwd: Path, timeout: float) -> None:
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")


def ensure_powertools() -> Path:
    """Install Powertools into ``bench/.peers/python`` (once); returns that directory."""
    stamp = PYTHON_DIR / ".installed"
    if not stamp.exists():
        PYTHON_DIR.mkdir(parents=True, exist_ok=True)
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                "--target",
                str(PYTHON_DIR),
                POWERTOOLS_SPEC,
            ],
            cwd=PEERS,
            timeout=600,
        )
        stamp.write_text(POWERTOOLS_SPEC + "\n")
    return PYTHON_DIR


def _ensure_npm(directory: Path, name: str, specs: tuple[str, ...], binary: str) -> Path:
    """``npm install specs`` in ``directory`` (once, a stamp file records it); returns the
    executable ``node_modules/.bin/<binary>``."""
    executable = directory / "node_modules" / ".bin" / binary
    stamp = directory / ".installed"
    if not (stamp.exists() and executable.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        package = directory / "package.json"
        if not package.exists():
            package.write_text(json.dumps({"name": name, "private": True}) + "\n")
        _run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *specs],
            cwd=directory,
            timeout=900,
        )
        stamp.write_text(" ".join(specs) + "\n")
    return executable


def ensure_serverless() -> Path:
    """Install serverless v3 + serverless-offline v13 into ``bench/.peers/node`` (once);
    returns the ``serverless`` executable."""
    return _ensure_npm(NODE_DIR, "bench-peers", SERVERLESS_SPECS, "serverless")


def ensure_architect() -> Path:
    """Install Architect 12 into ``bench/.peers/arc`` (once); returns the ``arc``
    executable."""
    return _ensure_npm(ARC_DIR, "bench-peers-arc", (ARCHITECT_SPEC,), "arc")


def package_version(name: str) -> str | None:
    """The installed version of a peer (Python distribution or npm package), else None."""
    for info in PYTHON_DIR.glob(f"{name.replace('-', '_')}-*.dist-info"):
        return info.name.removesuffix(".dist-info").rsplit("-", 1)[1]
    for directory in (NODE_DIR, ARC_DIR):
        package = directory / "node_modules" / name / "package.json"
        if package.exists():
            version = json.loads(package.read_text()).get("version")
            return str(version) if version else None
    return None
