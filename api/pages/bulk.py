"""Bulk actions from the dashboard: prompt the store, move to another store, or cancel, for each selected order.
Each order is checked and run on its own, through the same `perform` as the order page and the API (a refusal of one
changes nothing of it and stops none of the others), and the answer lists the result for every order. Each order's
action carries an Idempotency-Key made of the form's bulk id and the order, so pressing again after an unclear
outcome applies nothing twice."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.pages import results
from api.pages.forms import form_of
from api.pages.order import PageActions
from api.pages.session import HeadOfficeUser
from api.pages.shared import page, words
from api.problems import InvalidInput, NotFound, Problem
from api.routers.interventions import body_model, perform
from models.actions import BY_PATH
from models.views import OrderView

router = APIRouter(prefix="/ui", include_in_schema=False)

BULK_ACTIONS = ("prompt-store", "move-to-store", "cancel")
MAX_ORDERS = 100


@dataclass
class BulkResult:
    order_number: str
    kind: str  # "done", "refused", "invalid" or "unknown"
    text: str


@router.post("/orders/bulk")
async def bulk_action(
    request: Request, session: SessionDep, temporal: TemporalDep, settings: SettingsDep, user: HeadOfficeUser
) -> Response:
    """Run one action on each selected order; answer a table of what happened to each."""
    form = await request.form()
    path = str(form.get("bulk_action", ""))
    if path not in BULK_ACTIONS:
        raise InvalidInput([{"field": "bulk_action", "message": f"one of {', '.join(BULK_ACTIONS)}"}])
    action = BY_PATH[path]
    numbers = list(dict.fromkeys(str(n) for n in form.getlist("order")))[:MAX_ORDERS]
    bulk_id = str(form.get("bulk_id", "")).strip()[:64] or "bulk"
    body_fields = {"reason": str(form.get("reason", "")).strip()}
    if path == "move-to-store":
        body_fields["store_id"] = str(form.get("store_id", "")).strip()
    done: list[BulkResult] = []
    for number in numbers:
        try:
            body = body_model(action).model_validate(body_fields)
            key = f"{bulk_id}:{number}"
            actions = PageActions(number, session, temporal, settings, user, key)
            after = OrderView.model_validate(await perform(actions, action, body))
            done.append(BulkResult(number, "done", f"Done: now {words(after.status)}."))
        except NotFound as error:
            done.append(BulkResult(number, "refused", f"Not found: {error.detail}."))
        except (Problem, ValidationError) as error:
            result = results.failed(form_of(action), error)
            text = " ".join([result.headline, *result.details])
            done.append(BulkResult(number, result.kind, text))
    return page(request, "_bulk_results.html", user, results=done, action=action, asked=len(numbers))
