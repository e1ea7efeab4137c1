"""Requests for quote on a page (Head Office): the open requests and quotes, the oldest first, each with a form to
price its lines (in the currency's units, e.g. 12.50) until a date. Pricing runs the API's own code
(api/routers/quotes.py `price_and_start_clock`), so the checks and the quote's clock are the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, TemporalDep, in_threadpool
from api.pages.forms import minor_units
from api.pages.session import HeadOfficeUser
from api.pages.shared import page
from api.problems import Conflict, InvalidInput
from api.routers.quotes import price_and_start_clock
from models.db import quotes as quotes_db
from models.quotes import PriceQuote, Quote, QuoteStatus

OPEN = (QuoteStatus.requested, QuoteStatus.quoted)
SHOWN = 200

router = APIRouter(prefix="/ui", include_in_schema=False)


def _open_quotes(session: Any) -> list[Quote]:
    rows = [row for status in OPEN for row in quotes_db.listed(session, status, SHOWN, 0)]
    return sorted((quotes_db.quote_of(row) for row in rows), key=lambda quote: quote.requested_at)


@router.get("/quotes")
async def quotes_page(request: Request, session: SessionDep, user: HeadOfficeUser, priced: str = "") -> Response:
    quotes = await in_threadpool(session, _open_quotes, session)
    return page(request, "quotes.html", user, quotes=quotes, priced=priced, problems={}, status_code=200)


def _body(form: Any, quote: Quote, currency: str) -> PriceQuote:
    """The form as the API's body: each line's price in the currency's units, valid until the end of a day (UTC)."""
    lines = [
        {"unit_price": {"amount": minor_units(str(form.get(f"price_{i}", "")), currency), "currency": currency}}
        for i in range(len(quote.request.lines))
    ]
    try:
        day = date.fromisoformat(str(form.get("valid_until", "")))
    except ValueError:
        raise ValueError("valid until: give a date (YYYY-MM-DD)") from None
    until = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    notes = [note] if (note := str(form.get("notes", "")).strip()) else []
    return PriceQuote.model_validate({"lines": lines, "valid_until": until, "notes": notes})


@router.post("/quotes/{quote_id}/price")
async def price_quote_page(
    quote_id: str, request: Request, session: SessionDep, temporal: TemporalDep, user: HeadOfficeUser
) -> Response:
    form = await request.form()
    quote = await in_threadpool(session, lambda: quotes_db.find(session, quote_id))
    problems: list[str] = []
    if quote is None:
        problems = [f"quote {quote_id} not found"]
    else:
        currency = str(form.get("currency", "GBP")).strip().upper() or "GBP"
        try:
            body = _body(form, quotes_db.quote_of(quote), currency)
            await price_and_start_clock(session, temporal, request.app.state.settings.task_queue, user, quote_id, body)
        except (ValueError, ValidationError) as error:
            problems = [str(error)]
        except (InvalidInput, Conflict) as refused:
            problems = [refused.detail]
    if not problems:
        return RedirectResponse(f"/ui/quotes?priced={quote_id}", status_code=303)
    quotes = await in_threadpool(session, _open_quotes, session)
    return page(request, "quotes.html", user, quotes=quotes, priced="", problems={quote_id: problems}, status_code=422)
