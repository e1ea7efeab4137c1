"""Placing a marketplace order (one basket, several merchants' products, one payment) as one child order per merchant,
reading it back with its derived status, and cancelling it. Each child is an ordinary order placed through
activities/placement.py; the parent is a record in SQL (models/db/merchants.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from activities import placement
from api.interventions_service import run_action
from api.problems import Conflict, Forbidden, InvalidInput, NotFound, field_error
from models.actions import ACTIONS
from models.db import merchants, orders
from models.db.merchants import MarketplaceChildRow, MarketplaceOrderRow
from models.intervention_commands import CancelOrder
from models.marketplace import RETAILER, BasketProblem, ChildBasket, parent_status, split_basket
from models.placing import Fulfilment, PlaceOrder
from models.settings import ApiKeyHolder, Settings

CANCEL = next(action for action in ACTIONS if action.name == "cancel_order")


def _fulfilment_for(session: Session, basket: PlaceOrder, merchant_id: str) -> Fulfilment:
    """Where a merchant fulfils its lines: the basket's own fulfilment for the retailer's lines and for a merchant
    that owns the basket's location; otherwise the merchant's first location (by id), collected or shipped from."""
    wanted = basket.fulfilment
    if merchant_id == RETAILER:
        return wanted
    named = wanted.store_id or wanted.location_id
    if named is not None and merchants.location_owner(session, named) == merchant_id:
        return wanted
    locations = merchants.merchant_locations(session, merchant_id)
    if not locations:
        raise field_error("lines", f"merchant {merchant_id} has no location to fulfil its lines from")
    if wanted.method == "home_delivery":
        return wanted.model_copy(update={"location_id": locations[0]})
    return wanted.model_copy(update={"store_id": locations[0]})


def _split(session: Session, basket: PlaceOrder) -> list[ChildBasket]:
    owners = merchants.product_owners(session, {line.sku for line in basket.lines})
    wanted = {owners.get(line.sku, RETAILER) for line in basket.lines}
    where = {merchant_id: _fulfilment_for(session, basket, merchant_id) for merchant_id in wanted}
    try:
        return split_basket(basket, owners, where)
    except BasketProblem as problem:
        raise field_error(problem.field, problem.message) from None


def _prepare(
    session: Session, caller: ApiKeyHolder, basket: PlaceOrder, key: str | None, gateway: str
) -> tuple[MarketplaceOrderRow, list[tuple[ChildBasket, Any]]]:
    """Split the basket, judge every child before any is kept (one refused child refuses the basket, naming the
    child's field), then keep the parent and each child's first state."""
    request_hash = hashlib.sha256(basket.model_dump_json().encode()).hexdigest()
    found = merchants.find_parent(session, caller.name, key) if key is not None else None
    if found is not None and found.request_hash != request_hash:
        raise field_error("Idempotency-Key", "this key placed a different marketplace order")
    children = _split(session, basket)
    for index, child in enumerate(children if found is None else []):  # a retry is not judged again
        try:
            placement.check(session, child.order, frozenset({gateway}))
        except placement.PlacementRefused as refused:
            problems = [{"field": f"children[{index}].{p.field}", "message": p.message} for p in refused.problems]
            raise InvalidInput(problems) from None
    parent = merchants.add_parent(
        session,
        MarketplaceOrderRow(
            parent_id=f"MP-{uuid.uuid4().hex[:12].upper()}",
            holder=caller.name,
            idempotency_key=key,
            request_hash=request_hash,
            web_reference=basket.web_reference,
            customer_id=basket.customer.id,
            currency=basket.lines[0].unit_price.currency,
            total=basket.gross(),
            created_at=datetime.now(UTC),
        ),
    )
    commission = merchants.commissions(session, {child.merchant_id for child in children})
    prepared = []
    for child in children:
        child_key = f"marketplace:{parent.parent_id}:{child.merchant_id or 'retailer'}"
        state, _new = placement.prepare(session, caller.name, child.order, child_key, gateway)
        merchants.link_child(
            session,
            MarketplaceChildRow(
                order_number=state.order_number,
                parent_id=parent.parent_id,
                merchant_id=child.merchant_id,
                share=child.order.gross(),
                commission_bp=commission.get(child.merchant_id, 0),
            ),
        )
        prepared.append((child, state))
    return parent, prepared


async def place_marketplace_order(
    session: Session, temporal: Client, settings: Settings, caller: ApiKeyHolder, basket: PlaceOrder, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Place the basket as one child order per merchant; a retry with the same key answers the same parent (and
    starts any child a crash left unstarted). Returns the parent's view and whether it was new."""
    if caller.channels is not None and basket.channel not in caller.channels:
        raise Forbidden(f"this key places orders for {', '.join(caller.channels)} only", type_="channel-not-allowed")

    def prepare() -> tuple[str, list[tuple[ChildBasket, Any]], bool]:
        try:
            existed = key is not None and merchants.find_parent(session, caller.name, key) is not None
            parent, prepared = _prepare(session, caller, basket, key, settings.payment_gateway)
            return parent.parent_id, prepared, not existed
        except placement.KeyReused as reused:
            raise field_error("Idempotency-Key", str(reused)) from None
        finally:
            session.close()

    parent_id, prepared, created = await run_in_threadpool(prepare)
    for _child, state in prepared:
        await placement.start_order(temporal, state, settings.task_queue)
    return await run_in_threadpool(_view_closing, session, parent_id), created


def _view_closing(session: Session, parent_id: str) -> dict[str, Any]:
    try:
        return marketplace_view(session, parent_id)
    finally:
        session.close()


def marketplace_view(session: Session, parent_id: str) -> dict[str, Any]:
    """The parent with each child's merchant, number, status and share, and its status derived from theirs."""
    parent = merchants.get_parent(session, parent_id)
    if parent is None:
        raise NotFound(f"marketplace order {parent_id} not found", type_="marketplace-order-not-found")
    children: list[dict[str, Any]] = []
    for child in merchants.children(session, parent_id):
        record = orders.get_order_record(session, child.order_number)
        children.append(
            {
                "order_number": child.order_number,
                "merchant_id": child.merchant_id or None,
                "status": record.status if record is not None else "received",
                "share": {"amount": child.share, "currency": parent.currency},
                "location_id": (record.view.get("store_id") if record is not None else None),
            }
        )
    return {
        "marketplace_order_id": parent.parent_id,
        "status": parent_status(str(child["status"]) for child in children).value,
        "web_reference": parent.web_reference,
        "customer_id": parent.customer_id,
        "total": {"amount": parent.total, "currency": parent.currency},
        "created_at": parent.created_at.isoformat(),
        "children": children,
    }


async def cancel_marketplace_order(
    session: Session, temporal: Client, settings: Settings, caller: ApiKeyHolder, parent_id: str, reason: str, key: str
) -> dict[str, Any]:
    """Cancel every child not past its point of no return (or otherwise refused); report each child's outcome. The
    same key again cancels nothing twice (each child's cancel is an update with its own derived id)."""
    view = await run_in_threadpool(_view_closing, session, parent_id)
    cancelled, not_cancelled = [], []
    for child in view["children"]:
        number = child["order_number"]
        if child["status"] == "cancelled":
            cancelled.append(number)
            continue
        command = CancelOrder(reason=reason, actor=f"ho:{caller.name}")
        try:
            await run_action(
                session, temporal, number, CANCEL, command, f"{key}:{number}", settings.update_timeout_seconds, settings
            )
            cancelled.append(number)
        except Conflict as refused:
            not_cancelled.append({"order_number": number, "rule": refused.extra.get("rule"), "detail": refused.detail})
    view = await run_in_threadpool(_view_closing, session, parent_id)
    return {**view, "cancelled": cancelled, "not_cancelled": not_cancelled}
