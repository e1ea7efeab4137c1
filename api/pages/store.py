"""The store's Pick Manager: its orders in three tabs (to pick, ready, done), and buttons that send the same events as
the store webhooks. A short pick needs a reason (asked before anything is sent), and "Handed over" needs the order's
collection code (models/collection.py), which the customer was sent when the order became ready."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api import orders_service
from api.deps import SessionDep, TemporalDep, in_threadpool
from api.pages import wording  # noqa: F401  (the templates' filters)
from api.pages.session import StoreUser
from api.pages.shared import page, words
from api.problems import NotFound
from models.collection import collection_code, matches
from models.db.catalogue import list_products
from models.db.orders import done_store_orders, get_order_record, open_store_orders
from models.db.policies import policy_for_store
from models.order import OrderStatus, StoreEvent, StoreEventType, order_workflow_id
from models.settings import ApiKeyHolder
from models.views import OrderView
from models.waiting import status_deadline, urgency
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/ui", include_in_schema=False)

STORE_BUTTONS = {
    "acknowledge": StoreEventType.acknowledged,
    "pick": StoreEventType.picked,
    "hand-over": StoreEventType.collected,
    "not-collected": StoreEventType.not_collected,
    "acknowledge-update": StoreEventType.update_acknowledged,
    "transfer-received": StoreEventType.transfer_received,
    # A home delivery this location ships (the order's own, or a further one: `delivery_id` names it).
    "pack": StoreEventType.packed,
    "ship": StoreEventType.shipped,
    "deliver": StoreEventType.delivered,
    "reject": StoreEventType.rejected,
}
# Why a pick is short: the Pick Manager's reason picker; the reason goes into the order's history for Head Office.
SHORT_PICK_REASONS = (
    "not found on the shelf",
    "damaged",
    "not enough in stock",
    "wrong item in stock",
    "customer asked for fewer",
)
TABS = {
    "pick": "To pick",
    "ready": "Ready",
    "done": "Done",
}
# Statuses the store can act on now, in the "to pick" tab; the others there wait on Head Office or stock.
_STORE_ACTS = (OrderStatus.awaiting_acknowledgement, OrderStatus.acknowledged)
_DONE_WORDS = {
    StoreEventType.acknowledged: "acknowledged",
    StoreEventType.picked: "picked",
    StoreEventType.collected: "handed over (collection code checked)",
    StoreEventType.not_collected: "marked not collected",
    StoreEventType.update_acknowledged: "change acknowledged",
    StoreEventType.transfer_received: "stock received",
    StoreEventType.packed: "packed",
    StoreEventType.shipped: "shipped",
    StoreEventType.delivered: "delivered",
    StoreEventType.rejected: "rejected: it is sourced elsewhere",
}


@dataclass
class Card:
    order: OrderView
    due: datetime | None  # when the store's SLA for this step breaches
    urgency: str | None
    names: dict[str, str]  # sku -> product name

    @property
    def store_can_act(self) -> bool:
        return self.order.status in _STORE_ACTS or self.order.store_update_pending_since is not None


def _tab_of(view: OrderView) -> str:
    if view.status in (OrderStatus.completed, OrderStatus.cancelled):
        return "done"
    return "ready" if view.status in (OrderStatus.ready_for_collection, OrderStatus.collected) else "pick"


def _matches(view: OrderView, query: str) -> bool:
    query = query.casefold()
    return any(query in text.casefold() for text in (view.order_number, view.customer.name, view.web_reference))


def _cards(session: Session, store_id: str, tab: str, query: str) -> tuple[list[Card], dict[str, int]]:
    """The tab's orders (the store's own to act on first, most urgent first), and how many each tab holds."""
    views = [OrderView.model_validate(r.view) for r in open_store_orders(session, store_id)]
    if tab == "done":
        views += [OrderView.model_validate(r.view) for r in done_store_orders(session, store_id)]
    counts = {name: sum(1 for v in views if _tab_of(v) == name) for name in TABS}
    if tab != "done":
        counts.pop("done")
    policy, now = policy_for_store(session, store_id), datetime.now(UTC)
    names = {product.sku: product.name for product in list_products(session)}
    cards = []
    for view in views:
        if _tab_of(view) != tab or (query and not _matches(view, query)):
            continue
        due = status_deadline(view.status, view.status_since, policy) if tab != "done" else None
        cards.append(Card(view, due, urgency(view.status_since, due, now), names))
    if tab != "done":
        far = datetime.max.replace(tzinfo=UTC)
        cards.sort(key=lambda c: (not c.store_can_act, c.due or far, c.order.created_at))
    return cards, counts


async def _context(request: Request, session: Session, store_id: str) -> dict[str, Any]:
    tab = request.query_params.get("tab", "pick")
    tab = tab if tab in TABS else "pick"
    query = request.query_params.get("q", "").strip()[:64]
    cards, counts = await in_threadpool(session, _cards, session, store_id, tab, query)
    return {
        "cards": cards,
        "counts": counts,
        "tab": tab,
        "tabs": TABS,
        "q": query,
        "store_id": store_id,
        "short_pick_reasons": SHORT_PICK_REASONS,
        "refreshed_at": datetime.now(UTC),
    }


@router.get("/store")
async def store_page(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _context(request, session, str(user.store_id))
    return page(request, "store.html", user, **context)


@router.get("/store/live")
async def store_live(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _context(request, session, str(user.store_id))
    return page(request, "_store_orders.html", user, **context)


def _record_version(session: Session, order_number: str) -> tuple[int, str]:
    record = get_order_record(session, order_number)
    return (record.version, record.status) if record else (0, "")


def _text(form: Any, name: str) -> str | None:
    return str(form.get(name, "")).strip() or None


def _staff(request: Request, user: ApiKeyHolder) -> str | None:
    """The named member of staff who pressed (None when signed in with the store's API key)."""
    staff = getattr(request.state, "staff_user", None)
    return user.name if staff is not None else None


def _checks(event_type: StoreEventType, state: OrderView, form: Any) -> tuple[dict[str, int], dict[str, str] | None]:
    """The picked quantities, and a refusal before anything is sent: a short pick without its reason, or a hand-over
    without the right collection code."""
    if event_type is StoreEventType.picked:
        try:
            picked = {
                line.line_id: max(0, int(str(form.get(f"picked_{line.line_id}", line.quantity))))
                for line in state.lines
                if line.is_collectable
            }
        except ValueError:
            return {}, {"rule": "invalid-input", "message": "Picked quantities must be whole numbers."}
        short = [f"{line.line_id} {picked[line.line_id]} of {line.quantity}" for line in state.lines if
                 line.is_collectable and picked[line.line_id] < line.quantity]  # fmt: skip
        if short and _text(form, "short_reason") not in SHORT_PICK_REASONS:
            message = (
                f"Picking short ({', '.join(short)}): the order will go on hold for Head Office. "
                "Choose why the pick is short, then press Picked again. Nothing was sent."
            )
            return picked, {"rule": "short-pick-reason", "message": message}
        return picked, None
    if event_type is StoreEventType.collected:
        code = collection_code(state.order_number, state.web_reference, state.customer.id, state.created_at)
        if not matches(code, str(form.get("collection_code", ""))):
            message = "That is not the order's collection code: ask the customer for the code in their ready message."
            return {}, {"rule": "collection-code", "message": message + " Nothing was sent."}
    return {}, None


async def _send(temporal: Client, order_number: str, event: StoreEvent, status: str) -> dict[str, str] | None:
    try:
        await temporal.get_workflow_handle(order_workflow_id(order_number)).signal(OrderWorkflow.store_event, event)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return {"rule": "order_closed", "message": f"Order {order_number} is closed ({words(status)})."}
    return None


@router.post("/store/orders/{order_number}/{button}")
async def store_action(
    order_number: str, button: str, request: Request, session: SessionDep, temporal: TemporalDep, user: StoreUser
) -> Response:
    """A Pick Manager button: the same signal as the store webhook, with a fresh event id per click."""
    if button not in STORE_BUTTONS:
        raise NotFound(f"unknown button {button}", type_="page-not-found")
    store_id = str(user.store_id)
    state = OrderView.model_validate(
        await in_threadpool(session, orders_service.order_view, session, order_number, user)
    )
    form = await request.form()
    event_type = STORE_BUTTONS[button]
    picked, refusal = _checks(event_type, state, form)
    before = await in_threadpool(session, _record_version, session, order_number)
    message = None
    if refusal is None:
        event = StoreEvent(
            event_id=f"ui-{uuid.uuid4()}",
            type=event_type,
            store_id=store_id,
            occurred_at=datetime.now(UTC),
            picked=picked,
            transfer_id=_text(form, "transfer_id"),
            reason=_text(form, "short_reason") if event_type is StoreEventType.picked else _text(form, "reason"),
            staff=_staff(request, user),
            carrier=_text(form, "carrier"),
            tracking_number=_text(form, "tracking_number"),
            delivery_id=_text(form, "delivery_id"),
        )
        refusal = await _send(temporal, order_number, event, state.status)
    if refusal is None:
        # Give the workflow a moment to apply the event so the page shows its effect (the list polls anyway).
        after = before
        for _ in range(30):
            await asyncio.sleep(0.1)
            after = await in_threadpool(session, _record_version, session, order_number)
            if after[0] > before[0]:
                break
        done = _DONE_WORDS[event_type]
        if after[0] > before[0]:
            message = f"Order {order_number} {done}: now {words(after[1])}."
            if after[1] == OrderStatus.on_hold:
                message += " It waits for Head Office (picked short); nothing more to do for now."
        else:
            message = f"Order {order_number} {done}: sent, not shown yet (the list refreshes itself)."
        if after[0] > before[0] and after[1] == before[1] and event_type is not StoreEventType.update_acknowledged:
            latest = OrderView.model_validate(
                await in_threadpool(session, orders_service.order_view, session, order_number)
            )
            exception = next((e for e in latest.store_exceptions if e.event_id == event.event_id), None)
            if exception is not None:
                refusal = {"rule": "store_exception", "message": f"Not done: {exception.reason}."}
                message = None
    context = await _context(request, session, store_id)
    kept = {str(k): str(v) for k, v in form.items()} if refusal else {}  # refused: what was typed stays
    response = page(
        request,
        "_store_action.html",
        user,
        message=message,
        refusal=refusal,
        kept=kept,
        acted_on=order_number,
        **context,
    )
    if refusal:
        response.headers["X-Baton-Kept"] = "yes"  # api/static/baton.js: the typed fields stay through polls
    return response
