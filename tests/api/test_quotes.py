"""Requests for quote end to end: a request priced by Head Office below the catalogue, accepted and placed at the
quoted prices; an accept retried with its key answers the same order, a second acceptance is refused; a declined
quote cannot be accepted; an unanswered quote expires on its workflow's timer (time skipping) and is then refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from models.db.tables import OrderPlacementRow
from tests.support import CHANNEL, HO, JEANS, PRICES, TEE, eventually

CUSTOMER = {"id": "B2B-7", "name": "Acme Uniforms Ltd", "email": "buyer@acme.example"}


def _request(lines: list[tuple[str, int]] | None = None) -> dict:
    return {
        "channel": "web",
        "customer": CUSTOMER,
        "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in (lines or [(TEE, 20), (JEANS, 5)])],
        "notes": ["staff uniforms for the spring"],
    }


def _gbp(amount: int) -> dict:
    return {"amount": amount, "currency": "GBP"}


async def _requested(stack, body: dict | None = None, key: str | None = None) -> dict:
    headers = CHANNEL | ({"Idempotency-Key": key} if key else {})
    response = await stack.http.post("/quotes/requests", json=body or _request(), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _priced(stack, quote_id: str, prices: list[int], valid_for: timedelta = timedelta(days=7)) -> dict:
    body = {
        "lines": [{"unit_price": _gbp(price)} for price in prices],
        "valid_until": (datetime.now(UTC) + valid_for).isoformat(),
        "notes": ["volume price"],
    }
    response = await stack.http.post(f"/quotes/{quote_id}/price", json=body, headers=HO)
    assert response.status_code == 200, response.text
    return response.json()


def _payment(total: int) -> dict:
    return {"payment": {"mode": "prepaid", "method": "card", "amount": _gbp(total), "reference": "PSP-Q1"}}


async def _accept(stack, quote_id: str, total: int, key: str | None = None):
    headers = CHANNEL | ({"Idempotency-Key": key} if key else {})
    return await stack.http.post(f"/quotes/{quote_id}/accept", json=_payment(total), headers=headers)


async def test_a_priced_quote_accepted_becomes_an_order_at_the_quoted_prices_once(stack):
    quote = await _requested(stack, key=f"rfq-{uuid.uuid4().hex}")
    assert quote["status"] == "requested" and quote["offer"] is None
    listed = (await stack.http.get("/quotes", params={"status": "requested"}, headers=HO)).json()
    assert quote["quote_id"] in [q["quote_id"] for q in listed]

    tee, jeans = PRICES[TEE] - 300, PRICES[JEANS] - 1000  # below the catalogue
    first = await _priced(stack, quote["quote_id"], [PRICES[TEE], PRICES[JEANS]])
    assert first["status"] == "quoted"
    priced = await _priced(stack, quote["quote_id"], [tee, jeans])  # a re-pricing replaces the offer
    total = tee * 20 + jeans * 5
    assert priced["offer"]["total"] == _gbp(total)

    short = await _accept(stack, quote["quote_id"], total - 1)
    assert short.status_code == 422, short.text  # the payments must pay the quoted total
    key = f"accept-{uuid.uuid4().hex}"
    accepted = await _accept(stack, quote["quote_id"], total, key)
    assert accepted.status_code == 201, accepted.text
    order = accepted.json()["order"]
    assert accepted.json()["quote"]["status"] == "accepted"
    assert order["quote_id"] == quote["quote_id"]
    assert [line["unit_price"]["amount"] for line in order["lines"]] == [tee, jeans]
    number = order["order_number"]

    again = await _accept(stack, quote["quote_id"], total, key)  # a retry: the same order
    assert again.status_code == 200, again.text
    assert again.json()["order"]["order_number"] == number
    other = await _accept(stack, quote["quote_id"], total, f"accept-{uuid.uuid4().hex}")
    assert other.status_code == 409 and other.json()["rule"] == "quote-accepted"
    assert number in other.json()["detail"]

    view = (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=CHANNEL)).json()
    assert view["status"] == "accepted" and view["order_number"] == number
    read = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert read["quote_id"] == quote["quote_id"]
    with Session(stack.engine) as session:  # one order placed for the quote, whatever was retried
        placed = session.exec(select(OrderPlacementRow).where(OrderPlacementRow.holder == f"quote:{quote['quote_id']}"))
        assert len(list(placed)) == 1
    repriced = await stack.http.post(
        f"/quotes/{quote['quote_id']}/price",
        json={
            "lines": [{"unit_price": _gbp(1)}, {"unit_price": _gbp(1)}],
            "valid_until": priced["offer"]["valid_until"],
        },
        headers=HO,
    )
    assert repriced.status_code == 409  # answered: the offer stands


async def test_a_request_is_judged_by_the_placement_rules_and_kept_once_per_key(stack):
    refused = await stack.http.post("/quotes/requests", json=_request([("NO-SUCH-SKU", 1)]), headers=CHANNEL)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "lines[0].sku"
    key = f"rfq-{uuid.uuid4().hex}"
    first, second = await _requested(stack, key=key), await _requested(stack, key=key)
    assert first["quote_id"] == second["quote_id"]
    bad = await stack.http.post(
        f"/quotes/{first['quote_id']}/price",
        json={
            "lines": [{"unit_price": _gbp(100)}],
            "valid_until": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        headers=HO,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"lines", "valid_until"}
    assert (await stack.http.post(f"/quotes/{first['quote_id']}/price", json={}, headers=CHANNEL)).status_code == 403


async def test_a_declined_quote_cannot_be_accepted(stack):
    quote = await _requested(stack)
    await _priced(stack, quote["quote_id"], [PRICES[TEE] - 100, PRICES[JEANS] - 100])
    declined = await stack.http.post(
        f"/quotes/{quote['quote_id']}/decline", json={"reason": "found it cheaper"}, headers=CHANNEL
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined" and declined.json()["answer"] == "found it cheaper"
    refused = await _accept(stack, quote["quote_id"], (PRICES[TEE] - 100) * 20 + (PRICES[JEANS] - 100) * 5)
    assert refused.status_code == 409 and refused.json()["rule"] == "quote-declined"
    assert (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=CHANNEL)).json()["order_number"] is None


async def test_an_unanswered_quote_expires_on_its_timer_and_is_then_refused(skipping_stack):
    stack = skipping_stack
    quote = await _requested(stack)
    prices = [PRICES[TEE] - 200, PRICES[JEANS] - 200]
    await _priced(stack, quote["quote_id"], prices, valid_for=timedelta(days=2))

    await stack.env.sleep(timedelta(days=1))
    assert (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=HO)).json()["status"] == "quoted"
    await stack.env.sleep(timedelta(days=1, minutes=1))

    async def expired() -> bool:
        view = (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=HO)).json()
        return view["status"] == "expired"

    await eventually(expired)
    refused = await _accept(stack, quote["quote_id"], prices[0] * 20 + prices[1] * 5)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "quote-expired" and "expired" in refused.json()["detail"]


async def test_two_acceptances_at_once_place_one_order(stack):
    quote = await _requested(stack, _request([(TEE, 4)]))
    await _priced(stack, quote["quote_id"], [PRICES[TEE] - 50])
    total = (PRICES[TEE] - 50) * 4
    answers = await asyncio.gather(
        *(_accept(stack, quote["quote_id"], total, f"accept-{uuid.uuid4().hex}") for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    with Session(stack.engine) as session:
        placed = session.exec(select(OrderPlacementRow).where(OrderPlacementRow.holder == f"quote:{quote['quote_id']}"))
        assert len(list(placed)) == 1


async def test_a_repricing_moves_the_quotes_clock(skipping_stack):
    stack = skipping_stack
    quote = await _requested(stack, _request([(TEE, 2)]))
    await _priced(stack, quote["quote_id"], [PRICES[TEE] - 10], valid_for=timedelta(days=2))
    await stack.env.sleep(timedelta(days=1))
    await _priced(stack, quote["quote_id"], [PRICES[TEE] - 20], valid_for=timedelta(days=5))
    await stack.env.sleep(timedelta(days=2))  # past the first offer's validity
    view = (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=HO)).json()
    assert view["status"] == "quoted"
    await stack.env.sleep(timedelta(days=3))

    async def expired() -> bool:
        return (await stack.http.get(f"/quotes/{quote['quote_id']}", headers=HO)).json()["status"] == "expired"

    await eventually(expired)
