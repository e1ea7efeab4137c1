"""The point of no return at the API's door: a customer request to cancel or return, or a return asked of an order
past its queue's point of no return (models/queues.py), is refused 409 naming the rule, before anything starts."""

from __future__ import annotations

from typing import Any

from api.problems import Conflict
from models.queues import POINT_OF_NO_RETURN, past_point_of_no_return_in_view
from models.requests import RequestKind

# The customer requests the point of no return refuses: a cancellation, or a return of delivered items.
PONR_KINDS = frozenset({RequestKind.cancel_order, RequestKind.cancel_lines, RequestKind.return_lines})


def refuse_past_point_of_no_return(view: dict[str, Any], what: str | None) -> None:
    """409 point_of_no_return when the order (its projected view) is past it and `what` is asked (None: nothing
    the point of no return refuses)."""
    if what is None:
        return
    if why := past_point_of_no_return_in_view(view):
        raise Conflict(f"{why}: {what} is refused", type_=POINT_OF_NO_RETURN, rule=POINT_OF_NO_RETURN)
