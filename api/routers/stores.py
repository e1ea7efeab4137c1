"""Stores and warehouses, the product catalogue and stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlmodel import Session

from api.deps import HEAD_OFFICE, Caller, HeadOffice, SessionDep, SettingsDep, TemporalDep, has_role, in_threadpool
from api.params import Sku, search_text
from api.problems import NotFound, field_error
from api.targets import check_target
from models.catalogue import LocationKind, Product, StockHolding, Store, StoreSettings
from models.db import catalogue, merchants
from models.outbox import store_lane
from models.sealing import SecretSeal, store_secret_owner
from models.settings import ApiKeyHolder
from workflows.outbox import start_lane

router = APIRouter(tags=["stores and stock"])

StoreId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


@router.get("/stores", response_model=list[Store])
def list_stores(session: SessionDep, caller: Caller, kind: LocationKind | None = None) -> list[Store]:
    """All stores and warehouses (filter with ?kind=store or ?kind=warehouse); a store's webhook URL is shown to
    Head Office and to that store only."""
    owners = merchants.location_owners(session)
    stores = catalogue.list_stores(session, kind)
    return [
        _as_seen_by(caller, store.model_copy(update={"merchant_id": owners.get(store.store_id)})) for store in stores
    ]


@router.get("/stores/{store_id}", response_model=Store)
def get_store(store_id: StoreId, session: SessionDep, caller: Caller) -> Store:
    """One store's settings (its webhook secret is never shown; its webhook URL only to Head Office and itself)."""
    store = catalogue.get_store(session, store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    return _as_seen_by(caller, store.model_copy(update={"merchant_id": merchants.location_owner(session, store_id)}))


def _as_seen_by(caller: ApiKeyHolder, store: Store) -> Store:
    """Where a store's messages go is for Head Office and the store itself: to anyone else it is a target to aim at."""
    if has_role(caller, HEAD_OFFICE) or caller.store_id == store.store_id:
        return store
    return store.model_copy(update={"webhook_url": None})


@router.put(
    "/stores/{store_id}",
    response_model=Store,
    responses={201: {"model": Store, "description": "The store was created"}},
)
async def put_store(
    store_id: StoreId,
    settings: StoreSettings,
    session: SessionDep,
    response: Response,
    temporal: TemporalDep,
    baton: SettingsDep,
    _ho: HeadOffice,
) -> Store:
    """Create or replace a store's settings: click & collect, webhook URL and secret, SLA overrides."""
    if settings.webhook_url:
        await check_target(settings.webhook_url, "webhook_url", baton)
    if settings.webhook_secret is not None:  # kept sealed with the codec key, when one is set (models/sealing.py)
        sealed = SecretSeal.from_settings(baton).seal(settings.webhook_secret, store_secret_owner(store_id))
        settings = settings.model_copy(update={"webhook_secret": sealed})
    store, created = await in_threadpool(session, _put_store, session, store_id, settings)
    if store.webhook_url:  # the store's messages go out through its lane; without a webhook it reads the API
        await start_lane(temporal, baton, store_lane(store_id))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return store


def _put_store(session: Session, store_id: str, settings: StoreSettings) -> tuple[Store, bool]:
    """The store's settings and the merchant it belongs to (422 naming merchant_id when there is no such merchant)."""
    if settings.merchant_id is not None and merchants.get_merchant(session, settings.merchant_id) is None:
        raise field_error("merchant_id", f"unknown merchant {settings.merchant_id}")
    merchants.set_location_owner(session, store_id, settings.merchant_id)
    store, created = catalogue.put_store(session, store_id, settings)  # commits the owner with the settings
    return store.model_copy(update={"merchant_id": settings.merchant_id}), created


@router.get("/products", response_model=list[Product])
def list_products(
    session: SessionDep, style: Annotated[str | None, search_text(max_length=64)] = None
) -> list[Product]:
    """Every variant: sku, style, size, colour, price."""
    return catalogue.list_products(session, style)


@router.get("/stock/{sku}", response_model=StockHolding)
def get_stock(sku: Sku, session: SessionDep) -> StockHolding:
    """On hand, reserved and available for one SKU at every location."""
    if not catalogue.products_by_sku(session, {sku}):
        raise NotFound(f"unknown SKU {sku}", type_="sku-not-found")
    return catalogue.stock_holding(session, sku)
