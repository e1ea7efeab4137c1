"""Named staff accounts on the pages: sign-in by user name and password, the person named in history, sessions
ended by a new password or sign-out, and store staff on their store's Pick Manager."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from models.db.staff import create_staff_user, set_active, set_password
from models.staff import StaffRole, StaffUser
from tests.pages.conftest import Live, sign_in_as
from tests.support import CHANNEL, HO, order_body, wait_for_status

PASSWORD = "a-long-test-password"


def add_staff(db: Engine, username: str, role: StaffRole, store_id: str | None = None, name: str = "") -> None:
    user = StaffUser(username=username, display_name=name or username.title(), role=role, store_id=store_id)
    with Session(db) as session:
        create_staff_user(session, user, PASSWORD, datetime.now(UTC))


async def test_a_named_agent_signs_in_and_history_names_them(page: Page, live: Live, db: Engine):
    add_staff(db, "alice.agent", StaffRole.ho_agent, name="Alice Agent")
    response = await live.http.post("/orders", json=order_body(), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")

    await sign_in_as(page, "alice.agent", "not-the-password")
    await expect(page.locator("#sign-in-error")).to_contain_text("wrong password")
    await sign_in_as(page, "Alice.Agent", PASSWORD)  # names are not case-sensitive
    await expect(page).to_have_url(re.compile(r"/ui/orders$"))
    await expect(page.locator("#who")).to_have_text("Alice Agent · Head Office agent")

    await page.goto(f"/ui/orders/{number}")
    await page.click("details[data-action=notes] > summary")
    await page.fill("#action-notes textarea[name=text]", "rang the customer")
    await page.click("#action-notes button[type=submit]")
    await expect(page.locator("#notes")).to_contain_text("rang the customer")
    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert (view["notes"][-1]["text"], view["notes"][-1]["actor"]) == ("rang the customer", "ho:alice.agent")
    assert any(h["actor"] == "ho:alice.agent" for h in view["history"])

    # A new password ends the sessions signed in with the old one.
    with Session(db) as session:
        set_password(session, "alice.agent", "another-long-password", datetime.now(UTC))
    await page.goto("/ui/orders")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    await sign_in_as(page, "alice.agent", PASSWORD)
    await expect(page.locator("#sign-in-error")).to_be_visible()


async def test_store_staff_land_on_their_pick_manager_and_a_disabled_account_cannot_sign_in(
    page: Page, live: Live, db: Engine
):
    add_staff(db, "sam", StaffRole.store_staff, store_id="S001", name="Sam")
    await sign_in_as(page, "sam", PASSWORD)
    await expect(page).to_have_url(re.compile(r"/ui/store$"))
    await expect(page.locator("#who")).to_have_text("Sam · store staff S001")
    await page.goto("/ui/orders")  # Head Office's dashboard: a store user lands on their Pick Manager
    await expect(page).to_have_url(re.compile(r"/ui/store$"))

    with Session(db) as session:
        set_active(session, "sam", False)
    await page.goto("/ui/store")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    await sign_in_as(page, "sam", PASSWORD)
    await expect(page.locator("#sign-in-error")).to_contain_text("Unknown user name or wrong password")

    with Session(db) as session:
        set_active(session, "sam", True)
    await sign_in_as(page, "sam", PASSWORD)
    await page.click("text=Sign out")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    await page.goto("/ui/store")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
