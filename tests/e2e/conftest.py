"""Fixtures of the end-to-end tests: the plain L2 stack, synthesized once per session, served
with the public helper (``cdk_ws_api.testing``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import PLAIN_STACK_APP, serve_watched, synth

from cdk_ws_api.testing import LocalApi, LocalProcess, run_local, serve

HOSTILE_STACK_APP = Path(__file__).resolve().parent / "hostile_stack" / "stack_app.py"

# A user's project, copied and run by test_testing_helper.py in its own directory; collected
# from here it would serve the repository's app.py and put its own app.py on sys.path ahead
# of the example's (tests/test_example_stack.py imports that as ``app``). watch_project is
# copied and edited by test_watch.py the same way, watch_app_project and
# watch_plain_project by test_watch_app.py.
collect_ignore = ["outside_project", "watch_project", "watch_app_project", "watch_plain_project"]


@pytest.fixture(scope="session")
def plain_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth(PLAIN_STACK_APP, tmp_path_factory.mktemp("plain-cdk-out"))


@pytest.fixture(scope="session")
def plain(plain_assembly: Path) -> Iterator[LocalApi]:
    """The plain stack served with AWS's limits (timeouts shortened where tests need it)."""
    with serve(plain_assembly, stack="PlainStack") as api:
        yield api


@pytest.fixture(scope="session")
def hostile_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile-client tests' stack (inline handlers, no table: no moto to wait for)."""
    return synth(HOSTILE_STACK_APP, tmp_path_factory.mktemp("hostile-cdk-out"))


@pytest.fixture(scope="session")
def hostile(hostile_assembly: Path) -> Iterator[LocalProcess]:
    """``HostileStack`` served by a real ``cdk-ws-api local`` process (its memory is measured)
    with a 2 s request timeout (the default is 10 s)."""
    emulator = run_local(["--assembly", str(hostile_assembly), "--header-timeout", "2"])
    yield emulator
    assert emulator.stop() == 0


@pytest.fixture(scope="module")
def _served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalApi, Path]]:
    # The module's WATCH_PROJECT, copied (the tests edit the copy) and served with --watch.
    name = request.module.WATCH_PROJECT
    with serve_watched(name, tmp_path_factory.mktemp(name)) as served:
        yield served


@pytest.fixture(scope="module")
def project(_served: tuple[LocalApi, Path]) -> Path:
    """The watched project's directory (a copy: tests edit its files)."""
    return _served[1]


@pytest.fixture(scope="module")
def watched(_served: tuple[LocalApi, Path]) -> LocalApi:
    """The module's ``WATCH_PROJECT`` served with ``watch=True``."""
    return _served[0]
