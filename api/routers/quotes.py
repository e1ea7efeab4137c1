"""Requests for quote (models/quotes.py, activities/quotes.py): a channel asks for a quote on behalf of a customer,
Head Office prices it, the channel that asked accepts it (an order at the quoted prices) or declines it. A priced
quote's validity is a durable timer (workflows/quotes.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from activities import placement
from activities import quotes as quote_work
from api import orders_service
from api.deps import HEAD_OFFICE, Caller, HeadOffice, SessionDep, SettingsDep, TemporalDep, has_role, in_threadpool
from api.params import IdempotencyKey, Offset
from api.problems import Conflict, Forbidden, InvalidInput, NotFound, field_error, problem_responses
from api.rate_limits import PlacementLimited
from api.responses import JSONBody
from models.db import quotes as quotes_db
from models.quotes import AcceptQuote, DeclineQuote, PriceQuote, Quote, QuoteStatus, RequestQuote
from models.settings import ApiKeyHolder
from workflows.quotes import QuoteWorkflow, quote_workflow_id

router = APIRouter(tags=["quotes"])

QuoteId = Annotated[str, Path(pattern=r"^Q[0-9a-f]{1,39}$")]


def _refused(refused: placement.PlacementRefused) -> InvalidInput:
    return InvalidInput([{"field": p.field, "message": p.message} for p in refused.problems])


def _conflict(refused: quote_work.QuoteRefused) -> Conflict:
    return Conflict(str(refused), type_=refused.rule, rule=refused.rule)


def _quote(session: Session, quote_id: str, caller: ApiKeyHolder) -> Quote:
    """The quote, for Head Office or the channel key that asked for it (404 for anyone else: no existence leak)."""
    quote = quote_work.found(session, quote_id)
    if quote is None or not (has_role(caller, HEAD_OFFICE) or quote.requested_by == caller.name):
        raise NotFound(f"quote {quote_id} not found", type_="quote-not-found")
    return quote


@router.post("/quotes/requests", status_code=status.HTTP_201_CREATED, response_model=Quote)
async def request_quote(
    body: RequestQuote, session: SessionDep, caller: PlacementLimited, idempotency_key: IdempotencyKey = None
) -> Quote:
    """Ask for a quote on the customer's behalf: the lines (SKU and quantity) and how they would be fulfilled,
    judged by the placement rules (`422` naming the field). The same Idempotency-Key answers the same request."""
    if caller.channels is not None and body.channel not in caller.channels:
        raise Forbidden(f"this key places orders for {', '.join(caller.channels) or 'none'} only", type_="forbidden")

    def work() -> Quote:
        try:
            return quote_work.request_quote(session, caller.name, body, idempotency_key, datetime.now(UTC))
        except placement.PlacementRefused as refused:
            raise _refused(refused) from None
        except quote_work.QuoteKeyReused as reused:
            raise field_error("Idempotency-Key", str(reused)) from None

    return await in_threadpool(session, work)


@router.get("/quotes", response_model=list[Quote])
async def list_quotes(
    session: SessionDep,
    caller: HeadOffice,
    status_: Annotated[QuoteStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[Quote]:
    """Quotes for Head Office, the oldest request first; `status=requested` lists those waiting for a price."""

    def work() -> list[Quote]:
        return [quotes_db.quote_of(row) for row in quotes_db.listed(session, status_, limit, offset)]

    return await in_threadpool(session, work)


@router.get("/quotes/{quote_id}", response_model=Quote, responses=problem_responses(404))
async def get_quote(quote_id: QuoteId, session: SessionDep, caller: Caller) -> Quote:
    """The request, its offer, its status and the order an acceptance placed."""
    return await in_threadpool(session, _quote, session, quote_id, caller)


async def price_and_start_clock(
    session: Session, temporal: Client, task_queue: str, caller: ApiKeyHolder, quote_id: str, body: PriceQuote
) -> Quote:
    """Make (or replace) the offer and start (or move) the quote's clock; the API and the Head Office page share it."""

    def work() -> Quote:
        try:
            quote = _quote(session, quote_id, caller)
            return quote_work.price_quote(session, quote, body, f"head_office:{caller.name}", datetime.now(UTC))
        except placement.PlacementRefused as refused:
            raise _refused(refused) from None
        except quote_work.QuoteRefused as refused:
            raise _conflict(refused) from None

    priced = await in_threadpool(session, work)
    assert priced.offer is not None
    await temporal.start_workflow(
        QuoteWorkflow.run,
        quote_id,
        id=quote_workflow_id(quote_id),
        task_queue=task_queue,
        start_signal="priced",
        start_signal_args=[priced.offer.valid_until],
    )
    return priced


