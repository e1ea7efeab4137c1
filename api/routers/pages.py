"""Web pages served by the API: the Head Office dashboard, the order page and the store's Pick Manager.

Server-rendered Jinja2 templates (api/templates) with htmx (vendored in api/static, no CDN). Sign-in takes an
API key from BATON_API_KEYS and sets a signed, HttpOnly session cookie. Head Office actions call the same code as
the API's action endpoints; store buttons signal the order's workflow exactly as the store webhooks do.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from api import orders_service
from api.deps import SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.problems import Conflict, InvalidInput, NotFound, Problem
from api.routers import interventions as api_actions
from models.actions import BY_PATH
from models.catalogue import LocationKind
from models.db.catalogue import list_products, list_stores
from models.db.extracts import list_extracts
from models.db.orders import (
    count_open_alerts_by_type,
    count_orders_by_status,
    get_order_record,
    open_store_orders,
    search_orders,
)
from models.db.outbound import exports_for_order
from models.db.store_links import list_links
from models.order import AlertType, OrderStatus, StoreEvent, StoreEventType, order_workflow_id
from models.settings import ApiKeyHolder, Role, Settings
from models.views import OrderView
from workflows.order import OrderWorkflow

HERE = Path(__file__).resolve().parent.parent
COOKIE = "baton_session"
SESSION_MAX_AGE = 12 * 3600
PAGE_SIZE = 25
SIGN_IN = "/ui/sign-in"

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def _money(value: Any) -> str:
    if value is None:
        return ""
    amount, currency = (
        (value["amount"], value["currency"]) if isinstance(value, dict) else (value.amount, value.currency)
    )
    major = f"{amount // 100}.{amount % 100:02d}"
    return f"{_SYMBOLS[currency]}{major}" if currency in _SYMBOLS else f"{major} {currency}"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["money"] = _money
templates.env.filters["when"] = _when


# ---- session ------------------------------------------------------------------------------------------------


class SignInRequired(Exception):
    """Raised by the page dependencies; answered with a redirect to the sign-in page."""


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret.get_secret_value(), salt="baton-ui-session")


def _user(request: Request, settings: SettingsDep) -> ApiKeyHolder:
    """The signed-in user. The cookie holds a fingerprint of the key (never the key), so removing a key from
    BATON_API_KEYS ends its sessions."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise SignInRequired
    try:
        fingerprint = _serializer(settings).loads(cookie, max_age=SESSION_MAX_AGE)
    except BadSignature:
        raise SignInRequired from None
    for key, holder in settings.api_keys.items():
        if holder.role in (Role.head_office, Role.store) and _fingerprint(key) == fingerprint:
            return holder
    raise SignInRequired


def _head_office_user(user: Annotated[ApiKeyHolder, Depends(_user)]) -> ApiKeyHolder:
    if user.role is not Role.head_office:
        raise NotFound("this page is for Head Office", type_="page-not-found")
    return user


def _store_user(user: Annotated[ApiKeyHolder, Depends(_user)]) -> ApiKeyHolder:
    if user.role is not Role.store:
        raise NotFound("the Pick Manager is for store staff", type_="page-not-found")
    return user


User = Annotated[ApiKeyHolder, Depends(_user)]
HeadOfficeUser = Annotated[ApiKeyHolder, Depends(_head_office_user)]
StoreUser = Annotated[ApiKeyHolder, Depends(_store_user)]


