"""Merchants (Head Office), marketplace orders (one basket of several merchants' products becomes one child order per
merchant) and the merchant ledger (what each merchant is owed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from temporalio.client import Client

from api import marketplace_service
from api.deps import HeadOffice, OrderPlacer, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.params import IdempotencyKey
from api.problems import NotFound, field_error, problem_responses
from api.responses import JSONBody
from api.targets import check_target
from models.db import merchants, outbound
from models.events import OrderEventType
from models.marketplace import Merchant, MerchantSettings
from models.outbox import subscriber_lane
from models.placing import PlaceOrder
from models.sealing import SecretSeal, subscriber_secret_owner
from models.settings import Settings
from models.text import Line
from workflows.outbox import start_lane

router = APIRouter(tags=["merchants and marketplace orders"])

MerchantId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
ParentId = Annotated[str, Path(pattern=r"^MP-[A-Z0-9]{1,29}$")]


@router.put(
    "/merchants/{merchant_id}",
    response_model=Merchant,
    responses={201: {"model": Merchant, "description": "The merchant was created"}, **problem_responses(422)},
)
async def put_merchant(
    merchant_id: MerchantId,
    body: MerchantSettings,
    session: SessionDep,
    response: Response,
    baton: SettingsDep,
    temporal: TemporalDep,
    _ho: HeadOffice,
) -> Merchant:
    """Create or replace a merchant: name, payout account, commission (basis points), webhook URL and secret for
    its orders' events (delivered through the outbox like any webhook subscriber's)."""
    if body.webhook_url:
        await check_target(body.webhook_url, "webhook_url", baton)
    url, subscriber_id = await in_threadpool(session, merchants.merchant_subscriber, session, merchant_id)
    if body.webhook_url is None or body.webhook_url != url or body.webhook_secret is not None:
        if subscriber_id is not None:  # its old webhook hears nothing more
            await in_threadpool(session, outbound.deactivate_subscriber, session, subscriber_id)
        subscriber_id = None
        if body.webhook_url is not None:
            if body.webhook_secret is None:
                raise field_error("webhook_secret", "a new webhook URL needs its secret")
            subscriber_id = await _subscribe(
                session, temporal, baton, merchant_id, body.webhook_url, body.webhook_secret
            )
    merchant, created = await in_threadpool(session, merchants.put_merchant, session, merchant_id, body, subscriber_id)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return merchant


async def _subscribe(
    session: Session, temporal: Client, baton: Settings, merchant_id: str, url: str, secret: str
) -> str:
    """The merchant's order events go out as any webhook subscriber's do (the outbox, signed with its secret); its
    lane hears of its own child orders only (activities/outbound.py)."""
    box = SecretSeal.from_settings(baton)

    def seal(plain: str, subscriber_id: str) -> str:
        return box.seal(plain, subscriber_secret_owner(subscriber_id))

    events = [event.value for event in OrderEventType]
    name, now = f"merchant:{merchant_id}", datetime.now(UTC)
    row = await in_threadpool(session, outbound.create_subscriber, session, name, url, events, now, secret, seal)
    await start_lane(temporal, baton, subscriber_lane(row.subscriber_id))
    return row.subscriber_id


@router.get("/merchants/{merchant_id}", response_model=Merchant)
def get_merchant(merchant_id: MerchantId, session: SessionDep, _ho: HeadOffice) -> Merchant:
    merchant = merchants.get_merchant(session, merchant_id)
    if merchant is None:
        raise NotFound(f"merchant {merchant_id} not found", type_="merchant-not-found")
    return merchant


@router.get("/merchants/{merchant_id}/ledger")
def merchant_ledger(merchant_id: MerchantId, session: SessionDep, _ho: HeadOffice) -> dict[str, Any]:
    """What the merchant is owed: one entry per completed child order (its sale less the commission locked when
    it was placed), and the totals per currency."""
    if merchants.get_merchant(session, merchant_id) is None:
        raise NotFound(f"merchant {merchant_id} not found", type_="merchant-not-found")
    rows = merchants.ledger(session, merchant_id)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, 0) + row.owed
    entries = [
        {
            "order_number": row.order_number,
            "marketplace_order_id": row.parent_id,
            "sale": {"amount": row.sale, "currency": row.currency},
            "commission": {"amount": row.commission, "currency": row.currency},
            "owed": {"amount": row.owed, "currency": row.currency},
            "recorded_at": row.recorded_at.isoformat(),
        }
        for row in rows
    ]
    owed = [{"amount": amount, "currency": currency} for currency, amount in sorted(totals.items())]
    return {"merchant_id": merchant_id, "entries": entries, "owed": owed}


@router.post("/marketplace-orders", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 422))
async def place_marketplace_order(
    basket: PlaceOrder,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: OrderPlacer,
    idempotency_key: IdempotencyKey = None,
) -> JSONBody:
    """Place a basket of two or more merchants' products: one child order per merchant, each paid its share of the
    one payment. The same Idempotency-Key with the same body answers the same marketplace order."""
    view, created = await marketplace_service.place_marketplace_order(
        session, temporal, settings, caller, basket, idempotency_key
    )
    headers = {"Location": f"/marketplace-orders/{view['marketplace_order_id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONBody(view, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("/marketplace-orders/{parent_id}", responses=problem_responses(404))
def get_marketplace_order(parent_id: ParentId, session: SessionDep, _caller: OrderPlacer) -> JSONBody:
    """The marketplace order, its status (derived from its children's) and each child order."""
    return JSONBody(marketplace_service.marketplace_view(session, parent_id))


class CancelMarketplaceOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line = Field(min_length=1, max_length=500)


@router.post("/marketplace-orders/{parent_id}/cancel", responses=problem_responses(404, 422))
async def cancel_marketplace_order(
    parent_id: ParentId,
    body: CancelMarketplaceOrder,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: HeadOffice,
    idempotency_key: IdempotencyKey = None,
) -> JSONBody:
    """Cancel every child order not past its point of no return; `not_cancelled` names each one refused and why."""
    key = idempotency_key or str(uuid.uuid4())
    outcome = await marketplace_service.cancel_marketplace_order(
        session, temporal, settings, caller, parent_id, body.reason, key
    )
    return JSONBody(outcome)
