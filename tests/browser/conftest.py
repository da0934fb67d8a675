"""The console in a real browser: the app served by uvicorn on 127.0.0.1, Playwright
driving the machine's Chromium (``/usr/bin/chromium``; ``CAREPATH_CHROMIUM`` may name
another). No browser is downloaded: without Chromium these tests skip, saying how to
install it, unless ``CAREPATH_BROWSER_REQUIRED=1`` (CI), when they fail.

The database is made once per session: a demo chain of 200 customers
(``cli.demo.load_demo``, 180 days up to today) and one user of each role. Each module
serves its own app over it, created as the API tests create theirs (a SqlStore and a
Dispatcher over the time-skipping Temporal test server, ``time_env``), in a thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.console.throttle import LoginThrottle
from cli.demo import DemoOptions, load_demo
from engine.dispatch.dispatcher import Dispatcher
from engine.models.users import Role
from engine.settings import Settings
from engine.store.sql import SqlStore
from tests.db import migrated_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CAREPATH_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("CAREPATH_BROWSER_REQUIRED") == "1"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VENDOR = ROOT / "api" / "console" / "static" / "vendor"
SCREENSHOTS = ROOT / "var" / "screenshots"

PASSWORD = "sesame-street-42"
#: username: (role, clinics, display name)
USERS: dict[str, tuple[Role, list[str], str]] = {
    "chen.admin": ("admin", [], "陈主管"),
    "li.ops": ("operator", [], "李运营"),
    "wang.desk": ("staff", ["c01", "c02"], "王前台"),
}
STAFF_CLINICS = USERS["wang.desk"][1]


def _missing(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{reason} (CAREPATH_BROWSER_REQUIRED=1: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium to drive; skips (or, when required, fails) without one."""
    path = Path(CHROMIUM)
    if not (path.is_file() and os.access(path, os.X_OK)):
        _missing(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CAREPATH_CHROMIUM)")
    for asset in (VENDOR / "htmx.min.js", AXE):
        if not asset.is_file():
            pytest.fail(f"{asset} is missing: run `make assets` (npm ci, then the copy)")
    return str(path)


@pytest.fixture(scope="session")
def demo_url(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database with the demo chain and a user of each role."""
    with migrated_database(tmp_path_factory.mktemp("console")) as url:
        store = SqlStore(url)
        try:
            load_demo(store, DemoOptions(customers=200, seed=1))
            for username, (role, clinics, name) in USERS.items():
                store.create_user(username, PASSWORD, role, clinics, display_name=name)
        finally:
            store.close()
        yield url


@dataclass
class ConsoleServer:
    """The app under test, where it listens, and the store behind it."""

    url: str
    app: FastAPI
    store: SqlStore

    def forget_failed_sign_ins(self) -> None:
        """A fresh sign-in throttle: every test's requests come from 127.0.0.1."""
        self.app.state.login_throttle = LoginThrottle()


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread on a free 127.0.0.1 port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the console's server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def console(demo_url: str, time_env: WorkflowEnvironment) -> Iterator[ConsoleServer]:
    """The app over the demo database, served for this module."""
    store = SqlStore(demo_url)
    dispatcher = Dispatcher(time_env.client, store, f"console-{uuid.uuid4().hex[:8]}")
    app = create_app(store, dispatcher, Settings())
    try:
        with serving(app) as url:
            yield ConsoleServer(url, app, store)
    finally:
        store.close()


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium)
        yield launched
        await launched.close()


async def new_context(browser: Browser, console: ConsoleServer, **options: Any) -> BrowserContext:
    """A fresh browser profile (no cookies) on the console, in Chinese unless told."""
    options.setdefault("locale", "zh-CN")
    context = await browser.new_context(base_url=console.url, **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
async def page(browser: Browser, console: ConsoleServer) -> AsyncIterator[Page]:
    """A page in a fresh profile, the throttle reset."""
    console.forget_failed_sign_ins()
    context = await new_context(browser, console)
    yield await context.new_page()
    await context.close()


async def sign_in(
    page: Page, username: str, password: str = PASSWORD, path: str = "/login"
) -> None:
    """Fill in and send the sign-in form at ``path``."""
    await page.goto(path)
    await page.get_by_label("用户名").or_(page.get_by_label("Username")).fill(username)
    await page.get_by_label("密码").or_(page.get_by_label("Password")).fill(password)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_load_state()


async def screenshot(page: Page, name: str) -> Path:
    """``var/screenshots/<name>-<width>.png`` of the whole page."""
    width = (page.viewport_size or {"width": 0})["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{width}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