def _page(
    request: Request, template: str, user: ApiKeyHolder | None, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(request, template, {"user": user, **context}, status_code=status_code)


@router.get("")
def home(user: User) -> RedirectResponse:
    return RedirectResponse("/ui/orders" if user.role is Role.head_office else "/ui/store", status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "") -> Response:
    return _page(request, "sign_in.html", None, next=next)


@router.post("/sign-in")
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    form = await request.form()
    key = str(form.get("api_key", "")).strip()
    holder = settings.api_keys.get(key)
    if holder is None or holder.role not in (Role.head_office, Role.store):
        error = "Unknown key." if holder is None else "Channel keys cannot sign in; use a Head Office or store key."
        return _page(request, "sign_in.html", None, status_code=401, error=error, next=form.get("next", ""))
    home = "/ui/orders" if holder.role is Role.head_office else "/ui/store"
    next_page = str(form.get("next", ""))
    response = RedirectResponse(next_page if next_page.startswith("/ui/") else home, status_code=303)
    response.set_cookie(
        COOKIE,
        _serializer(settings).dumps(_fingerprint(key)),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/sign-out")
def sign_out() -> RedirectResponse:
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


# ---- Head Office dashboard -----------------------------------------------------------------------------------


@dataclass
class Filters:
    store_id: str = ""
    customer: str = ""
    web_reference: str = ""
    order_number: str = ""
    status: str = ""
    alert: str = ""  # "" any, "yes" with an open alert, "no" without, or an alert type
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        try:
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            page = 1
        status = q.get("status", "")
        return cls(
            store_id=q.get("store_id", "").strip(),
            customer=q.get("customer", "").strip(),
            web_reference=q.get("web_reference", "").strip(),
            order_number=q.get("order_number", "").strip(),
            status=status if status in OrderStatus.__members__ else "",
            alert=q.get("alert", "") if q.get("alert") in ("yes", "no", *AlertType.__members__) else "",
            page=page,
        )

    def query(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)})


def _dashboard(session: Session, filters: Filters) -> dict[str, Any]:
    rows, total = search_orders(
        session,
        store_id=filters.store_id or None,
        customer=filters.customer or None,
        web_reference=filters.web_reference or None,
        order_number=filters.order_number or None,
        status=filters.status or None,
        has_alert={"yes": True, "no": False}.get(filters.alert),
        alert_type=filters.alert if filters.alert in AlertType.__members__ else None,
        limit=PAGE_SIZE,
        offset=(filters.page - 1) * PAGE_SIZE,
    )
    orders = []
    for row in rows:
        open_alerts = sorted({a["type"] for a in row.view.get("alerts", []) if not a.get("cleared_at")})
        orders.append({"row": row, "open_alerts": open_alerts, "total": _order_total(row.view)})
    return {
        "orders": orders,
        "total": total,
        "filters": filters,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "status_counts": count_orders_by_status(session),
        "alert_counts": count_open_alerts_by_type(session),
        "statuses": list(OrderStatus),
        "alert_types": list(AlertType),
        "stores": list_stores(session, LocationKind.store),
        # Only stores that send heartbeats have a link to show; the others are unmonitored.
        "store_links": [link for link in list_links(session) if link.since is not None],
        "refreshed_at": datetime.now(UTC),
    }


def _order_total(view: dict[str, Any]) -> str:
    lines = view.get("lines", [])
    if not lines:
        return ""
    currency = lines[0]["unit_price"]["currency"]
    gross = sum(
        line["unit_price"]["amount"] * line["quantity"] for line in lines if line.get("fulfilment") != "buy_in_store"
    )
    discount = sum(offer["discount"]["amount"] for offer in view.get("loyalty_offers", []))
    return _money({"amount": max(0, gross - discount), "currency": currency})


@router.get("/orders")
async def dashboard(request: Request, session: SessionDep, user: User) -> Response:
    if user.role is Role.store:
        return RedirectResponse("/ui/store", status_code=303)
    filters = Filters.of(request)
    context = await in_threadpool(session, _dashboard, session, filters)
    return _page(request, "orders.html", user, **context)


