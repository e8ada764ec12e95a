"""Browser tests: Playwright's Python package driving Debian's Chromium against
pytest-django's live server (a real HTTP server on a thread, with a transactional database
so the server sees what a test writes).

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it when missing),
never Playwright's own download. Screenshots for people to look at are saved under
``artifacts/screenshots/`` (git-ignored; CI keeps the folder as its artifacts).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One headless Chromium for all the browser tests, closed when they are done."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium).")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio event loop running in this thread, and
        # Django refuses database calls from a thread with a running event loop
        # (SynchronousOnlyOperation), meant for async views. These tests only call the ORM
        # synchronously between browser steps, never from the loop, so the guard is
        # switched off, and only while the browser runs: the rest of the suite keeps it.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


class InFlight:
    """How many requests the live server is answering right now.

    The pages a test leaves open keep asking the server (a session page's status, a
    room's heartbeat) until the browser context is closed, and a request the server is
    still answering then would hold table locks while the test's database is flushed:
    PostgreSQL saw the two deadlock. The server's application is wrapped once to count.
    """

    def __init__(self, httpd) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._app = httpd.get_app()
        httpd.set_app(self)

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        try:
            # Django builds the whole answer here (no streaming responses in these pages).
            return self._app(environ, start_response)
        finally:
            with self._lock:
                self.count -= 1


@pytest.fixture(scope="session")
def in_flight(live_server) -> InFlight:
    return InFlight(live_server.thread.httpd)


@pytest.fixture
def context(browser, live_server, in_flight) -> Iterator:
    """A fresh browser profile (cookies, storage) per test."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()
    # Before the database is flushed: nothing the closed pages asked is still running.
    wait_until(lambda: in_flight.count == 0, timeout=10, what="the server answered the pages")


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def login(context, live_server) -> Callable:
    """``login(user)``: the browser is logged in as ``user`` (a session cookie, no form)."""

    def log_in(user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return log_in


@pytest.fixture
def screenshot() -> Callable:
    """``screenshot(page, name)``: keep a picture of the page for people to look at."""

    def save(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "") -> None:
    """Wait, at most ``timeout`` seconds, for something the server does after the browser
    asked, such as the goodbye beacon of a page being left (the beacon outlives its page,
    so the browser reports no answer to wait for)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting until {what or condition}")
        time.sleep(0.05)
