"""The recorded API Gateway WebSocket events the parsing benchmarks run on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .core import ROOT

__all__ = ["FIXTURE_DIRS", "fixture_dir", "route_events"]

FIXTURE_DIRS = (
    ROOT / "tests" / "fixtures" / "aws-events",
    ROOT.parent / "shared" / "fixtures" / "aws-events",
)


def fixture_dir() -> Path:
    """The first fixture directory that exists (the project's copy, else ``shared/``)."""
    for directory in FIXTURE_DIRS:
        if directory.is_dir():
            return directory
    raise FileNotFoundError(f"no fixture directory among {[str(d) for d in FIXTURE_DIRS]}")


def route_events() -> dict[str, dict[str, Any]]:
    """Every route-handler event by file name (authorizer events, with ``methodArn``, are
    left out: they are not what a route handler parses)."""
    events = {}
    for path in sorted(fixture_dir().glob("*.json")):
        event = json.loads(path.read_text())
        if isinstance(event, dict) and "methodArn" not in event and "requestContext" in event:
            events[path.name] = event
    return events
