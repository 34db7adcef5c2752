"""A real browser (Debian's headless Chromium via Playwright) signs in and reads a producer's page.

The app is served by uvicorn on 127.0.0.1; Playwright never downloads a browser. In CI a missing
Chromium fails the test (`.ci/browser` installs it); elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from api_kit import Tokens
from fastapi import FastAPI
from playwright.sync_api import Page, ViewportSize
from report_world import A_EXPIRED, REJECT_REASON, A, B
from sqlalchemy.engine import Engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing; run .ci/browser to install Debian's chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_producer_page_in_headless_chromium(server: str, tokens: Tokens, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            denied = page.goto(f"{server}/producers/{A}")
            assert denied is not None and denied.status == 401
            page.fill("input[name=token]", tokens.producer_a)
            page.click("input[type=submit]")
            page.wait_for_url(f"{server}/producers/{A}")
            assert page.title().startswith("Tình trạng sản phẩm trên sàn")

            rejected = page.locator('tr[data-shop="lazada-ag"][data-state="rejected"]')
            assert rejected.count() == 1 and rejected.is_visible()
            assert "Bị sàn từ chối" in rejected.inner_text() and REJECT_REASON in rejected.inner_text()
            assert page.locator(f'#p-{A_EXPIRED} tr[data-state="cert_expired"]').count() == 3
            assert page.get_by_text("Chờ sàn duyệt").first.is_visible()
            page.screenshot(path=str(tmp_path / "producer-desktop.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})  # a phone: rows become cards
            assert not page.locator("thead").first.is_visible()
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(tmp_path / "producer-phone.png"), full_page=True)

            page.click("text=English")
            page.wait_for_url("**lang=en")
            assert (
                "Rejected by the marketplace (product images)"
                in page.locator('tr[data-shop="lazada-ag"][data-state="rejected"]').inner_text()
            )

            other = page.goto(f"{server}/producers/AG-HKD-01")
            assert other is not None and other.status == 404
        finally:
            browser.close()
    assert (tmp_path / "producer-desktop.png").stat().st_size > 10_000
    assert (tmp_path / "producer-phone.png").stat().st_size > 10_000


PHONE: ViewportSize = {"width": 360, "height": 740}


def _sign_in(page: Page, server: str, token: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=token]", token)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _overflowing(page: Page, url: str) -> list[str]:
    """Visit `url` at 360 px; the page (and widest element) when it scrolls sideways, else []."""
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return []
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 360)
            .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))[0]"""
    )
    return [f"{url}: scrollWidth {width}, e.g. {widest}"]


def test_no_page_scrolls_sideways_on_a_360px_phone(server: str, tokens: Tokens, world_engine: Engine) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            problems: list[str] = []
            for lang in ("vi", "en"):
                anonymous = browser.new_page(viewport=PHONE)
                problems += _overflowing(anonymous, f"{server}/login?lang={lang}")
                problems += _overflowing(anonymous, f"{server}/producers/{A}?lang={lang}")  # 401 + sign-in form
                producer = browser.new_page(viewport=PHONE)
                _sign_in(producer, server, tokens.producer_a)
                for path in (f"/producers/{A}", "/", "/drift", f"/producers/{B}"):  # own page, 403s, 404
                    problems += _overflowing(producer, f"{server}{path}?lang={lang}")
                operator = browser.new_page(viewport=PHONE)
                _sign_in(operator, server, tokens.operator)
                for path in ("/", "/drift", f"/producers/{A}", f"/producers/{B}"):
                    problems += _overflowing(operator, f"{server}{path}?lang={lang}")
                operator.click("text=" + ("Đăng xuất" if lang == "vi" else "Sign out"))
                operator.wait_for_url(f"{server}/login")
            assert problems == []
        finally:
            browser.close()
