"""The built-in test gateway: the card token chooses the outcome, so every payment path can be exercised.

It behaves like an external gateway: it keeps its own books (table `test_gateway_operations`, one row per
idempotency key; models/db/testing_gateway.py) in Baton's database, so a retry with the same key from any worker
process gets the original answer instead of a second charge, and tests can count what it captured. Captures, voids
and refunds act on the authorisation's (or capture's) reference and follow the token of the authorisation they
descend from.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine
from sqlmodel import Session

from activities.gateways.base import GatewayUnavailable, invalid_request
from models.db import testing_gateway as books
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
    # Books every operation, then loses the answer: unreachable until BATON_TEST_GATEWAY_OUTAGE_SECONDS after the
    # operation was first booked, then it answers from its books (the money moved; Baton must not move it again).
    outage = "tok_outage"


@dataclass(frozen=True)
class _Answer:
    result: GatewayResult
    fresh: bool  # decided now, not a replay of an earlier answer
    token: str
    booked_at: datetime


class TestGateway:
    """The `test` gateway. Outcomes by token: see CardToken."""

    __test__ = False  # not a pytest class
    name = "test"

    def __init__(
        self,
        engine: Engine,
        *,
        slow_seconds: float = 5.0,
        authorisation_ttl: timedelta | None = None,
        outage_seconds: float = 30.0,
    ):
        self._engine = engine
        self._slow_seconds = slow_seconds
        self._authorisation_ttl = authorisation_ttl or timedelta(days=7)
        self._outage = timedelta(seconds=outage_seconds)

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
        if answer.token == CardToken.outage and datetime.now(UTC) - answer.booked_at < self._outage:
            raise GatewayUnavailable(f"test gateway: unreachable (simulated outage); {request.operation_id} is booked")
        return answer.result

    def _book(self, request: GatewayRequest) -> _Answer:
        """Answer from the books, or decide and write the answer down (once, also under concurrent retries)."""
        for _ in range(3):
            with Session(self._engine) as session:
                row = books.operation(session, request.operation_id)
                if row is not None and row.outcome != "failed":
                    _same_request_or_refuse(row, request)
                    return _Answer(books.answer(row), fresh=False, token=row.token, booked_at=row.created_at)
                token, parent = self._token_and_parent(session, request)
                now = datetime.now(UTC)
                if row is None:
                    row = books.new_operation(request, token, parent, now)
                    if token == CardToken.error_then_approve:
                        row.outcome, row.detail = "failed", "simulated transient fault"
                        if books.write_down(session, row):
                            raise GatewayUnavailable(f"test gateway: {request.operation_id} failed, try again")
                        continue  # a concurrent copy wrote first: read its answer
                else:
                    row.calls += 1
                row.outcome, row.detail, row.expires_at = self._decide(session, request, token, parent, now)
                row.reference = _reference(request) if row.outcome == "approved" else ""
                row.answered_at = now
                if books.write_down(session, row):
                    return _Answer(books.answer(row), fresh=True, token=token, booked_at=row.created_at)
        raise GatewayUnavailable(f"test gateway: {request.operation_id} is being answered concurrently")

    def _token_and_parent(
        self, session: Session, request: GatewayRequest
    ) -> tuple[str, GatewayTestOperationRow | None]:
        if request.kind in (Kind.authorise, Kind.sale):
            return request.token or CardToken.approve, None
        parent = books.approved_operation(session, request.reference)
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
        moved = books.moved_against(session, parent.reference)
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


def _same_request_or_refuse(row: GatewayTestOperationRow, request: GatewayRequest) -> None:
    # As real gateways do: an idempotency key reused for a different request is a programming error.
    if (row.kind, row.amount, row.currency) != (request.kind.value, request.amount.amount, request.amount.currency):
        raise invalid_request(
            f"idempotency key {request.operation_id} was used for a {row.kind} of "
            f"{Money(amount=row.amount, currency=row.currency)}, not a {request.kind} of {request.amount}"
        )


def _reference(request: GatewayRequest) -> str:
    """Deterministic, so the same idempotency key always names the same gateway object."""
    return f"tg_{request.kind.value}_{hashlib.sha256(request.operation_id.encode()).hexdigest()[:20]}"


def _money(amount: int, like: Money) -> Money:
    return Money(amount=amount, currency=like.currency)
