"""The console in a real browser: Debian's Chromium, driven by Playwright for Python.

``scripts/ensure-chromium`` installs the browser (the README's test command
runs it); Playwright never downloads one. The service runs in this process
on a free loopback port. Screenshots of the main pages go to
``build/screenshots/`` (or ``$ESCALATION_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.http import create_app
from tests.helpers import SMALL_RULES, T0, hours

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CANDIDATE = SMALL_RULES.replace("handle_within: 2 days", "handle_within: 3 days")
SHOTS = Path(os.environ.get("ESCALATION_SCREENSHOTS", "build/screenshots"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "run scripts/ensure-chromium (Debian's chromium)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(small_rules: Any, db_url: str) -> Iterator[dict[str, Any]]:
    """The service on a loopback port, with a store of three disputes and four tokens."""
    engine, tokens = bootstrap.open_service(small_rules, db_url, clock=lambda: T0 + hours(3))
    ids = {
        "red": engine.receive(
            unit="c11",
            category="wage_arrears",
            source="walk_in",
            summary="拖欠工资 三十人",
            parties=30,
            received_at=T0,
        ),
        "blue": engine.receive(
            unit="c11",
            category="neighbour",
            source="walk_in",
            summary="楼上漏水",
            received_at=T0 + hours(1),
        ),
    }
    secrets = {
        name: tokens.create(p, T0)[0]
        for name, p in {
            "clerk": Principal("张三", "clerk", units=("d1",)),
            "street2": Principal("李四", "clerk", units=("s2",)),
            "platform": Principal("平台", "platform"),
        }.items()
    }
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine, tokens), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "ids": ids, "tokens": secrets}
    finally:
        server.should_exit = True
        thread.join(20)
        engine.shutdown()


def log_in(page: Page, url: str, token: str) -> None:
    page.goto(url + "/")
    page.fill("input[name=token]", token)
    page.click("#login")
    page.wait_for_url(url + "/queue")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_clerk_mediates_through_the_console_and_the_case_moves_up(
    browser: Browser, site: dict[str, Any]
) -> None:
    url, ids = site["url"], site["ids"]
    page = browser.new_page()
    log_in(page, url, site["tokens"]["clerk"])
    top = page.locator("#queue tr[data-id]").first
    expect(top).to_have_attribute("data-id", str(ids["red"]))
    expect(top).to_have_class("red")
    colour = top.evaluate("row => getComputedStyle(row).backgroundColor")
    assert colour == "rgb(253, 236, 234)"  # the red band of the stylesheet
    shot(page, "queue")

    page.click(f"a[href='/d/{ids['blue']}']")
    expect(page.locator("#status")).to_have_text("open")
    for _ in range(2):  # community allows two attempts
        page.select_option("form[action$='/mediate'] select[name=outcome]", "failed")
        page.click("#do-mediate")
        expect(page.locator(".done")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Mediated")
    expect(page.locator("#timeline")).to_contain_text("张三")
    shot(page, "dispute")

    tick = page.request.post(
        url + "/api/tick",
        data={},
        headers={"Authorization": f"Bearer {site['tokens']['platform']}"},
    )
    assert tick.ok, tick.text()
    page.goto(url + "/queue?tier=street")
    expect(page.locator(f"#queue tr[data-id='{ids['blue']}']")).to_be_visible()
    shot(page, "street-queue")

    page.goto(url + "/queue?lang=en")  # English, remembered in a cookie
    page.goto(url + "/verify")
    expect(page.locator("main")).to_contain_text("This role may not see this")
    page.click("text=Log out")
    log_in(page, url, site["tokens"]["platform"])
    page.goto(url + "/verify")
    expect(page.locator("#verify-ok")).to_contain_text("every hash chain")
    shot(page, "verify")
    page.goto(url + "/rules")
    expect(page.locator("#rulebooks")).to_contain_text("active")
    shot(page, "rules")
    page.fill("#candidate textarea[name=yaml]", CANDIDATE)  # a rule owner's candidate
    page.click("#do-candidate")
    expect(page.locator("#check-ok")).to_be_visible()
    expect(page.locator("#diff")).to_contain_text("3 days")
    expect(page.locator("#whatif")).to_be_visible()
    shot(page, "candidate")
    page.close()


def test_a_street_clerk_cannot_open_another_streets_dispute(
    browser: Browser, site: dict[str, Any]
) -> None:
    url = site["url"]
    page = browser.new_page()
    log_in(page, url, site["tokens"]["street2"])
    expect(page.locator("#queue")).to_have_count(0)  # nothing of s1 is listed
    response = page.goto(f"{url}/d/{site['ids']['blue']}")
    assert response is not None
    assert response.status == 403
    expect(page.locator(".error")).to_contain_text("Forbidden")
    shot(page, "forbidden")
    page.close()
