"""Customers' balances: Head Office credits account credit or wallet funds (once per Idempotency-Key) and reads
them with their latest entries. Wallet payments spend them through the wallet gateway (activities/gateways/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlmodel import Session

from api.deps import HeadOffice, SessionDep
from api.params import IdempotencyKey
from api.problems import field_error
from models.balances import Balance, BalanceCredit, BalanceEntry, CustomerBalances
from models.db import balances as ledger
from models.money import MAX_AMOUNT, Money
from models.text import LINE_PATTERN

router = APIRouter(prefix="/customers", tags=["customers"])

CustomerId = Annotated[str, Path(max_length=64, pattern=LINE_PATTERN)]


def customer_balances(session: Session, customer_id: str) -> CustomerBalances:
    return CustomerBalances(
        customer_id=customer_id,
        balances=[
            Balance(account=account, amount=Money(amount=amount, currency=currency))
            for (account, currency), amount in sorted(ledger.balances(session, customer_id).items())
        ],
        entries=[
            BalanceEntry(
                entry_key=row.entry_key,
                account=row.account,
                kind=row.kind,
                amount=row.amount,
                currency=row.currency,
                order_number=row.order_number,
                actor=row.actor,
                detail=row.detail,
            )
            for row in ledger.entries(session, customer_id)
        ],
    )


@router.get("/{customer_id}/balance", response_model=CustomerBalances)
def get_balance(customer_id: CustomerId, session: SessionDep, _ho: HeadOffice) -> CustomerBalances:
    """The customer's account credit and wallet funds by currency, with the latest entries. Head Office only."""
    return customer_balances(session, customer_id)


@router.post("/{customer_id}/balance", response_model=CustomerBalances, status_code=201)
def credit_balance(
    customer_id: CustomerId,
    credit: BalanceCredit,
    session: SessionDep,
    ho: HeadOffice,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CustomerBalances:
    """Credit the customer's account credit or wallet, once per Idempotency-Key (required). Head Office only."""
    if idempotency_key is None:
        raise field_error("Idempotency-Key", "a balance credit needs an Idempotency-Key")
    if credit.amount.amount <= 0:
        raise field_error("amount.amount", "a credit must be more than nothing")
    key = f"credit:{ho.name}:{idempotency_key}"
    held = ledger.balance(session, customer_id, credit.account, credit.amount.currency)
    if ledger.entry(session, key) is None and held + credit.amount.amount > MAX_AMOUNT:
        raise field_error("amount.amount", f"the {credit.account} balance would be more than {MAX_AMOUNT}")
    row = ledger.BalanceEntryRow(
        entry_key=key,
        customer_id=customer_id,
        account=credit.account,
        currency=credit.amount.currency,
        amount=credit.amount.amount,
        kind="credit",
        actor=f"ho:{ho.name}",
        detail=credit.reason,
        created_at=datetime.now(UTC),
    )
    kept = ledger.entry(session, key)
    if kept is None:
        kept = ledger.add_entry(session, row)
    else:
        response.status_code = 200
    same = (kept.customer_id, kept.account, kept.currency, kept.amount, kept.detail)
    if same != (row.customer_id, row.account, row.currency, row.amount, row.detail):
        raise field_error("Idempotency-Key", "this key was already used with a different request body")
    return customer_balances(session, customer_id)
