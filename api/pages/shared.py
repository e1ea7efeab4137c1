"""What every page shares: the templates, their filters (money, times) and rendering a page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

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


def words(value: Any) -> str:
    """An enum or snake_case name for people: awaiting_acknowledgement reads "awaiting acknowledgement"."""
    return str(getattr(value, "value", value)).replace("_", " ")


templates.env.filters["money"] = money
templates.env.filters["when"] = when
templates.env.filters["words"] = words


def page(
    request: Request, template: str, user: ApiKeyHolder | None, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(request, template, {"user": user, **context}, status_code=status_code)
