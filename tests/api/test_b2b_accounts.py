"""B2B accounts through the real stack: Head Office keeps an account (buyers, approvers, limits; refused by field),
a buyer's order waits for the account's approver and goes to its store only once one approves it through the API
(a non-approver is refused), an order above the account's block limit is refused at placement naming the limit,
and an order's B2B references (customer reference, PO number, third-party invoices) find it in `GET /orders` and on
the dashboard."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from models.db.tables import StoreMessageRow
from tests.support import CHANNEL, HO, HO_KEY, act, order_body, place, ui_sign_in, wait_for_status

BUYER, BOSS = "C42", "C-BOSS"  # order_body's customer is C42


def _account(**changes: Any) -> dict[str, Any]:
    return {"name": "Acme Ltd", "buyers": [BUYER], "approvers": [BOSS], "currency": "GBP", **changes}


async def _keep(http, account_id: str = "ACME", **changes: Any) -> None:
    answer = await http.put(f"/b2b/accounts/{account_id}", json=_account(**changes), headers=HO)
    assert answer.status_code == 200, answer.text


def _store_messages(stack, number: str) -> list[str]:
    with Session(stack.engine) as session:
        rows = session.exec(select(StoreMessageRow).where(col(StoreMessageRow.order_number) == number))
        return [row.type for row in rows]


async def _approval(http, number: str, approver: str, decision: str = "approve", key: str | None = None):
    body = {"approver_id": approver, "decision": decision, "reason": "within budget"}
    headers = {**CHANNEL, "Idempotency-Key": key} if key else CHANNEL
    return await http.post(f"/orders/{number}/contact-approval", json=body, headers=headers)


async def test_head_office_keeps_an_account_and_bad_fields_are_named(stack):
    http = stack.http
    await _keep(http, approval_above=10000, block_above=500000)
    kept = (await http.get("/b2b/accounts/ACME", headers=HO)).json()
    assert kept == _account(approval_above=10000, block_above=500000)
    assert (await http.get("/b2b/accounts/ACME", headers=CHANNEL)).status_code == 403
    assert (await http.get("/b2b/accounts/NOPE", headers=HO)).status_code == 404

    for changes, field in [
        ({"currency": "gbp"}, "currency"),
        ({"buyers": [BUYER, BUYER]}, "buyers"),
        ({"approval_above": -1}, "approval_above"),
        ({"block_above": 10**12}, "block_above"),
        ({"buyers": []}, "buyers"),
    ]:
        answer = await http.put("/b2b/accounts/OTHER", json=_account(**changes), headers=HO)
        assert answer.status_code == 422, answer.text
        assert [error["field"] for error in answer.json()["errors"]] == [field], answer.text
    answer = await http.put("/b2b/accounts/OTHER", json=_account(approvers=[], approval_above=0), headers=HO)
    assert answer.status_code == 422 and "at least one approver" in answer.text, answer.text
    answer = await http.put("/b2b/accounts/OTHER", json=_account(), headers=HO)  # C42 buys for ACME already
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"field": "buyers", "message": "already buying for another account: C42 (account ACME)"}
    ]
    assert (await http.get("/b2b/accounts/OTHER", headers=HO)).status_code == 404


async def test_a_buyers_order_waits_for_the_accounts_approver_then_goes_to_the_store(stack):
    http = stack.http
    await _keep(http, approvers=[BOSS, "C-DEPUTY"], approval_above=0)  # every order needs approval
    number = await place(http, order_body(), status="awaiting_approval")
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert view["approval_reason"] == "needs approval by account ACME's approver"
    assert view["b2b"]["account_id"] == "ACME"
    assert _store_messages(stack, number) == []  # nothing goes to the store before the approval

    refused = await _approval(http, number, BUYER)  # a buyer is no approver
    assert refused.status_code == 403, refused.text
    assert "C42 is not an approver of account ACME" in refused.json()["detail"]
    assert (await _approval(http, number, "")).status_code == 422
    assert (await http.get(f"/orders/{number}", headers=HO)).json()["status"] == "awaiting_approval"

    answer = await _approval(http, number, BOSS, key="approve-1")
    assert answer.status_code == 200, answer.text
    retried = await _approval(http, number, BOSS, key="approve-1")  # a retry answers the approval, applied once
    assert retried.status_code == 200, retried.text
    assert [e["action"] for e in retried.json()["history"]].count("order_approved") == 1
    approved = next(entry for entry in answer.json()["history"] if entry["action"] == "order_approved")
    assert approved["actor"] == "approver:C-BOSS (account ACME)"
    assert approved["detail"] == "within budget"
    await wait_for_status(http, number, "awaiting_acknowledgement")
    assert _store_messages(stack, number), "the approved order went to its store"

    again = await _approval(http, number, BOSS)  # approved already: nothing waits for the approver
    assert again.status_code == 409, again.text


async def test_the_approver_rejects_and_an_order_of_no_account_takes_no_contact_approval(stack):
    http = stack.http
    await _keep(http, approval_above=0)
    number = await place(http, order_body(), status="awaiting_approval")
    answer = await _approval(http, number, BOSS, "reject")
    assert answer.status_code == 200, answer.text
    await wait_for_status(http, number, "cancelled")
    assert _store_messages(stack, number) == []

    other = order_body(customer={"id": "C7", "name": "Grace Hopper", "email": "grace@example.com"})
    plain = await place(http, other)
    refused = await _approval(http, plain, BOSS)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "approver_id"


async def test_an_order_above_the_block_limit_is_refused_naming_it_and_one_below_goes_ahead(stack):
    http = stack.http
    body = order_body()
    total = body["payment"]["amount"]["amount"]
    await _keep(http, approval_above=total, block_above=total - 1)  # approval above the total: none needed
    before = (await http.get("/orders", headers=HO)).json()["total"]

    answer = await http.post("/orders", json=body, headers=CHANNEL)
    assert answer.status_code == 422, answer.text
    errors = {error["field"]: error["message"] for error in answer.json()["errors"]}
    limit = f"{(total - 1) // 100}.{(total - 1) % 100:02d} GBP"
    assert errors == {
        "lines": f"the order ({total // 100}.{total % 100:02d} GBP) is above account ACME's block limit of {limit}"
    }, errors
    assert (await http.get("/orders", headers=HO)).json()["total"] == before  # nothing was placed

    await _keep(http, approval_above=total, block_above=total)
    number = await place(http, order_body())  # at the limit: placed, and no approval needed under approval_above
    assert (await http.get(f"/orders/{number}", headers=HO)).json()["b2b"]["account_id"] == "ACME"


async def test_references_find_the_order_in_the_list_and_on_the_dashboard(stack):
    http = stack.http
    await _keep(http)  # no limits: a buyer's orders carry the account and go ahead
    body = order_body(customer_reference="ACME-REF-9", purchase_order_number="PO-2291")
    body["lines"][0]["unit_cost"] = {"amount": 700, "currency": "GBP"}
    first = await place(http, body)
    other = order_body(
        customer={"id": "C7", "name": "Grace Hopper", "email": "grace@example.com"}, purchase_order_number="PO-77"
    )
    second = await place(http, other)
    view = (await http.get(f"/orders/{first}", headers=HO)).json()
    assert view["b2b"] == {
        "account_id": "ACME",
        "customer_reference": "ACME-REF-9",
        "purchase_order_number": "PO-2291",
        "third_party_invoices": [],
    }
    assert [line["unit_cost"] for line in view["lines"]] == [{"amount": 700, "currency": "GBP"}, None]

    view = await act(http, first, "third-party-invoices", {"number": "INV-7781", "system": "SAP", "reason": "ERP"})
    assert view["b2b"]["third_party_invoices"] == [{"number": "INV-7781", "system": "SAP"}]
    entry = view["history"][-1]
    assert (entry["action"], entry["actor"]) == ("third_party_invoice_added", "ho:alice")
    repeated = await act(http, first, "third-party-invoices", {"number": "INV-7781", "reason": "again"}, 409)
    assert repeated["rule"] == "invoice_known"

    async def found(**params: str) -> list[str]:
        answer = await http.get("/orders", params=params, headers=HO)
        assert answer.status_code == 200, answer.text
        return [item["order_number"] for item in answer.json()["items"]]

    assert await found(reference="acme-ref-9") == [first]
    assert await found(reference="PO-2291") == [first]
    assert await found(reference="INV-7781") == [first]
    assert await found(reference="PO-77") == [second]
    assert await found(reference="PO-7") == []  # a reference is found whole, not by a part of it
    assert await found(b2b_account="ACME") == [first]
    assert await found(b2b_account="ACME", reference="PO-77") == []

    bad_cost = order_body()
    bad_cost["lines"][0]["unit_cost"] = {"amount": 700, "currency": "EUR"}
    answer = await http.post("/orders", json=bad_cost, headers=CHANNEL)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "lines[0].unit_cost.currency"

    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    page = await http.get("/ui/orders", params={"view": "all", "reference": "INV-7781"})
    assert page.status_code == 200
    assert re.findall(r'data-order="(\d+)"', page.text) == [first]
    assert 'value="INV-7781"' in page.text
    page = await http.get("/ui/orders", params={"view": "all", "b2b_account": "ACME"})
    assert re.findall(r'data-order="(\d+)"', page.text) == [first]
    order_page = (await http.get(f"/ui/orders/{first}")).text
    assert "PO PO-2291" in order_page and "invoice INV-7781 (SAP)" in order_page
    assert "(cost £7.00)" in order_page


async def test_an_estimate_above_the_block_limit_is_refused_as_the_order_would_be(stack):
    """The block limit is a placement rule: an estimate (a quotation the buyer could place) meets it too."""
    http = stack.http
    body = order_body()
    total = body["payment"]["amount"]["amount"]
    await _keep(http, approval_above=total, block_above=total - 1)
    answer = await http.post("/estimates", json={k: v for k, v in body.items() if k != "payment"}, headers=CHANNEL)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == ["lines"]
    assert "block limit" in answer.json()["errors"][0]["message"]
    await _keep(http, approval_above=total, block_above=total)
    assert (await http.post("/estimates", json=body, headers=CHANNEL)).status_code == 200