@router.post("/quotes/{quote_id}/price", response_model=Quote, responses=problem_responses(404, 409))
async def price_quote(
    quote_id: QuoteId,
    body: PriceQuote,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: HeadOffice,
) -> Quote:
    """Price each requested line (in order), valid until a date (at most 90 days ahead); a new price before the
    answer replaces the offer. `409` once the quote is answered."""
    return await price_and_start_clock(session, temporal, settings.task_queue, caller, quote_id, body)


async def _tell_answered(temporal: Client, quote_id: str) -> None:
    try:
        await temporal.get_workflow_handle(quote_workflow_id(quote_id)).signal(QuoteWorkflow.answered)
    except RPCError:
        pass  # never priced, or its clock ended already: nothing waits for the answer


@router.post("/quotes/{quote_id}/accept", status_code=status.HTTP_201_CREATED, responses=problem_responses(404, 409))
async def accept_quote(
    quote_id: QuoteId,
    body: AcceptQuote,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: PlacementLimited,
    idempotency_key: IdempotencyKey = None,
) -> JSONBody:
    """Accept the offer within its validity: an order at the quoted prices, paid as `POST /orders` is paid. The
    same Idempotency-Key answers the same order; `409` naming the rule when the quote is declined, expired, not
    priced, or accepted already."""

    def work() -> tuple[Any, bool]:
        try:
            quote = _quote(session, quote_id, caller)
            if quote.requested_by != caller.name:
                raise Forbidden("only the channel that asked for the quote answers it", type_="forbidden")
            return quote_work.place_accepted(
                session, quote, body, idempotency_key, settings.payment_gateway, datetime.now(UTC)
            )
        except placement.PlacementRefused as refused:
            raise _refused(refused) from None
        except quote_work.QuoteRefused as refused:
            raise _conflict(refused) from None

    state, created = await in_threadpool(session, work)
    if not await placement.start_order(temporal, state, settings.task_queue):
        created = False
    await _tell_answered(temporal, quote_id)
    order = await in_threadpool(session, orders_service.order_view, session, state.order_number)
    quote = await in_threadpool(session, _quote, session, quote_id, caller)
    answer = {"quote": quote.model_dump(mode="json"), "order": order}
    headers = {"Location": f"/orders/{state.order_number}"} | ({} if created else {"Idempotent-Replayed": "true"})
    return JSONBody(answer, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers=headers)


@router.post("/quotes/{quote_id}/decline", response_model=Quote, responses=problem_responses(404, 409))
async def decline_quote(
    quote_id: QuoteId, body: DeclineQuote, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> Quote:
    """Decline the offer (or the request), with the reason; `409` once answered."""

    def work() -> Quote:
        try:
            quote = _quote(session, quote_id, caller)
            if quote.requested_by != caller.name:
                raise Forbidden("only the channel that asked for the quote answers it", type_="forbidden")
            return quote_work.decline_quote(session, quote, body.reason, datetime.now(UTC))
        except quote_work.QuoteRefused as refused:
            raise _conflict(refused) from None

    declined = await in_threadpool(session, work)
    await _tell_answered(temporal, quote_id)
    return declined
