"""Print the requirements of ``tests/runtime`` alone, with pyproject.toml's own ranges.

``make test`` installs these into the small oldest-botocore venv (with
``constraints/botocore-oldest.txt``): boto3 (the runtime's one dependency) and the test tools
the runtime tests import. The ranges are read from pyproject.toml, never repeated here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

#: The distributions tests/runtime needs (boto3 from the project's dependencies, the rest
#: from its ``dev`` extra).
NEEDED = ("boto3", "pytest", "pytest-timeout", "moto", "hypothesis")


def requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    candidates = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    found: dict[str, str] = {}
    for requirement in candidates:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if name and name.group(0).lower() in NEEDED:
            found.setdefault(name.group(0).lower(), requirement)
    missing = [name for name in NEEDED if name not in found]
    if missing:
        raise SystemExit(f"pyproject.toml no longer lists {', '.join(missing)}")
    return [found[name] for name in NEEDED]


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.stdout.write("".join(f"{line}\n" for line in requirements(root / "pyproject.toml")))
