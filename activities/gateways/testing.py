"""The built-in test gateway: the card token chooses the outcome, so every payment path can be exercised.

It behaves like an external gateway: it keeps its own books (table `test_gateway_operations`, one row per
idempotency key) in Baton's database, so a retry with the same key from any worker process gets the original
answer instead of a second charge, and tests can count what it captured. Captures, voids and refunds act on the
authorisation's (or capture's) reference and follow the token of the authorisation they descend from.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from activities.gateways.base import GatewayUnavailable, invalid_request
from models.db import commit_unless_taken
from models.db.tables import GatewayTestOperationRow
from models.money import Money
from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult

Kind = GatewayOperationKind


class CardToken(StrEnum):
    approve = "tok_approve"  # the default, also for unknown tokens and stored-value methods
    decline = "tok_decline"  # authorise and sale declined: "card declined"
    error_then_approve = "tok_error_then_approve"  # first attempt of each operation id fails transiently
    slow = "tok_slow"  # records the operation, then answers after BATON_TEST_GATEWAY_SLOW_SECONDS
    capture_declined = "tok_capture_declined"  # authorises, but its captures are declined


@dataclass(frozen=True)
class _Answer:
    result: GatewayResult
    fresh: bool  # decided now, not a replay of an earlier answer
    token: str


def _result(row: GatewayTestOperationRow) -> GatewayResult:
    return GatewayResult(
        operation_id=row.idempotency_key,
        kind=Kind(row.kind),
        approved=row.outcome == "approved",
        reference=row.reference,
        detail=row.detail,
        amount=Money(amount=row.amount, currency=row.currency),
        at=row.answered_at,
        expires_at=row.expires_at,
    )


class TestGateway:
    """The `test` gateway. Outcomes by token: see CardToken."""

    __test__ = False  # not a pytest class
    name = "test"

    def __init__(self, engine: Engine, *, slow_seconds: float = 5.0, authorisation_ttl: timedelta | None = None):
        self._engine = engine
        self._slow_seconds = slow_seconds
        self._authorisation_ttl = authorisation_ttl or timedelta(days=7)

    async def authorise(self, request: GatewayRequest) -> GatewayResult:
        return await self._operate(request)

    async def capture(self, request: GatewayRequest) -> GatewayResult:
        return await self._operate(request)

    async def sale(self, request: GatewayRequest) -> GatewayResult:
        return await self._operate(request)

    async def void(self, request: GatewayRequest) -> GatewayResult:
        return await self._operate(request)

    async def refund(self, request: GatewayRequest) -> GatewayResult:
        return await self._operate(request)

    async def _operate(self, request: GatewayRequest) -> GatewayResult:
        answer = await asyncio.to_thread(self._book, request)
        if answer.fresh and answer.token == CardToken.slow:
            # Already on the books: a worker killed now leaves a committed operation for the retry to find.
            await asyncio.sleep(self._slow_seconds)
        return answer.result

    def _book(self, request: GatewayRequest) -> _Answer:
        """Answer from the books, or decide and write the answer down (once, also under concurrent retries)."""
        for _ in range(3):
            with Session(self._engine) as session:
                row = session.get(GatewayTestOperationRow, request.operation_id)
                if row is not None and row.outcome != "failed":
                    _same_request_or_refuse(row, request)
                    return _Answer(_result(row), fresh=False, token=row.token)
                token, parent = self._token_and_parent(session, request)
                now = datetime.now(UTC)
                if row is None:
                    row = _new_row(request, token, parent, now)
                    if token == CardToken.error_then_approve:
                        row.outcome, row.detail = "failed", "simulated transient fault"
                        if commit_unless_taken(session, row):
                            raise GatewayUnavailable(f"test gateway: {request.operation_id} failed, try again")
                        continue  # a concurrent copy wrote first: read its answer
                else:
                    row.calls += 1
                row.outcome, row.detail, row.expires_at = self._decide(session, request, token, parent, now)
                row.reference = _reference(request) if row.outcome == "approved" else ""
                row.answered_at = now
                if commit_unless_taken(session, row):
                    return _Answer(_result(row), fresh=True, token=token)
        raise GatewayUnavailable(f"test gateway: {request.operation_id} is being answered concurrently")

    def _token_and_parent(
        self, session: Session, request: GatewayRequest
    ) -> tuple[str, GatewayTestOperationRow | None]:
        if request.kind in (Kind.authorise, Kind.sale):
            return request.token or CardToken.approve, None
        parent = session.exec(
            select(GatewayTestOperationRow).where(
                GatewayTestOperationRow.reference == request.reference, GatewayTestOperationRow.outcome == "approved"
            )
        ).first()
        wanted = (Kind.authorise,) if request.kind in (Kind.capture, Kind.void) else (Kind.capture, Kind.sale)
        if parent is None or parent.kind not in wanted:
            raise invalid_request(
                f"{request.operation_id}: {request.reference!r} is not an approved "
                f"{' or '.join(wanted)} at the test gateway"
            )
        if parent.currency != request.amount.currency:
            raise invalid_request(f"{request.operation_id}: {request.reference} is in {parent.currency}")
        return parent.token, parent

    def _decide(
        self,
        session: Session,
        request: GatewayRequest,
        token: str,
        parent: GatewayTestOperationRow | None,
        now: datetime,
    ) -> tuple[str, str, datetime | None]:
        """(outcome, detail, expires_at) of a new operation."""
        if request.kind in (Kind.authorise, Kind.sale):
            if token == CardToken.decline:
                return "declined", "card declined", None
            expires = now + self._authorisation_ttl if request.kind is Kind.authorise else None
            return "approved", f"{request.kind} of {request.amount}", expires
        assert parent is not None
        moved = _moved_against(session, parent.reference)
        held = Money(amount=parent.amount, currency=parent.currency)
        if request.kind is Kind.refund:
            left = parent.amount - moved.get(Kind.refund, 0)
            if request.amount.amount > left:
                return "declined", f"refund of {request.amount} exceeds the {_money(left, held)} not yet refunded", None
            return "approved", f"refund of {request.amount}", None
        if Kind.void in moved:
            return "declined", f"authorisation {parent.reference} was voided", None
        left = parent.amount - moved.get(Kind.capture, 0)
        if request.kind is Kind.void:
            if left == 0:
                return "declined", f"authorisation {parent.reference} is fully captured", None
            return "approved", f"void of {_money(left, held)} still authorised", None
        if token == CardToken.capture_declined:
            return "declined", "capture declined", None
        if request.amount.amount > left:
            return "declined", f"capture of {request.amount} exceeds the {_money(left, held)} still authorised", None
        return "approved", f"capture of {request.amount}", None


def _new_row(
    request: GatewayRequest, token: str, parent: GatewayTestOperationRow | None, now: datetime
) -> GatewayTestOperationRow:
    return GatewayTestOperationRow(
        idempotency_key=request.operation_id,
        order_number=request.order_number,
        kind=request.kind.value,
        method=request.method,
        token=token,
        parent_reference=parent.reference if parent else None,
        reference="",
        amount=request.amount.amount,
        currency=request.amount.currency,
        outcome="failed",
        created_at=now,
        answered_at=now,
    )


def _same_request_or_refuse(row: GatewayTestOperationRow, request: GatewayRequest) -> None:
    # As real gateways do: an idempotency key reused for a different request is a programming error.
    if (row.kind, row.amount, row.currency) != (request.kind.value, request.amount.amount, request.amount.currency):
        raise invalid_request(
            f"idempotency key {request.operation_id} was used for a {row.kind} of "
            f"{Money(amount=row.amount, currency=row.currency)}, not a {request.kind} of {request.amount}"
        )


def _moved_against(session: Session, reference: str) -> dict[str, int]:
    """Approved amounts by kind of the operations on one authorisation or capture (a key per kind seen)."""
    rows = session.exec(
        select(GatewayTestOperationRow.kind, func.sum(GatewayTestOperationRow.amount))
        .where(GatewayTestOperationRow.parent_reference == reference, GatewayTestOperationRow.outcome == "approved")
        .group_by(GatewayTestOperationRow.kind)
    ).all()
    return {kind: int(total or 0) for kind, total in rows}


def _reference(request: GatewayRequest) -> str:
    """Deterministic, so the same idempotency key always names the same gateway object."""
    return f"tg_{request.kind.value}_{hashlib.sha256(request.operation_id.encode()).hexdigest()[:20]}"


def _money(amount: int, like: Money) -> Money:
    return Money(amount=amount, currency=like.currency)