@router.get("/orders/live")
async def dashboard_live(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    """The counts and the table, polled by the dashboard every 2 seconds."""
    context = await in_threadpool(session, _dashboard, session, Filters.of(request))
    return _page(request, "_orders_live.html", user, **context)


# ---- the order page ------------------------------------------------------------------------------------------


def _order_context(session: Session, settings: Settings, view: OrderView) -> dict[str, Any]:
    return {
        "order": view,
        "temporal_url": f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{order_workflow_id(view.order_number)}",
        "stores": list_stores(session, LocationKind.store),
        "locations": list_stores(session),
        "products": list_products(session),
        "exports": exports_for_order(session, view.order_number),
        "extracts": list_extracts(session, order_number=view.order_number),
        "form_key": lambda: str(uuid.uuid4()),
    }


def _load_order(session: Session, settings: Settings, order_number: str, user: ApiKeyHolder) -> dict[str, Any]:
    view = OrderView.model_validate(orders_service.order_view(session, order_number, user))  # 404: another store's
    return _order_context(session, settings, view)


@router.get("/orders/{order_number}")
async def order_page(
    order_number: str, request: Request, session: SessionDep, settings: SettingsDep, user: User
) -> Response:
    context = await in_threadpool(session, _load_order, session, settings, order_number, user)
    return _page(request, "order.html", user, **context)


def _minor_units(text: str) -> int:
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation:
        raise InvalidInput([{"field": "amount", "message": f"{text!r} is not an amount"}]) from None
    if value != value.to_integral_value() or value < 0:
        raise InvalidInput([{"field": "amount", "message": "give an amount like 12.50"}])
    return int(value)


def _text(form: Any, name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    return value or None


def _action_body(action: str, form: Any, currency: str) -> dict[str, Any]:
    """The API request body of an action, from the page's form fields."""
    body: dict[str, Any] = {"reason": _text(form, "reason"), "client_note": _text(form, "client_note")}
    if action == "cancel-lines":
        body["lines"] = [{"line_id": _text(form, "line_id"), "quantity": _text(form, "quantity")}]
    elif action == "change-variant":
        body |= {"line_id": _text(form, "line_id"), "size": _text(form, "size"), "colour": _text(form, "colour")}
    elif action == "add-item":
        body |= {"sku": _text(form, "sku"), "quantity": _text(form, "quantity")}
    elif action == "buy-in-store":
        body["line_ids"] = [str(v) for v in form.getlist("line_ids")]
    elif action == "move-to-store":
        body["store_id"] = _text(form, "store_id")
    elif action == "home-delivery":
        fields = ("name", "line1", "line2", "city", "postcode", "country")
        body["address"] = {f: _text(form, f) for f in fields}
        body["from_location"] = _text(form, "from_location")
    elif action == "redirect-stock":
        body |= {"sku": _text(form, "sku"), "quantity": _text(form, "quantity")}
        body["from_location"] = _text(form, "from_location")
    elif action == "notes":
        body = {"text": _text(form, "text"), "client_facing": form.get("client_facing") == "on"}
    elif action in ("confirm-payment", "override-payment"):
        body["reference"] = _text(form, "reference")
    elif action == "retry-payment":
        body["token"] = _text(form, "token")
    elif action in ("payments", "refunds"):
        body["amount"] = {"amount": _minor_units(str(form.get("amount", ""))), "currency": currency}
        if action == "payments":
            body["method"] = _text(form, "method")
    return body




def _validation_refusal(error: ValidationError) -> dict[str, str]:
    messages = [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in error.errors()]
    return {"rule": "invalid-input", "message": "; ".join(messages)}


@router.post("/orders/{order_number}/actions/{action}")
async def order_action(
    order_number: str,
    action: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: HeadOfficeUser,
) -> Response:
    """Run a Head Office action from its form and answer the refreshed order section (or the refusal)."""
    if action not in BY_PATH:
        raise NotFound(f"unknown action {action}", type_="page-not-found")
    form = await request.form()
    current = await in_threadpool(session, orders_service.order_view, session, order_number, user)
    refusal: dict[str, str] | None = None
    view: OrderView | None = None
    try:
        body = api_actions.body_model(BY_PATH[action]).model_validate(
            _action_body(action, form, current["total"]["currency"])
        )
        actions = api_actions.OrderActions(
            order_number, session, temporal, settings, user, _text(form, "idempotency_key")
        )
        view = OrderView.model_validate(await api_actions.perform(actions, BY_PATH[action], body))
    except ValidationError as error:
        refusal = _validation_refusal(error)
    except Problem as error:
        if isinstance(error, NotFound) and error.type == "order-not-found":
            raise
        rule = error.extra.get("rule") if isinstance(error, Conflict) else error.type
        refusal = {"rule": str(rule or error.type), "message": error.detail}
    if view is None:
        view = OrderView.model_validate(
            await in_threadpool(session, orders_service.order_view, session, order_number)
        )
    context = await in_threadpool(session, _order_context, session, settings, view)
    done = None if refusal else f"{action.replace('-', ' ')}: done"
    return _page(request, "_order_section.html", user, refusal=refusal, done=done, **context)


# ---- the store's Pick Manager --------------------------------------------------------------------------------


def _store_orders(session: Session, store_id: str) -> list[OrderView]:
    records = open_store_orders(session, store_id)
    return [OrderView.model_validate(record.view) for record in records]


async def _store_page_context(session: Session, store_id: str) -> dict[str, Any]:
    orders = await in_threadpool(session, _store_orders, session, store_id)
    return {"orders": orders, "store_id": store_id, "refreshed_at": datetime.now(UTC)}


@router.get("/store")
async def store_page(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _store_page_context(session, str(user.store_id))
    return _page(request, "store.html", user, **context)


@router.get("/store/live")
async def store_live(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _store_page_context(session, str(user.store_id))
    return _page(request, "_store_orders.html", user, **context)


STORE_BUTTONS = {
    "acknowledge": StoreEventType.acknowledged,
    "pick": StoreEventType.picked,
    "hand-over": StoreEventType.collected,
    "not-collected": StoreEventType.not_collected,
    "acknowledge-update": StoreEventType.update_acknowledged,
    "transfer-received": StoreEventType.transfer_received,
}


def _record_version(session: Session, order_number: str) -> tuple[int, str]:
    record = get_order_record(session, order_number)
    return (record.version, record.status) if record else (0, "")


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
    picked: dict[str, int] = {}
    refusal: dict[str, str] | None = None
    if event_type is StoreEventType.picked:
        try:
            picked = {
                line.line_id: max(0, int(str(form.get(f"picked_{line.line_id}", line.quantity))))
                for line in state.lines
                if line.is_collectable
            }
        except ValueError:
            refusal = {"rule": "invalid-input", "message": "picked quantities must be whole numbers"}
    before = await in_threadpool(session, _record_version, session, order_number)
    if refusal is None:
        event = StoreEvent(
            event_id=f"ui-{uuid.uuid4()}",
            type=event_type,
            store_id=store_id,
            occurred_at=datetime.now(UTC),
            picked=picked,
            transfer_id=_text(form, "transfer_id"),
        )
        handle = temporal.get_workflow_handle(order_workflow_id(order_number))
        try:
            await handle.signal(OrderWorkflow.store_event, event)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            refusal = {"rule": "order_closed", "message": f"order {order_number} is closed ({state.status})"}
    message = None
    if refusal is None:
        # Give the workflow a moment to apply the event so the page shows its effect (the list polls anyway).
        after = before
        for _ in range(30):
            await asyncio.sleep(0.1)
            after = await in_threadpool(session, _record_version, session, order_number)
            if after[0] > before[0]:
                break
        shown = after[1] if after[0] > before[0] else f"{after[1]} (event sent, not applied yet)"
        message = f"Order {order_number}: {event_type.value} sent — now {shown}"
        if after[0] > before[0] and after[1] == before[1] and event_type is not StoreEventType.update_acknowledged:
            latest = OrderView.model_validate(
                await in_threadpool(session, orders_service.order_view, session, order_number)
            )
            exception = next((e for e in latest.store_exceptions if e.event_id == event.event_id), None)
            if exception is not None:
                refusal = {"rule": "store_exception", "message": exception.reason}
                message = None
    context = await _store_page_context(session, store_id)
    return _page(request, "_store_orders.html", user, message=message, refusal=refusal, **context)


# ---- wiring --------------------------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and the sign-in redirect on `app`."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _error: SignInRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=200, headers={"HX-Redirect": SIGN_IN})
        return RedirectResponse(f"{SIGN_IN}?{urlencode({'next': request.url.path})}", status_code=303)

    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")

    # Under /ui errors are pages, not problem+json: wrap the API's handlers for these paths only.
    for error_type in (Problem, StarletteHTTPException):
        api_handler = app.exception_handlers[error_type]

        async def _page_error(request: Request, error: Exception, api_handler: Any = api_handler) -> Response:
            path = request.url.path
            if (path != "/ui" and not path.startswith("/ui/")) or path.startswith("/ui/static/"):
                return await api_handler(request, error)
            if isinstance(error, Problem):
                status, title, detail = error.status, error.title, error.detail
            else:
                status = error.status_code  # type: ignore[attr-defined]
                title = detail = "Not found" if status == 404 else str(error.detail)  # type: ignore[attr-defined]
            context = {"user": None, "title": title, "detail": detail}
            return HTMLResponse(templates.get_template("error.html").render(context), status_code=status)

        app.add_exception_handler(error_type, _page_error)
