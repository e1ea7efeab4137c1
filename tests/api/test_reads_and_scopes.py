"""Reads behind a key: settings for Head Office, stores' webhook URLs for Head Office and the store itself, and a
channel key bound to channels reading only those channels' orders. On the real API, worker, Temporal and database."""

from __future__ import annotations

from tests.support import CHANNEL, HO, STORE_S001, STORE_S002, WEB_ONLY, make_ready, order_body, place

HOOK = "https://s001.example.com/baton"


async def test_settings_are_read_by_head_office_only(stack) -> None:
    for path in ("/settings/sla", "/settings/payments"):
        assert (await stack.http.get(path)).status_code == 401
        for key in (CHANNEL, STORE_S001):
            refused = await stack.http.get(path, headers=key)
            assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
        assert (await stack.http.get(path, headers=HO)).status_code == 200


async def test_store_webhook_urls_are_shown_to_head_office_and_the_store_only(stack) -> None:
    body = {"name": "London Oxford Street", "webhook_url": HOOK}
    assert (await stack.http.put("/stores/S001", json=body, headers=HO)).status_code == 200
    assert (await stack.http.get("/stores")).status_code == 401
    assert (await stack.http.get("/stores/S001")).status_code == 401

    async def seen(key: dict[str, str]) -> tuple[str | None, str | None]:
        listed = {s["store_id"]: s for s in (await stack.http.get("/stores", headers=key)).json()}
        one = (await stack.http.get("/stores/S001", headers=key)).json()
        assert "webhook_secret" not in one and all("webhook_secret" not in s for s in listed.values())
        return listed["S001"]["webhook_url"], one["webhook_url"]

    assert await seen(HO) == (HOOK, HOOK)
    assert await seen(STORE_S001) == (HOOK, HOOK)
    assert await seen(STORE_S002) == (None, None)
    assert await seen(CHANNEL) == (None, None)


async def test_a_channel_bound_key_reads_only_its_channels_orders(stack) -> None:
    phone = await stack.http.post("/orders", json=order_body(channel="phone"), headers=CHANNEL)
    web = await stack.http.post("/orders", json=order_body(), headers=WEB_ONLY)
    assert phone.status_code == web.status_code == 201, (phone.text, web.text)
    phone_number, web_number = phone.json()["order_number"], web.json()["order_number"]

    listed = (await stack.http.get("/orders", headers=WEB_ONLY)).json()
    assert web_number in {o["order_number"] for o in listed["items"]}
    assert phone_number not in {o["order_number"] for o in listed["items"]}
    assert all(o["channel"] == "web" for o in listed["items"]) and listed["total"] == len(listed["items"])
    searched = await stack.http.get("/orders", params={"order_number": phone_number}, headers=WEB_ONLY)
    assert searched.json()["total"] == 0
    for path in (f"/orders/{phone_number}", f"/orders/{phone_number}/payments", f"/orders/{phone_number}/exports"):
        hidden = await stack.http.get(path, headers=WEB_ONLY)
        assert hidden.status_code == 404, (path, hidden.text)  # as if it did not exist
    assert (await stack.http.get(f"/orders/{web_number}", headers=WEB_ONLY)).status_code == 200
    # An unbound channel key places for any channel, and reads every channel's orders, as before.
    everyone = {o["order_number"] for o in (await stack.http.get("/orders", headers=CHANNEL)).json()["items"]}
    assert {phone_number, web_number} <= everyone
    assert (await stack.http.get(f"/orders/{phone_number}", headers=CHANNEL)).status_code == 200


async def test_a_channel_bound_key_reads_only_its_channels_extracts(stack) -> None:
    phone = await place(stack.http, order_body(channel="phone"))
    web = await place(stack.http)
    for number in (phone, web):
        await make_ready(stack.http, number)  # each makes a ready_for_collection extract

    async def listed(key: dict[str, str]) -> set[str]:
        items = (await stack.http.get("/extracts", headers=key)).json()["items"]
        return {item["order_number"] for item in items}

    assert {phone, web} <= await listed(CHANNEL)
    web_only = await listed(WEB_ONLY)
    assert web in web_only and phone not in web_only
    phone_extract = f"{phone}:5:extract"
    assert (await stack.http.get(f"/extracts/{phone_extract}", headers=WEB_ONLY)).status_code == 404
    assert (await stack.http.get(f"/extracts/{phone_extract}", headers=CHANNEL)).status_code == 200
    assert (await stack.http.get(f"/extracts/{web}:5:extract", headers=WEB_ONLY)).status_code == 200
