"""Custom fields in a real Chromium: the dashboard's field filter finds an order by a value, the order page shows
the order's and each line's values, and Head Office edits one from its form, the history then showing the change;
axe-core finds nothing wrong with either page as they show them."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import Engine

from models.staff import StaffRole
from tests.pages.conftest import Live, sign_in_as
from tests.pages.test_accessibility import violations
from tests.pages.test_dashboard import _shown
from tests.pages.test_pages import open_action, send
from tests.pages.test_staff import PASSWORD, add_staff
from tests.support import CHANNEL, HO, order_body, wait_for_status

FIELDS = {
    "fields": [
        {"name": "po_number", "label": "PO number", "type": "text", "required": True},
        {"name": "gift", "label": "Gift wrap", "type": "boolean", "applies_to": "line"},
    ]
}


async def _place(live: Live, po_number: str) -> str:
    body = order_body(custom_fields={"po_number": po_number})
    body["lines"][0]["custom_fields"] = {"gift": True}
    response = await live.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    return number


async def test_filter_by_a_field_see_it_on_the_order_and_edit_it(axe_page: Page, live: Live, db: Engine):
    page = axe_page  # axe-core checks the pages with the fields showing
    assert (await live.http.put("/settings/custom-fields", json=FIELDS, headers=HO)).status_code == 200
    add_staff(db, "alice", StaffRole.ho_agent, name="Alice")
    wanted, other = await _place(live, "PO-41"), await _place(live, "PO-42")
    await sign_in_as(page, "alice", PASSWORD)

    await page.goto("/ui/orders?view=all")
    assert {wanted, other} <= set(await _shown(page))
    await page.fill("#f-field", "po_number:PO-41")
    await page.locator("form.filters button[type=submit]").click()
    await expect(page.locator("#f-field")).to_have_value("po_number:PO-41")
    assert await _shown(page) == [wanted]
    assert await violations(page) == [], "dashboard filtered by a custom field"

    await page.goto(f"/ui/orders/{wanted}")
    await expect(page.locator("dt[data-field=po_number]")).to_have_text("PO number")
    await expect(page.locator("dd[data-field-value=po_number]")).to_have_text("PO-41")
    await expect(page.locator("tr[data-line-fields=L1]")).to_contain_text("Gift wrap: yes")

    await open_action(page, "custom-fields")
    assert await violations(page) == [], "order page with its custom fields and the edit form"
    form = page.locator("#action-custom-fields")
    await form.locator("select[name=field]").select_option("po_number")
    await form.locator("input[name=value]").fill("PO-43")
    await form.locator("input[name=reason]").fill("the customer's new PO")
    await send(page, "custom-fields")
    await expect(page.locator("#result.done")).to_contain_text("po_number: PO-41 → PO-43")
    await expect(page.locator("dd[data-field-value=po_number]")).to_have_text("PO-43")
    await expect(page.locator("#history tr[data-action=custom_field_changed]")).to_contain_text("PO-41 → PO-43")

    await page.goto("/ui/orders?view=all&field=po_number:PO-43")
    assert await _shown(page) == [wanted]
