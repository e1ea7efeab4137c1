"""No card token ever leaves an order, and neither do the payment policy's customer lists (issue 11, DESIGN rule 12),
end to end: orders paid with card tokens in several modes go through handover, cancellations and refunds while a
subscriber hears every event type, an exporter of each kind runs, the store's lane pushes to its webhook and the
extracts lane writes to a drop folder; then every way out is searched for the secrets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from models.db.tables import (
    GatewayTestOperationRow,
    NotificationExtractRow,
    OrderEventRow,
    OrderExportRow,
    OrderExportStateRow,
    OrderRecordRow,
    StoreMessageRow,
    WebhookDeliveryRow,
)
from models.events import OrderEventType
from tests.http_receiver import Receiver, http_receiver
from tests.support import (
    HO,
    JEANS,
    PRICES,
    TEE,
    act,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    settled,
    store_says,
    wait_for_status,
)

TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]
APPROVAL_CUSTOMER, BLOCKED_CUSTOMER = "C-APPROVE-LIST-7731", "C-BLOCKED-LIST-6642"


@pytest.fixture
def exporters() -> Iterator[Receiver]:
    with http_receiver(path="/exports") as receiver:
        yield receiver


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    return tmp_path / "extracts"


@pytest.fixture
def stack_settings(exporters: Receiver, drop_folder: Path) -> dict[str, Any]:
    return {
        "extract_drop_folder": str(drop_folder),
        "outbox_poll_seconds": 0.05,
        "outbound_retry_initial_seconds": 0.3,
        "outbound_retry_max_interval_seconds": 1.0,
        "exporters": [
            {
                "name": "erp",
                "kind": "webhook",
                "on_state": "INITPAID",
                "url": exporters.url,
                "secret": "erp-0123456789",
            },
            {"name": "wms", "kind": "webhook", "on_state": "DELIVERY", "url": exporters.url},
            {"name": "acct", "kind": "xml_extract", "on_state": "INITPAID"},
        ],
    }


def _card(mode: str, token: str, amount: int = TOTAL, method: str = "card") -> dict:
    return {"mode": mode, "method": method, "token": token, "amount": {"amount": amount, "currency": "GBP"}}


def _token(kind: str = "tok") -> str:
    return f"{kind}_secret_{uuid.uuid4().hex}"


async def _authorised_collected_and_refunded(http: Any, token: str) -> str:
    """Authorised at placement, captured at handover, then partly refunded."""
    number = await place(http, order_body(payment=_card("authorise", token)))
    await make_ready(http, number)
    await collect(http, number)
    await settled(http, number)
    await act(http, number, "refunds", {"amount": {"amount": 500, "currency": "GBP"}, "reason": "late"})
    await settled(http, number)
    return number


async def _sold_then_cancelled(http: Any, token: str) -> str:
    """Captured at placement, then cancelled by Head Office: refunded in full."""
    number = await place(http, order_body(payment=_card("auth_capture", token)))
    await act(http, number, "cancel", {"reason": "changed mind"})
    await settled(http, number)
    return number


async def _gift_card_and_card(http: Any, gift: str, card: str) -> str:
    """A gift card and a card; a line cancelled before pick, the rest collected, then a refund by lines."""
    payments = [_card("auth_capture", gift, 2000, "gift_card"), _card("authorise", card, TOTAL - 2000)]
    number = await place(http, order_body(payment=None, payments=payments))
    await act(http, number, "cancel-lines", {"lines": [{"line_id": "L1", "quantity": 1}], "reason": "no"})
    await settled(http, number)
    await store_says(http, number, "update_acknowledged")
    await make_ready(http, number)
    await collect(http, number)
    await settled(http, number)
    await act(http, number, "refunds", {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "damaged"})
    await settled(http, number)
    return number


async def _declined_retried_with_a_new_card_then_cancelled(http: Any, token: str) -> str:
    """Declined at placement; Head Office retries with the customer's new card; then the customer cancels."""
    number = await place(http, order_body(payment=_card("authorise", "tok_decline")), status="on_hold")
    await act(http, number, "retry-payment", {"reason": "new card", "token": token})
    await wait_for_status(http, number, "awaiting_acknowledgement")
    await act(http, number, "cancel", {"reason": "changed mind"})
    await settled(http, number)
    return number


def _rows(engine: Any, table: type) -> list[str]:
    with Session(engine) as session:
        return [json.dumps(row.model_dump(mode="json")) for row in session.exec(select(table))]


