"""The wallet gateway straight, as the payment activity would call it again and again with one operation id: a sale
debits the customer's wallet once, a sale beyond the funds is declined (and stays declined), a refund credits back
once and never more than the sale took; concurrent sales never spend the same funds twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlmodel import Session

from activities.gateways import WalletGateway
from models.db import balances
from models.money import Money
from models.payments import GatewayOperationKind as Kind
from models.payments import GatewayRequest
from tests.support import CHANNEL, order_body, wait_for_status


def _request(number: str, kind: Kind, amount: int, operation: str, reference: str | None = None) -> GatewayRequest:
    return GatewayRequest(
        operation_id=f"order-{number}:{operation}",
        order_number=number,
        kind=kind,
        gateway="wallet",
        method="wallet",
        amount=Money(amount=amount, currency="GBP"),
        token="wallet",
        reference=reference,
    )


async def test_sales_debit_once_declines_stay_declined_and_refunds_credit_back_once(stack):
    customer = f"C-{uuid.uuid4().hex[:10]}"
    body = order_body(customer={"id": customer, "name": "Ada", "email": "ada@example.com"})
    placed = await stack.http.post("/orders", json=body, headers=CHANNEL)
    number = placed.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    with Session(stack.engine) as session:
        credit = balances.BalanceEntryRow(
            entry_key=f"credit:test:{customer}", customer_id=customer, account="wallet", currency="GBP",
            amount=1000, kind="credit", created_at=datetime.now(UTC),
        )  # fmt: skip
        balances.add_entry(session, credit)
    wallet = WalletGateway(stack.engine)

    sales = [wallet.sale(_request(number, Kind.sale, 600, f"sale:{i}")) for i in (1, 2)]
    first, second = await asyncio.gather(*sales)  # concurrent: 1000 cannot pay 600 twice
    assert sorted([first.approved, second.approved]) == [False, True]
    approved = first if first.approved else second
    declined = second if first.approved else first
    assert declined.detail == "insufficient wallet funds"
    again = await wallet.sale(_request(number, Kind.sale, 600, approved.operation_id.split(":", 1)[1]))
    assert again.approved and again.reference == approved.reference  # a retry: the same answer, no second debit
    assert not (await wallet.sale(_request(number, Kind.sale, 600, declined.operation_id.split(":", 1)[1]))).approved

    with Session(stack.engine) as session:
        assert balances.balance(session, customer, "wallet", "GBP") == 400
    refund = _request(number, Kind.refund, 600, "refund:1", reference=approved.reference)
    assert (await wallet.refund(refund)).approved and (await wallet.refund(refund)).approved
    too_much = await wallet.refund(_request(number, Kind.refund, 1, "refund:2", reference=approved.reference))
    assert not too_much.approved
    with Session(stack.engine) as session:
        assert balances.balance(session, customer, "wallet", "GBP") == 1000
