"""E-mail about orders, received by a real SMTP server (aiosmtpd on loopback): the customer hears of every
notification event they did not opt out of, the call centre's list of cancellations, Head Office of an order
waiting for approval; a suppressed message is recorded and never sent, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    act,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    store_says,
    ui_sign_in,
    wait_for_status,
)

CALL_CENTRE = "callcentre@example.com"
HEAD_OFFICE = "approvals@example.com"


@dataclass
class Inbox:
    """Everything the SMTP server took, as parsed messages."""

    messages: list[EmailMessage] = field(default_factory=list)

    # Addresses the server refuses for good (550), and how many times it answers "try later" (451) for others.
    refused: set[str] = field(default_factory=set)
    later: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        if self.later.get(address, 0) > 0:
            self.later[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.messages if str(m["To"]) == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def stack_settings(inbox: tuple[Inbox, int]) -> dict[str, Any]:
    return {
        "smtp_url": f"smtp://127.0.0.1:{inbox[1]}",
        "mail_lists": {"cancelled": [CALL_CENTRE]},
        "mail_head_office": [HEAD_OFFICE],
        "outbox_poll_seconds": 0.1,
        "outbound_retry_initial_seconds": 0.2,
    }


def _customer(customer_id: str, email: str) -> dict[str, Any]:
    return {"id": customer_id, "name": f"Customer {customer_id}", "email": email, "phone": "+441234567890"}


async def test_customers_lists_and_head_office_are_mailed_each_event_once_and_suppression_is_honoured(stack, inbox):
    mailbox, _ = inbox
    mailbox.messages.clear()
    http = stack.http
    quiet, chatty = "quiet@example.com", "chatty@example.com"
    prefs = await http.put("/customers/C-QUIET/mail-preferences", json={"suppressed_types": ["updated"]}, headers=HO)
    assert prefs.status_code == 200 and prefs.json() == {"suppressed": False, "suppressed_types": ["updated"]}
    refused = await http.put("/customers/C-QUIET/mail-preferences", json={"suppressed_types": ["placed"]}, headers=HO)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"

    # Collected and refunded: ready, collected, refunded.
    collected = await place(http, order_body(customer=_customer("C-CHATTY", chatty)))
    await make_ready(http, collected)
    await collect(http, collected)
    await act(http, collected, "refunds", {"amount": {"amount": 500, "currency": "GBP"}, "reason": "late"})

    # A customer who opted out of `updated`: a line cancelled (updated, suppressed), then the order (cancelled).
    cancelled = await place(http, order_body(customer=_customer("C-QUIET", quiet)))
    await act(http, cancelled, "cancel-lines", {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "out of stock"})
    await act(http, cancelled, "cancel", {"reason": "customer changed their mind"})
    await wait_for_status(http, cancelled, "cancelled")

    # Another customer's line cancelled: they did not opt out, so they hear of it.
    updated = await place(http, order_body(customer=_customer("C-CHATTY", chatty)))
    await act(http, updated, "cancel-lines", {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "out of stock"})

    # An order waiting for approval: Head Office is told.
    policy_ = (await http.get("/settings/payments", headers=HO)).json()
    policy_.update(approval_channels=["phone"])
    assert (await http.put("/settings/payments", json=policy_, headers=HO)).is_success
    response = await http.post("/orders", json=order_body(channel="phone"), headers=CHANNEL)
    held = response.json()["order_number"]
    await wait_for_status(http, held, "awaiting_approval")

    async def all_arrived() -> bool:
        return len(mailbox.messages) >= 10

    await eventually(all_arrived, timeout=30)
    await asyncio.sleep(1.0)  # anything sent twice would arrive meanwhile
    assert sorted(mailbox.to(chatty)) == sorted(
        [
            f"Your order {collected} is ready for collection",
            f"Your order {collected} has been collected",
            f"A refund on your order {collected}",
            f"Your order {updated} has changed",
            f"A refund on your order {updated}",  # the cancelled line's money, paid back by the channel
        ]
    )
    # Not told of the change (suppressed); told of both refunds (the line's, the order's) and the cancellation.
    assert sorted(mailbox.to(quiet)) == sorted(
        [f"A refund on your order {cancelled}"] * 2 + [f"Your order {cancelled} has been cancelled"]
    )
    assert mailbox.to(CALL_CENTRE) == [f"Your order {cancelled} has been cancelled"]
    assert mailbox.to(HEAD_OFFICE) == [f"Order {held} is waiting for your approval"]
    assert len(mailbox.messages) == 10

    ready = next(m for m in mailbox.messages if "ready for collection" in str(m["Subject"]))
    body = ready.get_body(("plain",))
    html = ready.get_body(("html",))
    assert body is not None and "Dear Customer C-CHATTY" in body.get_content()
    assert html is not None and collected in html.get_content()

    log = (await http.get(f"/orders/{cancelled}/emails", headers=HO)).json()
    by_type = {(entry["event_type"], entry["address"]): entry["status"] for entry in log}
    assert by_type == {
        ("updated", quiet): "suppressed",
        ("refund_instructed", quiet): "sent",
        ("cancelled", quiet): "sent",
        ("cancelled", CALL_CENTRE): "sent",
    }
    assert len(log) == 5  # the two refunds each logged once
    channel_view = await http.get(f"/orders/{cancelled}/emails", headers=CHANNEL)
    assert channel_view.status_code == 200
    assert (await http.get("/customers/C-QUIET/mail-preferences", headers=CHANNEL)).status_code == 403

    # Head Office reads what was sent on the Sent mail page.
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    sent_page = await http.get("/ui/mail")
    assert sent_page.status_code == 200
    assert f"Your order {cancelled} has been cancelled" in sent_page.text and "suppressed" in sent_page.text


async def test_a_busy_smtp_server_is_tried_again_and_a_refused_address_does_not_hold_up_the_rest(stack, inbox):
    mailbox, _ = inbox
    mailbox.messages.clear()
    busy, gone, fine = "busy@example.com", "gone@example.com", "fine@example.com"
    mailbox.later[busy], mailbox.refused = 2, {gone}
    numbers = {}
    for address in (busy, gone, fine):
        numbers[address] = await place(stack.http, order_body(customer=_customer(address.split("@")[0], address)))
        await act(stack.http, numbers[address], "cancel", {"reason": "customer changed their mind"})

    async def cancellations_arrived() -> bool:
        told = {str(m["To"]) for m in mailbox.messages if "cancelled" in str(m["Subject"])}
        return told - {CALL_CENTRE} == {busy, fine}

    await eventually(cancellations_arrived, timeout=30)
    await asyncio.sleep(1.0)  # anything sent twice would arrive meanwhile
    assert [str(m["To"]) for m in mailbox.messages].count(busy) == 2  # cancelled, refunded: each once

    logs = {a: (await stack.http.get(f"/orders/{n}/emails", headers=HO)).json() for a, n in numbers.items()}

    def cancellation(address: str) -> dict[str, Any]:
        return next(m for m in logs[address] if m["event_type"] == "cancelled" and m["address"] == address)

    assert (cancellation(busy)["status"], cancellation(busy)["attempts"]) == ("sent", 3)  # 451, 451, then taken
    assert cancellation(gone)["status"] == "failed" and cancellation(gone)["detail"].startswith("smtp_550")
    assert (cancellation(fine)["status"], cancellation(fine)["attempts"]) == ("sent", 1)


async def test_a_home_delivery_tells_the_customer_it_shipped_with_its_tracking_and_that_it_arrived(stack, inbox):
    from tests.api.test_deliveries import home_delivery

    mailbox, _ = inbox
    mailbox.messages.clear()
    http = stack.http
    number = await place(http, home_delivery(location_id="W001"), status="awaiting_dispatch")
    await store_says(http, number, "packed", "W001")
    await wait_for_status(http, number, "ready_to_ship")
    await store_says(http, number, "shipped", "W001", carrier="DPD", tracking_number="15501234567890")
    await wait_for_status(http, number, "shipped")
    await store_says(http, number, "delivered", "W001")
    await wait_for_status(http, number, "completed")

    async def both() -> bool:
        return len([m for m in mailbox.messages if number in str(m["Subject"])]) >= 2

    await eventually(both, timeout=30)
    subjects = sorted(str(m["Subject"]) for m in mailbox.messages if number in str(m["Subject"]))
    assert subjects == [f"Your order {number} has been delivered", f"Your order {number} is on its way"]
    shipped = next(m for m in mailbox.messages if "on its way" in str(m["Subject"]))
    text = shipped.get_body(("plain",))
    assert text is not None and "DPD tracking number: 15501234567890" in text.get_content()
