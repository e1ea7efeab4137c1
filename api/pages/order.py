"""The order page: the order in full, the money on its way, and a form for every Head Office action.

Forms post here; the action runs through the API's own `perform` (api.routers.interventions), so the page and
`POST /orders/{n}/<action>` apply the same checks. The answer is the refreshed order with a banner above the form
that was sent; a form keeps its Idempotency-Key until its action is done, so pressing again after a refusal or an
unknown outcome never applies anything twice."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData
from temporalio.client import Client

from api import orders_service
from api.deps import HEAD_OFFICE, SessionDep, SettingsDep, TemporalDep, has_role, in_threadpool
from api.interventions_service import actor_of, run_action
from api.pages import forms, results
from api.pages.session import HeadOfficeUser, User
from api.pages.shared import page
from api.problems import NotFound, Problem
from api.routers.interventions import body_model, perform
from models.actions import BY_PATH, Action
from models.catalogue import LocationKind
from models.db.catalogue import list_products, list_stores
from models.db.extracts import list_extracts
from models.db.outbound import exports_for_order
from models.order import order_workflow_id
from models.settings import ApiKeyHolder, Settings
from models.views import OrderView

router = APIRouter(prefix="/ui", include_in_schema=False)


class _PageActions:
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
        return await run_action(self.session, self._temporal, self.order_number, action, command, self._key, timeout)

    def view(self, session: Session) -> dict[str, Any]:
        return orders_service.order_view(session, self.order_number)


def _view(session: Session, order_number: str, user: ApiKeyHolder | None = None) -> OrderView:
    return OrderView.model_validate(orders_service.order_view(session, order_number, user))  # 404: another store's


def _context(session: Session, settings: Settings, view: OrderView, user: ApiKeyHolder) -> dict[str, Any]:
    return {
        "order": view,
        "may_act": has_role(user, HEAD_OFFICE),
        "temporal_url": f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{order_workflow_id(view.order_number)}",
        "forms": forms.forms(),
        "stores": list_stores(session, LocationKind.store),
        "locations": list_stores(session),
        "products": list_products(session),
        "exports": exports_for_order(session, view.order_number),
        "extracts": list_extracts(session, order_number=view.order_number),
        "result": None,
        "values": FormData(),
        "no_values": FormData(),  # what a form shows when it was not the one sent: its defaults
        "form_key": lambda path: str(uuid.uuid4()),
    }


def _load(session: Session, settings: Settings, order_number: str, user: ApiKeyHolder) -> dict[str, Any]:
    return _context(session, settings, _view(session, order_number, user), user)


@router.get("/orders/{order_number}")
async def order_page(
    order_number: str, request: Request, session: SessionDep, settings: SettingsDep, user: User
) -> Response:
    context = await in_threadpool(session, _load, session, settings, order_number, user)
    return page(request, "order.html", user, **context)


@router.get("/orders/{order_number}/money")
async def order_money(order_number: str, request: Request, session: SessionDep, user: User) -> Response:
    """The order's money, polled while some of it is on its way."""
    view = await in_threadpool(session, _view, session, order_number, user)
    return page(request, "_order_money.html", user, order=view)


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
    before = await in_threadpool(session, _view, session, order_number, user)
    after: OrderView | None = None
    try:
        body = body_model(action).model_validate(forms.parse(form, submitted, before.total.currency))
        actions = _PageActions(order_number, session, temporal, settings, user, key)  # what perform uses of one
        after = OrderView.model_validate(await perform(actions, action, body))
        result = results.done(form, actor_of(user), before, after)
    except NotFound as error:
        if error.type == "order-not-found":
            raise
        result = results.failed(form, error)
    except (Problem, ValidationError) as error:
        result = results.failed(form, error)
    view = after or await in_threadpool(session, _view, session, order_number)
    context = await in_threadpool(session, _context, session, settings, view, user)
    context |= {"result": result, "values": submitted if result.kept_key else FormData()}
    if result.kept_key:
        context["form_key"] = lambda p: key if p == path else str(uuid.uuid4())
    return page(request, "_order_section.html", user, **context)
