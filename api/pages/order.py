"""The order page: the order in full, the money on its way, and a form for every Head Office action.

Forms post here; the action runs through the API's own `perform` (api.routers.interventions), so the page and
`POST /orders/{n}/<action>` apply the same checks. The answer is the refreshed order with a banner above the form
that was sent; a form keeps its Idempotency-Key until its action is done, so pressing again after a refusal or an
unknown outcome never applies anything twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData
from temporalio.client import Client

from api import diagnosis_service, orders_service
from api.deps import HEAD_OFFICE, SessionDep, SettingsDep, TemporalDep, has_role, in_threadpool
from api.interventions_service import actor_of, run_action
from api.pages import forms, results, wording  # noqa: F401  (wording: the templates' filters)
from api.pages.session import HeadOfficeUser, User
from api.pages.shared import page
from api.problems import NotFound, Problem
from api.routers.interventions import body_model, perform
from models.actions import BY_PATH, Action
from models.calendar import location_time
from models.catalogue import LocationKind
from models.db import merchants
from models.db.catalogue import list_products, list_stores
from models.db.custom_fields import get_custom_fields
from models.db.extracts import get_extract, list_extracts
from models.db.outbound import exports_for_order
from models.db.policies import policy_for_store
from models.offered import offered_actions
from models.order import order_workflow_id
from models.settings import ApiKeyHolder, Settings
from models.views import OrderView
from models.waiting import waiting_for

router = APIRouter(prefix="/ui", include_in_schema=False)


class PageActions:
    """What `perform` uses of the API's OrderActions, from the page's request: the order, the signed-in user (not a
    bearer key) and the form's Idempotency-Key (not a header). Runs the action through the same service."""

    def __init__(
        self, order_number: str, session: Session, temporal: Client, settings: Settings, user: ApiKeyHolder, key: str
    ) -> None:
        self.order_number, self.session, self.user = order_number, session, user
        self._temporal, self._settings, self._key = temporal, settings, key

    async def run(self, action: Action, command: Any) -> dict[str, Any]:
        command.actor = actor_of(self.user)
        timeout = self._settings.update_timeout_seconds
        return await run_action(
            self.session,
            self._temporal,
            self.order_number,
            action,
            command,
            self._key,
            timeout,
            self._settings,
        )

    def view(self, session: Session) -> dict[str, Any]:
        return orders_service.order_view(session, self.order_number)


def view_of(session: Session, order_number: str, user: ApiKeyHolder | None = None) -> OrderView:
    return OrderView.model_validate(orders_service.order_view(session, order_number, user))  # 404: another store's


def stock_grid(stock: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, list[dict[str, Any] | None]]]]:
    """The stock table: one column for every location any SKU is held at, and each SKU's figure in its own
    location's column (None where the SKU has no stock row there), whatever locations the first SKU has."""
    locations = sorted({held["location_id"] for holding in stock for held in holding["locations"]})
    rows = []
    for holding in stock:
        at = {held["location_id"]: held for held in holding["locations"]}
        rows.append((str(holding["sku"]), [at.get(location) for location in locations]))
    return locations, rows


def _context(session: Session, settings: Settings, view: OrderView, user: ApiKeyHolder) -> dict[str, Any]:
    now = datetime.now(UTC)
    last = view.history[-1] if view.history else None
    policy = policy_for_store(session, view.store_id)
    wait = waiting_for(view, policy, now)
    labels = {field.name: field.label for field in get_custom_fields(session).fields}
    return {
        "order": view,
        "may_act": has_role(user, HEAD_OFFICE),
        "temporal_url": f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{order_workflow_id(view.order_number)}",
        # Editing a custom field is offered once Head Office has defined some.
        "forms": [forms.form_of(a) for a in offered_actions(view) if a.name != "edit_custom_field" or labels],
        "wait": wait,
        # With a calendar, the deadline as the location's clock reads it (the reader's own time is shown too).
        "due_at_location": location_time(policy.calendar, wait.deadline) if wait and wait.deadline else None,
        "last_action": last,
        "stock_grid": stock_grid(view.stock),
        "stores": list_stores(session, LocationKind.store),
        "locations": list_stores(session),
        "products": list_products(session),
        "exports": exports_for_order(session, view.order_number),
        "field_labels": labels,
        "marketplace": merchants.child(session, view.order_number),  # a marketplace child links to its parent
        "extracts": list_extracts(session, order_number=view.order_number),
        "result": None,
        "values": FormData(),
        "no_values": FormData(),  # what a form shows when it was not the one sent: its defaults
        "form_key": lambda path: str(uuid.uuid4()),
    }


