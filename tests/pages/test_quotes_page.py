"""Requests for quote on a page: Head Office sees an open request, is told what is wrong with a price it cannot take
(nothing priced), prices it, and the API shows the offer; the page passes axe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page

from tests.pages.conftest import Live, sign_in
from tests.pages.test_accessibility import violations
from tests.support import CHANNEL, HO, HO_KEY, JEANS, TEE


async def test_head_office_prices_a_request_for_quote_on_the_page(axe_page: Page, live: Live):
    body = {
        "customer": {"id": "B2B-9", "name": "Acme Uniforms Ltd", "email": "buyer@acme.example"},
        "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
        "lines": [{"sku": TEE, "quantity": 20}, {"sku": JEANS, "quantity": 5}],
        "notes": ["spring uniforms"],
    }
    quote = (await live.http.post("/quotes/requests", json=body, headers=CHANNEL)).json()
    quote_id = quote["quote_id"]
    page = axe_page
    await sign_in(page, HO_KEY)
    await page.goto("/ui/quotes")
    assert "spring uniforms" in await page.inner_text(f"#quote-{quote_id}")
    assert await violations(page) == []
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    await page.fill(f"#{quote_id}-price-0", "9.50")
    await page.fill(f"#{quote_id}-price-1", "ten pounds")
    await page.fill(f"#{quote_id}-valid-until", until)
    await page.click(f"#price-{quote_id}")
    assert "not an amount" in await page.inner_text(f"#quote-{quote_id} [role=alert]")
    assert (await live.http.get(f"/quotes/{quote_id}", headers=HO)).json()["status"] == "requested"  # nothing priced
    await page.fill(f"#{quote_id}-price-0", "9.50")
    await page.fill(f"#{quote_id}-price-1", "30")
    await page.fill(f"#{quote_id}-valid-until", until)
    await page.click(f"#price-{quote_id}")
    assert quote_id in await page.inner_text("[role=status]")
    assert await violations(page) == []
    priced = (await live.http.get(f"/quotes/{quote_id}", headers=HO)).json()
    assert priced["status"] == "quoted"
    assert [line["unit_price"]["amount"] for line in priced["offer"]["lines"]] == [950, 3000]
    assert priced["offer"]["valid_until"].startswith(until)
