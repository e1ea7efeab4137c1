"""Fixtures for the page tests: the API served over real HTTP (uvicorn in the test's event loop, so it shares the
Temporal client), an in-process worker, and Debian's chromium driven by Playwright (never downloaded)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.collection import collection_code
from models.settings import Settings
from tests.conftest import _terminate_open_orders
from tests.support import API_KEYS, HO
from worker import build_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    """The API on a real port, an HTTP client for it, and its settings."""

    base_url: str
    http: httpx.AsyncClient
    settings: Settings


@pytest_asyncio.fixture
async def live(
    dev_env: WorkflowEnvironment, db: Engine, database_url: str, executor: ThreadPoolExecutor
) -> AsyncIterator[Live]:
    settings = Settings(
        database_url=database_url,
        task_queue=f"pages-{uuid.uuid4().hex[:8]}",
        api_keys=API_KEYS,  # type: ignore[arg-type]
        session_secret="page-tests-session-secret",  # type: ignore[arg-type]
        cookie_secure=False,  # served over plain http
    )
    app = create_app(settings, temporal=dev_env.client)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as http, httpx.AsyncClient() as outbound:
            async with build_worker(dev_env.client, settings, db, outbound, executor):
                try:
                    yield Live(base_url, http, settings)
                finally:
                    await _terminate_open_orders(dev_env.client, db, settings)
    finally:
        server.should_exit = True
        await serving


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: the page tests drive Debian's chromium. Install it with "
            "`apt-get install -y chromium` (./baton test does this itself when run as root).",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture
async def page(browser: Browser, live: Live) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live.base_url, viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


async def sign_in(page: Page, key: str) -> None:
    """Sign in with an API key (the way systems and the dev stack do)."""
    await page.goto("/ui/sign-in")
    await page.click("summary")
    await page.fill("input[name=api_key]", key)
    await page.click("#key-sign-in-button")
    await page.wait_for_load_state()


async def sign_in_as(page: Page, username: str, password: str) -> None:
    """Sign in as a named staff user."""
    await page.goto("/ui/sign-in")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#sign-in-button")
    await page.wait_for_load_state()


WIDTHS = (1280, 1024, 390)  # desktop, tablet, phone: the flows of issue 19 run at each


def viewport(width: int) -> dict[str, int]:
    return {"width": width, "height": 844 if width <= 400 else 768 if width <= 1024 else 900}


async def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    """Docs screenshots, written only when BATON_WRITE_SCREENSHOTS=1 (`full_page=False`: what the viewport shows)."""
    if os.environ.get("BATON_WRITE_SCREENSHOTS") == "1":
        await page.screenshot(path=str(DOCS / name), full_page=full_page)


async def code_of(live: Live, order_number: str) -> str:
    """The order's collection code, as the customer's ready message gives it (models/collection.py)."""
    view = (await live.http.get(f"/orders/{order_number}", headers=HO)).json()
    created = datetime.fromisoformat(view["created_at"])
    return collection_code(order_number, view["web_reference"], view["customer"]["id"], created)


@pytest_asyncio.fixture
async def axe_page(browser: Browser, live: Live) -> AsyncIterator[Page]:
    # The pages' CSP allows no inline script: axe is added to the page only by the test, past the policy.
    context = await browser.new_context(
        base_url=live.base_url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()