def _load(session: Session, settings: Settings, order_number: str, user: ApiKeyHolder) -> dict[str, Any]:
    return _context(session, settings, view_of(session, order_number, user), user)


@router.get("/orders/{order_number}")
async def order_page(
    order_number: str, request: Request, session: SessionDep, settings: SettingsDep, user: User
) -> Response:
    context = await in_threadpool(session, _load, session, settings, order_number, user)
    return page(request, "order.html", user, **context)


@router.get("/orders/{order_number}/money")
async def order_money(order_number: str, request: Request, session: SessionDep, user: User) -> Response:
    """The order's money, polled while some of it is on its way."""
    view = await in_threadpool(session, view_of, session, order_number, user)
    return page(request, "_order_money.html", user, order=view)


@router.get("/orders/{order_number}/diagnosis")
async def order_diagnosis(
    order_number: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: HeadOfficeUser,
) -> Response:
    """The diagnosis panel, loaded when Head Office asks for it (it asks Temporal to describe workflows)."""
    diagnosis = await diagnosis_service.build(session, temporal, settings, order_number, user)
    return page(request, "_diagnosis.html", user, diagnosis=diagnosis)


@router.get("/extracts/{extract_id}")
async def extract_document(extract_id: str, session: SessionDep, user: HeadOfficeUser) -> Response:
    """An XML extract, opened from the order page by a signed-in Head Office user (GET /extracts/{id} wants a
    bearer key, which a browser does not send)."""
    payload = await in_threadpool(session, _extract_payload, session, extract_id)
    if payload is None:
        raise NotFound(f"extract {extract_id} not found", type_="extract-not-found")
    return Response(content=payload.encode(), media_type="application/xml")


def _extract_payload(session: Session, extract_id: str) -> str | None:
    row = get_extract(session, extract_id)
    return row.payload if row is not None else None


@router.post("/orders/{order_number}/actions/{path}")
async def order_action(
    order_number: str,
    path: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: HeadOfficeUser,
) -> Response:
    """Run a Head Office action from its form; answer the refreshed order with the result above that form."""
    if path not in BY_PATH:
        raise NotFound(f"unknown action {path}", type_="page-not-found")
    action = BY_PATH[path]
    form = forms.form_of(action)
    submitted = await request.form()
    key = str(submitted.get("idempotency_key", "")).strip() or str(uuid.uuid4())
    before = await in_threadpool(session, view_of, session, order_number, user)
    after: OrderView | None = None
    try:
        body = body_model(action).model_validate(forms.parse(form, submitted, before.total.currency))
        actions = PageActions(order_number, session, temporal, settings, user, key)  # what perform uses of one
        after = OrderView.model_validate(await perform(actions, action, body))
        result = results.done(form, actor_of(user), before, after)
    except NotFound as error:
        if error.type == "order-not-found":
            raise
        result = results.failed(form, error)
    except (Problem, ValidationError) as error:
        result = results.failed(form, error)
    view = after or await in_threadpool(session, view_of, session, order_number)
    context = await in_threadpool(session, _context, session, settings, view, user)
    context |= {"result": result, "values": submitted if result.kept_key else FormData()}
    if form not in context["forms"]:  # no longer (or never) valid: still shown once, with its result
        context["forms"] = [f for f in forms.forms() if f in context["forms"] or f is form]
    if result.kept_key:
        context["form_key"] = lambda p: key if p == path else str(uuid.uuid4())
    response = page(request, "_order_action.html", user, **context)
    if result.kept_key:
        response.headers["X-Baton-Kept"] = "yes"  # api/static/baton.js: the typed fields stay through polls
    return response
