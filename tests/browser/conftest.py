"""Fixtures of the browser tests: a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) and the example chat stack served by
``cdk-ws-api local --static web``.

The tests never skip: without Chromium they fail saying how to install it (``make test``
installs it itself, see the Makefile's ``browser`` target). Nothing is downloaded: Selenium
is given the driver and the browser binaries, and Chromium runs with its background
networking, component updates and sync off, in a fresh profile.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdk_ws_api.testing import LocalProcess, run_local
from tests.e2e.e2e_helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1360,860",
)
#: Where the tests write their screenshots (``SCREENSHOTS_DIR=docs`` refreshes the docs').
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"

# Selenium Manager must never try to fetch a driver or a browser.
os.environ.setdefault("SE_OFFLINE", "true")


def _require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"the browser tests need Debian's Chromium ({', '.join(missing)} missing): run "
            "`make browser` or, as root, `apt-get install -y chromium chromium-driver`",
            pytrace=False,
        )


Browser = Callable[[], "object"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Callable[[], object]]:
    """``browser()`` opens a new Chromium window (its own profile); all quit at the end."""
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[object] = []
    profiles: list[str] = []

    def open_browser() -> object:
        profile = tempfile.mkdtemp(prefix="cdk-ws-api-chromium-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(60)
        drivers.append(driver)
        return driver

    yield open_browser
    for driver in drivers:
        driver.quit()  # type: ignore[attr-defined]
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def chat_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    """The example stack served like ``make run`` serves it, with ``web/`` at ``/``."""
    output = tmp_path_factory.mktemp("browser-cdk-out")
    emulator = run_local(
        ["--output", str(output), "--static", str(ROOT / "web")], cwd=ROOT, timeout=180
    )
    yield emulator
    assert emulator.stop() == 0


def console_url(emulator: LocalProcess) -> str:
    found = re.search(r"Console:\s+(http\S+)", emulator.log)
    assert found, emulator.log
    return found.group(1)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