async def _all_delivered(stack, subscriber_id: str) -> bool:
    """Every event to the subscriber, every store message, export run and extract: delivered."""
    events = len(_rows(stack.engine, OrderEventRow))
    log = (await stack.http.get(f"/webhook-subscribers/{subscriber_id}/deliveries?limit=500", headers=HO)).json()
    with Session(stack.engine) as session:
        messages = session.exec(select(StoreMessageRow.status)).all()
        runs = session.exec(select(OrderExportRow.outcome)).all()
        extracts = session.exec(select(NotificationExtractRow.delivered_at)).all()
    return (
        log["total"] == events
        and all(entry["status"] == "delivered" for entry in log["items"])
        and bool(messages)
        and all(status == "delivered" for status in messages)
        and bool(runs)
        and all(outcome == "succeeded" for outcome in runs)
        and all(extracts)
    )


async def test_no_card_token_or_policy_list_ever_leaves_an_order(stack, exporters, drop_folder):
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    policy |= {"approval_customers": [APPROVAL_CUSTOMER], "blocked_customers": [BLOCKED_CUSTOMER]}
    assert (await stack.http.put("/settings/payments", json=policy, headers=HO)).status_code == 200
    with http_receiver(path="/store") as store, http_receiver(path="/hooks") as subscriber_url:
        shop = {"name": "London Oxford Street", "webhook_url": store.url}
        assert (await stack.http.put("/stores/S001", json=shop, headers=HO)).status_code == 200
        everything = [t.value for t in OrderEventType]
        body = {"name": "everything", "url": subscriber_url.url, "event_types": everything}
        subscriber = (await stack.http.post("/webhook-subscribers", json=body, headers=HO)).json()

        tokens = [_token(), _token(), _token("gc"), _token(), _token()]
        numbers = [
            await _authorised_collected_and_refunded(stack.http, tokens[0]),
            await _sold_then_cancelled(stack.http, tokens[1]),
            await _gift_card_and_card(stack.http, tokens[2], tokens[3]),
            await _declined_retried_with_a_new_card_then_cancelled(stack.http, tokens[4]),
        ]
        await eventually(lambda: _all_delivered(stack, subscriber["subscriber_id"]), timeout=90)

        views = [(await stack.http.get(f"/orders/{n}", headers=HO)).text for n in numbers]
        payments = [(await stack.http.get(f"/orders/{n}/payments", headers=HO)).text for n in numbers]
        log = (await stack.http.get(f"/webhook-subscribers/{subscriber['subscriber_id']}/deliveries", headers=HO)).text
        listed = (await stack.http.get("/extracts", headers=HO)).json()["items"]
        documents = [(await stack.http.get(item["href"], headers=HO)).text for item in listed]
    with Session(stack.engine) as session:  # the search finds them where they belong: the gateway's own books
        books = " ".join(session.exec(select(GatewayTestOperationRow.token)).all())
    assert all(token in books for token in tokens + ["tok_decline"])

    ways_out = {
        "subscriber bodies": [r.body.decode() for r in subscriber_url.requests],
        "exporter bodies": [r.body.decode() for r in exporters.requests],
        "store push bodies": [r.body.decode() for r in store.requests],
        "extracts in the drop folder": [p.read_text() for p in drop_folder.iterdir()],
        "extracts from the API": documents,
        "orders rows": _rows(stack.engine, OrderRecordRow),
        "order_events rows": _rows(stack.engine, OrderEventRow),
        "store_messages rows": _rows(stack.engine, StoreMessageRow),
        "notification_extracts rows": _rows(stack.engine, NotificationExtractRow),
        "order_export_states rows": _rows(stack.engine, OrderExportStateRow),
        "webhook_deliveries rows": _rows(stack.engine, WebhookDeliveryRow),
        "GET /orders/{n}": views,
        "GET /orders/{n}/payments": payments,
        "the delivery log": [log],
    }
    for way, texts in ways_out.items():  # every way out was used (so the search below looks at something) …
        assert texts, f"nothing went out through {way}"
    for way in ("subscriber bodies", "store push bodies", "extracts in the drop folder", "orders rows"):
        assert all(any(n in text for text in ways_out[way]) for n in numbers), way  # … by every order
    assert {r.json["exporter"] for r in exporters.requests} == {"erp", "wms"}
    assert {item["type"] for item in listed} >= {"order_export", "collected", "cancelled", "refunded", "updated"}
    for secret in [*tokens, "tok_decline", "tok_", "gc_secret", APPROVAL_CUSTOMER, BLOCKED_CUSTOMER]:
        leaks = [way for way, texts in ways_out.items() if any(secret in text for text in texts)]
        assert leaks == [], f"{secret} left through {leaks}"
