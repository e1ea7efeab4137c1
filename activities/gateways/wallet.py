"""The internal `wallet` gateway: a payment with method `wallet` (or `account_credit`) spends the customer's wallet
funds (or account credit) in Baton's own balance ledger (models/db/balances.py). A sale debits the balance once per
operation id and is declined when the funds are short; a refund credits the same balance back (at most what the sale
took) once per operation id. The order workflow
treats it as any other gateway, so retries, reconciliation and refunds work as they do for cards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from activities.gateways.base import declined, invalid_request
from models.db import balances
from models.db.orders import get_order_record
from models.payments import BALANCE_METHODS, WALLET_GATEWAY, GatewayOperationKind, GatewayRequest, GatewayResult


class WalletGateway:
    name = WALLET_GATEWAY

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def authorise(self, request: GatewayRequest) -> GatewayResult:
        return declined(request, "wallet funds are taken at once (a sale), never authorised")

    async def capture(self, request: GatewayRequest) -> GatewayResult:
        raise invalid_request(f"{request.operation_id}: the wallet gateway never authorises, so nothing to capture")

    async def void(self, request: GatewayRequest) -> GatewayResult:
        raise invalid_request(f"{request.operation_id}: the wallet gateway never authorises, so nothing to void")

    async def sale(self, request: GatewayRequest) -> GatewayResult:
        return await asyncio.to_thread(self._sale, request)

    async def refund(self, request: GatewayRequest) -> GatewayResult:
        return await asyncio.to_thread(self._refund, request)

    def _sale(self, request: GatewayRequest) -> GatewayResult:
        with Session(self._engine) as session:
            record = get_order_record(session, request.order_number)
            if record is None:
                raise invalid_request(f"{request.operation_id}: order {request.order_number} is unknown")
            kept = balances.debit(session, _entry(request, record.customer_id, "debit", -request.amount.amount))
            return _answer(request, kept)

    def _refund(self, request: GatewayRequest) -> GatewayResult:
        with Session(self._engine) as session:
            kept = balances.entry(session, request.operation_id)
            if kept is not None:
                return _answer(request, kept)
            sale = balances.entry(session, request.reference or "")
            if sale is None or sale.kind != "debit":
                raise invalid_request(f"{request.operation_id}: {request.reference!r} is not a wallet sale")
            left = -sale.amount - balances.refunded_against(session, sale.entry_key)
            if request.amount.amount > left:
                return declined(request, f"refund of {request.amount} exceeds the {left} not yet refunded")
            row = _entry(request, sale.customer_id, "refund", request.amount.amount)
            row.reference, row.account = sale.entry_key, sale.account  # back to the balance it came from
            return _answer(request, balances.add_entry(session, row))


def _entry(request: GatewayRequest, customer_id: str, kind: str, amount: int) -> balances.BalanceEntryRow:
    return balances.BalanceEntryRow(
        entry_key=request.operation_id,
        customer_id=customer_id,
        account=request.method if request.method in BALANCE_METHODS else "wallet",
        currency=request.amount.currency,
        amount=amount,
        kind=kind,
        order_number=request.order_number,
        actor=request.actor,
        detail=f"{request.kind} of {request.amount} on order {request.order_number}",
        created_at=datetime.now(UTC),
    )


def _answer(request: GatewayRequest, kept: balances.BalanceEntryRow) -> GatewayResult:
    if kept.kind == "declined":
        return declined(request, "insufficient wallet funds", kept.created_at)
    if kept.kind != ("debit" if request.kind is GatewayOperationKind.sale else "refund"):
        raise invalid_request(f"idempotency key {request.operation_id} was used for a wallet {kept.kind}")
    return GatewayResult(
        operation_id=request.operation_id,
        kind=request.kind,
        approved=True,
        reference=kept.entry_key,
        detail=kept.detail,
        amount=request.amount,
        at=kept.created_at,
    )
