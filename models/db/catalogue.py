"""Stores and other locations, products, and where a SKU's stock is. Each takes an open Session."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.catalogue import LocationKind, Product, StockAtLocation, StockHolding, Store, StoreSettings
from models.db.tables import LocationRow, ProductRow, StockLevelRow
from models.money import Money
from models.sla import SlaOverrides, stored_durations


def _store(row: LocationRow) -> Store:
    return Store(
        store_id=row.store_id,
        name=row.name,
        kind=LocationKind(row.kind),
        click_and_collect_enabled=row.click_and_collect_enabled,
        webhook_url=row.webhook_url,
        webhook_secret_set=bool(row.webhook_secret),
        sla_overrides=SlaOverrides.model_validate(stored_durations(row.sla_overrides)),
    )


def get_store(session: Session, store_id: str) -> Store | None:
    row = session.get(LocationRow, store_id)
    return _store(row) if row else None


def list_stores(session: Session, kind: LocationKind | None = None) -> list[Store]:
    query = select(LocationRow).order_by(LocationRow.store_id)
    if kind is not None:
        query = query.where(LocationRow.kind == kind.value)
    return [_store(row) for row in session.exec(query)]


def put_store(session: Session, store_id: str, settings: StoreSettings) -> tuple[Store, bool]:
    """Create or replace a store's settings; returns the store and whether it was created."""
    row = session.get(LocationRow, store_id)
    created = row is None
    if row is None:
        row = LocationRow(store_id=store_id, name=settings.name, kind=settings.kind.value)
    row.name = settings.name
    row.kind = settings.kind.value
    row.click_and_collect_enabled = settings.click_and_collect_enabled
    row.webhook_url = settings.webhook_url
    if settings.webhook_secret is not None:
        row.webhook_secret = settings.webhook_secret
    row.sla_overrides = settings.sla_overrides.model_dump(mode="json", exclude_none=True)
    session.add(row)
    session.commit()
    session.refresh(row)
    return _store(row), created


def store_webhook(session: Session, store_id: str) -> tuple[str | None, str | None]:
    """The store's webhook URL and secret (secret stays server-side)."""
    row = session.get(LocationRow, store_id)
    return (row.webhook_url, row.webhook_secret) if row else (None, None)


def _product(row: ProductRow) -> Product:
    return Product(
        sku=row.sku,
        style=row.style,
        name=row.name,
        size=row.size,
        colour=row.colour,
        price=Money(amount=row.price_amount, currency=row.currency),
        electronic=row.electronic,
        tax_class=row.tax_class,
    )


def products_by_sku(session: Session, skus: set[str]) -> dict[str, Product]:
    rows = session.exec(select(ProductRow).where(col(ProductRow.sku).in_(skus)))
    return {row.sku: _product(row) for row in rows}


def list_products(session: Session, style: str | None = None) -> list[Product]:
    query = select(ProductRow).order_by(ProductRow.style, ProductRow.sku)
    if style:
        query = query.where(ProductRow.style == style)
    return [_product(row) for row in session.exec(query)]


def stock_holding(session: Session, sku: str) -> StockHolding:
    query = (
        select(StockLevelRow, LocationRow.kind)
        .join(LocationRow, col(LocationRow.store_id) == StockLevelRow.location_id)
        .where(StockLevelRow.sku == sku)
        .order_by(StockLevelRow.location_id)
    )
    return StockHolding(
        sku=sku,
        locations=[
            StockAtLocation(
                location_id=level.location_id,
                kind=LocationKind(kind),
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.on_hand - level.reserved,
            )
            for level, kind in session.exec(query)
        ],
    )


def stock_holdings(session: Session, skus: list[str]) -> list[dict[str, Any]]:
    """Each SKU's stock at every location, in one query, as JSON-ready dicts (the order view's `stock`)."""
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel's select is typed for up to four columns
            StockLevelRow.sku,
            StockLevelRow.location_id,
            StockLevelRow.on_hand,
            StockLevelRow.reserved,
            LocationRow.kind,
        )
        .join(LocationRow, LocationRow.store_id == StockLevelRow.location_id)
        .where(col(StockLevelRow.sku).in_(skus))
        .order_by(StockLevelRow.sku, StockLevelRow.location_id)
    )
    by_sku: dict[str, list[dict[str, Any]]] = {sku: [] for sku in skus}
    for sku, location_id, on_hand, reserved, kind in session.exec(query):
        by_sku[sku].append(
            {
                "location_id": location_id,
                "kind": kind,
                "on_hand": on_hand,
                "reserved": reserved,
                "available": on_hand - reserved,
            }
        )
    return [{"sku": sku, "locations": locations} for sku, locations in by_sku.items()]
