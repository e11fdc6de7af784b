"""The example chat page and the console in a real headless Chromium.

Two chat pages join one room and see each other's messages; the console lists their
connections and shows the ``send`` route in its log, posts to a page, and disconnects a page
(which shows the close while the console's list updates); the console refuses a browser
without its token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cdk_ws_api.testing import LocalProcess

from .conftest import console_url

pytestmark = pytest.mark.timeout(300)

WAIT = 60  # seconds: cold workers and moto start on the first connection


def _wait(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    try:
        # A row read while the page replaces it is stale: read again at the next poll.
        return WebDriverWait(
            driver, WAIT, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)
    except Exception as exc:
        body = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"timed out waiting for {what}; page shows:\n{body}") from exc


def _text(driver: Any, selector: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def _chat_page(browser: Callable[[], Any], site: LocalProcess, user: str, room: str) -> Any:
    page = browser()
    page.get(f"http://{urlsplit(site.ws_url).netloc}/?url={site.ws_url}")
    page.find_element(By.ID, "user").send_keys(user)
    room_input = page.find_element(By.ID, "room")
    room_input.clear()
    room_input.send_keys(room)
    page.find_element(By.ID, "join-button").click()
    _wait(page, lambda d: "connected as" in _text(d, "#status"), f"{user} to connect")
    return page


def _say(page: Any, text: str) -> None:
    box = page.find_element(By.ID, "text")
    box.send_keys(text)
    page.find_element(By.ID, "send-button").click()


def _connection_ids(console: Any) -> set[str]:
    rows = console.find_elements(By.CSS_SELECTOR, "#connections tr.connection")
    return {row.get_attribute("data-id") for row in rows}


@pytest.fixture(scope="module")
def pages(browser: Callable[[], Any], chat_site: LocalProcess) -> dict[str, Any]:
    alice = _chat_page(browser, chat_site, "alice", "lobby")
    bob = _chat_page(browser, chat_site, "bob", "lobby")
    return {"alice": alice, "bob": bob}


def test_two_chat_pages_see_each_others_messages(pages: dict[str, Any], screenshots: Path) -> None:
    alice, bob = pages["alice"], pages["bob"]
    _say(alice, "hello from alice")
    _wait(bob, lambda d: "alice hello from alice" in _text(d, "#messages"), "bob to get it")
    _say(bob, "hi alice, bob here")
    _wait(alice, lambda d: "bob hi alice, bob here" in _text(d, "#messages"), "alice to get it")
    # each sees the room's messages in order, their own included (the sender is a member)
    assert _text(alice, "#messages").splitlines() == [
        "alice hello from alice",
        "bob hi alice, bob here",
    ]
    bob.save_screenshot(str(screenshots / "chat.png"))


def test_console_lists_both_connections_and_logs_the_send_route(
    browser: Callable[[], Any], chat_site: LocalProcess, pages: dict[str, Any], screenshots: Path
) -> None:
    console = browser()
    console.get(console_url(chat_site))
    _wait(console, lambda d: "feed: live" in _text(d, "#feed-status"), "the feed")
    _wait(console, lambda d: len(_connection_ids(d)) == 2, "two connections listed")
    rows = _text(console, "#connections tbody")
    assert "token=demo-alice" in rows and "token=demo-bob" in rows
    assert '"user":"alice"' in rows.replace(" ", "")  # the authorizer context
    console.find_element(By.CSS_SELECTOR, "nav button[data-view=log]").click()
    # the two sends made above are in the log the console received at start
    send_rows = console.find_elements(By.CSS_SELECTOR, "#log tr.access")
    sends = [r for r in send_rows if r.get_attribute("data-route") == "send"]
    assert len(sends) >= 2, _text(console, "#log")
    assert all(re.search(r"MESSAGE\s+send\s+\S+=\s+200", r.text) for r in sends)
    # a click shows the Lambda event sent and the response returned
    sends[0].click()
    _wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail pre.event"), "detail")
    event = _text(console, "#detail pre.event")
    assert '"routeKey": "send"' in event and "hello from alice" in event
    assert '"statusCode"' in _text(console, "#detail pre.response")
    # a live line: a new send appears without reloading
    _say(pages["alice"], "while the console watches")
    _wait(
        console,
        lambda d: (
            len(
                [
                    r
                    for r in d.find_elements(By.CSS_SELECTOR, "#log tr.access")
                    if r.get_attribute("data-route") == "send"
                ]
            )
            >= 3
        ),
        "the new send line",
    )
    # filtering by route hides the other lines
    from selenium.webdriver.support.ui import Select

    Select(console.find_element(By.ID, "filter-route")).select_by_value("send")
    visible = [r for r in console.find_elements(By.CSS_SELECTOR, "#log tr") if r.is_displayed()]
    assert visible and all(r.get_attribute("data-route") == "send" for r in visible)
    Select(console.find_element(By.ID, "filter-route")).select_by_value("")
    console.find_element(By.CSS_SELECTOR, "nav button[data-view=connections]").click()
    console.save_screenshot(str(screenshots / "console.png"))
    console.find_element(By.CSS_SELECTOR, "nav button[data-view=log]").click()
    console.save_screenshot(str(screenshots / "console-log.png"))
    pages["console"] = console


def _row_of(console: Any, query: str) -> Any:
    for row in console.find_elements(By.CSS_SELECTOR, "#connections tr.connection"):
        if query in row.text:
            return row
    raise AssertionError(f"no connection row with {query}: {_text(console, '#connections')}")


def test_post_from_the_console_appears_in_the_page(pages: dict[str, Any]) -> None:
    console, bob = pages["console"], pages["bob"]
    console.find_element(By.CSS_SELECTOR, "nav button[data-view=connections]").click()
    row = _row_of(console, "token=demo-bob")
    row.find_element(By.CSS_SELECTOR, "input.post-data").send_keys(
        '{"room":"lobby","from":"console","text":"posted by the console"}'
    )
    _row_of(console, "token=demo-bob").find_element(By.CSS_SELECTOR, "button.post").click()
    _wait(bob, lambda d: "console posted by the console" in _text(d, "#messages"), "the post")
    _wait(console, lambda d: "HTTP 200" in _text(d, "#connection-result"), "the post's answer")
    assert "posted by the console" not in _text(pages["alice"], "#messages")


def test_disconnect_from_the_console_closes_that_page_and_updates_the_list(
    pages: dict[str, Any],
) -> None:
    console, alice, bob = pages["console"], pages["alice"], pages["bob"]
    before = _connection_ids(console)
    assert len(before) == 2
    _row_of(console, "token=demo-alice").find_element(By.CSS_SELECTOR, "button.disconnect").click()
    _wait(alice, lambda d: "disconnected: 1000" in _text(d, "#status"), "alice's page to close")
    assert "Normal closure" in _text(alice, "#status")
    _wait(console, lambda d: len(_connection_ids(d)) == 1, "the list to drop alice")
    assert "token=demo-bob" in _text(console, "#connections tbody")
    assert "token=demo-alice" not in _text(console, "#connections tbody")
    assert "connected as bob" in _text(bob, "#status")  # the other page stays connected


def test_console_without_its_token_is_refused(
    browser: Callable[[], Any], chat_site: LocalProcess
) -> None:
    page = browser()
    url = console_url(chat_site)
    page.get(url.split("?")[0])
    assert "403" in page.title or "refused" in page.title
    assert "printed at start" in _text(page, "body")
    page.get(url.split("?")[0] + "?token=not-the-token")
    assert "wrong console token" in _text(page, "body")
    assert page.find_elements(By.ID, "connections") == []
