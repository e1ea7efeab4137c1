"""The customer view and the analytics page in a real Chromium: search, a customer's page linking to each order,
and the analytics charts drawn by the vendored Chart.js under the strict CSP, with no console errors."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

from playwright.async_api import ConsoleMessage, Error, Page, Response, expect
from sqlalchemy import Engine
from sqlmodel import Session

from bench.insight_queries import synthetic_view
from models.db.bulk import load_views
from models.db.orders import forget_all_orders
from tests.insight_support import ORDER_TOTAL, build_world
from tests.pages.conftest import Live, screenshot, sign_in
from tests.support import HO_KEY

STORE_S001_KEY = "test-store-s001"


def _collect_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium asks every site for /favicon.ico, which Baton does not serve: not the page's error.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    def on_page_error(error: Error) -> None:
        errors.append(str(error))

    def on_response(response: Response) -> None:
        if response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    return errors


async def test_customer_search_and_view_link_every_order(page: Page, live: Live):
    world = await build_world(live.http)
    errors = _collect_errors(page)
    await sign_in(page, HO_KEY)

    await page.click("header nav >> text=Customers")
    await expect(page.locator("h1")).to_have_text("Customers")
    await page.fill("input[name=q]", "7700 900")  # part of Ada's phone number, spaced as people type it
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("#customer-count")).to_have_text("1 customer found")
    await expect(page.locator("tr[data-customer='C-ADA']")).to_contain_text("Ada Lovelace")

    await page.click("tr[data-customer='C-ADA'] a")
    await expect(page.locator("h1")).to_have_text("Ada Lovelace")
    a, b = world.a["order_number"], world.b["order_number"]
    rows = page.locator("#customer-orders tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_have_attribute("data-order", b)
    await expect(rows.nth(0)).to_contain_text("cancelled")
    await expect(rows.nth(1)).to_contain_text("completed")
    await expect(page.locator("#refunds")).to_contain_text("customer changed mind")
    await expect(page.locator("#notes tbody tr")).to_have_count(2)
    await screenshot(page, "customer-view.png")

    await page.click(f"#customer-orders a:text-is('{a}')")
    await expect(page).to_have_url(re.compile(rf"/ui/orders/{a}$"))
    assert errors == []


async def test_analytics_page_draws_its_charts_and_downloads_csv(page: Page, live: Live):
    await build_world(live.http)
    errors = _collect_errors(page)
    await sign_in(page, HO_KEY)

    await page.click("header nav >> text=Analytics")
    await expect(page.locator("h1")).to_have_text("Analytics")
    await expect(page.locator("body")).to_have_attribute("data-charts-ready", "true")
    for chart in ("by-day", "by-channel", "by-store", "breaches", "stage-times"):
        canvas = page.locator(f"#chart-{chart}")
        await expect(canvas).to_have_attribute("data-rendered", "true")
        box = await canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    await expect(page.locator("#totals [data-total='orders'] b")).to_have_text("4")
    await expect(page.locator("#totals [data-total='breach-rate'] b")).to_have_text("25.0%")
    await expect(page.locator("#breach-rates tr[data-store='S002']")).to_contain_text("50.0%")
    await expect(page.locator("#cancellation-reasons")).to_contain_text("customer changed mind")
    await expect(page.locator("#customer-analysis tbody tr").first).to_have_attribute("data-customer", "C-GRACE")

    async with page.expect_download() as download_info:
        await page.click("#summary-csv")
    download = await download_info.value
    text = open(await download.path()).read()  # noqa: PTH123, ASYNC230 (a small local file)
    assert text.splitlines()[0].startswith("day,store_id,channel,currency,orders")
    assert f",{ORDER_TOTAL}," in text

    # A channel filter narrows every figure.
    await page.select_option("select[name=channel]", "web")
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("#totals [data-total='orders'] b")).to_have_text("2")
    assert errors == []


async def test_store_staff_do_not_get_the_customer_or_analytics_pages(page: Page, live: Live):
    await sign_in(page, STORE_S001_KEY)
    for path in ("/ui/customers", "/ui/analytics", "/ui/customers/C-ADA"):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
    await expect(page.locator("header nav")).not_to_contain_text("Analytics")


async def test_analytics_page_over_many_orders_draws_every_series(page: Page, live: Live, db: Engine):
    """A few thousand orders loaded straight into the read model (as bench/ does), for a page with real shape."""
    rng, now = random.Random(16), datetime.now(UTC)
    with Session(db) as session:
        load_views(session, [synthetic_view(n, rng, now) for n in range(3000)], now)
    try:
        errors = _collect_errors(page)
        await sign_in(page, HO_KEY)
        await page.goto("/ui/analytics")
        await expect(page.locator("body")).to_have_attribute("data-charts-ready", "true")
        orders = int(await page.locator("#totals [data-total='orders'] b").inner_text())
        assert 900 < orders < 1100  # a third of 90 days
        await expect(page.locator("#stage-times tr[data-store='*']")).not_to_contain_text("—")
        await expect(page.locator("#breach-rates tbody tr")).to_have_count(40)
        await screenshot(page, "analytics.png")
        assert errors == []
    finally:
        with Session(db) as session:
            forget_all_orders(session)  # no workflows behind them to terminate
