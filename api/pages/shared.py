"""What every page shares: the templates, their filters (money, times) and rendering a page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from models.money import Money
from models.settings import ApiKeyHolder

API_DIR = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=API_DIR / "templates")

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(value: Money | dict[str, Any] | None) -> str:
    """£15.00, €3.50, or 1500 JPY: exact, in the currency's own minor units."""
    if value is None:
        return ""
    amount = value if isinstance(value, Money) else Money.model_validate(value)
    major = str(amount.decimal())
    return f"{_SYMBOLS[amount.currency]}{major}" if amount.currency in _SYMBOLS else f"{major} {amount.currency}"


def when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _moment(value: datetime | str) -> datetime:
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(UTC)


def local_time(value: datetime | str | None) -> Markup:
    """A moment shown in the reader's local time (api/static/baton.js), its UTC on hover and before the script
    runs."""
    if value is None:
        return Markup("")
    moment = _moment(value)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}" data-local>{}</time>').format(moment.isoformat(), utc, utc)


def countdown(value: datetime | str | None) -> Markup:
    """Time left until a deadline ("in 1h 20m", "20m overdue"), kept up to date by the page's script."""
    if value is None:
        return Markup("")
    moment = _moment(value)
    utc = moment.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}" title="{}" data-countdown>{}</time>').format(moment.isoformat(), utc, utc)


def age(value: datetime | str | None) -> Markup:
    """How long ago a moment was ("2h 5m"), kept up to date by the page's script."""
    if value is None:
        return Markup("")
    moment = _moment(value)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="since {}" data-age>since {}</time>').format(moment.isoformat(), utc, utc)


def words(value: Any) -> str:
    """An enum or snake_case name for people: awaiting_acknowledgement reads "awaiting acknowledgement"."""
    return str(getattr(value, "value", value)).replace("_", " ")


templates.env.filters["money"] = money
templates.env.filters["when"] = when
templates.env.filters["words"] = words
templates.env.filters["local"] = local_time
templates.env.filters["countdown"] = countdown
templates.env.filters["age"] = age


def page(
    request: Request, template: str, user: ApiKeyHolder | None, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(request, template, {"user": user, **context}, status_code=status_code)
