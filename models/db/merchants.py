"""Merchants and marketplace orders in SQL: the merchants, which locations and products belong to one (none: the
retailer's own), the marketplace (parent) orders linking their child orders, and the merchant ledger (what each
merchant is owed, one entry per completed child order). Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column
from models.marketplace import RETAILER, Merchant, MerchantSettings, payout


class MerchantRow(SQLModel, table=True):
    __tablename__ = "merchants"

    merchant_id: str = Field(primary_key=True, max_length=32)
    name: str
    payout_account: str = Field(max_length=120)
    commission_bp: int
    webhook_url: str | None = None
    subscriber_id: str | None = Field(default=None, max_length=64)  # its outbound webhook subscriber


class MerchantLocationRow(SQLModel, table=True):
    """A location that belongs to a merchant (no row: the retailer's)."""

    __tablename__ = "merchant_locations"

    store_id: str = Field(primary_key=True, max_length=32)
    merchant_id: str = Field(index=True, max_length=32)


class MerchantProductRow(SQLModel, table=True):
    """A product that belongs to a merchant (no row: the retailer's)."""

    __tablename__ = "merchant_products"

    sku: str = Field(primary_key=True, max_length=64)
    merchant_id: str = Field(index=True, max_length=32)


class MarketplaceOrderRow(SQLModel, table=True):
    """A marketplace order: the parent of one child order per merchant. A retried placement (same holder and key)
    finds it again."""

    __tablename__ = "marketplace_orders"
    __table_args__ = (UniqueConstraint("holder", "idempotency_key", name="uq_marketplace_orders_holder_key"),)

    parent_id: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    web_reference: str = Field(max_length=64)
    customer_id: str = Field(index=True, max_length=64)
    currency: str = Field(max_length=3)
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())


class MarketplaceChildRow(SQLModel, table=True):
    """One child order of a marketplace order: its merchant (empty: the retailer), its share of the payment and the
    commission locked when it was placed (a later change to the merchant does not move it)."""

    __tablename__ = "marketplace_children"
    __table_args__ = (UniqueConstraint("parent_id", "merchant_id", name="uq_marketplace_children_merchant"),)

    order_number: str = Field(primary_key=True, max_length=32)
    parent_id: str = Field(index=True, max_length=32)
    merchant_id: str = Field(index=True, max_length=32)
    share: int = Field(sa_column=Column(BigInteger, nullable=False))
    commission_bp: int


class MerchantLedgerRow(SQLModel, table=True):
    """What a merchant is owed for one completed child order: once per child (its order number is the key)."""

    __tablename__ = "merchant_ledger"

    order_number: str = Field(primary_key=True, max_length=32)
    merchant_id: str = Field(index=True, max_length=32)
    parent_id: str = Field(max_length=32)
    sale: int = Field(sa_column=Column(BigInteger, nullable=False))
    commission: int = Field(sa_column=Column(BigInteger, nullable=False))
    owed: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    recorded_at: datetime = Field(sa_column=utc_column())


def _merchant(row: MerchantRow) -> Merchant:
    return Merchant(
        merchant_id=row.merchant_id,
        name=row.name,
        payout_account=row.payout_account,
        commission_bp=row.commission_bp,
        webhook_url=row.webhook_url,
        webhook_secret_set=row.subscriber_id is not None,
        subscriber_id=row.subscriber_id,
    )


def get_merchant(session: Session, merchant_id: str) -> Merchant | None:
    row = session.get(MerchantRow, merchant_id)
    return _merchant(row) if row is not None else None


def put_merchant(
    session: Session, merchant_id: str, settings: MerchantSettings, subscriber_id: str | None
) -> tuple[Merchant, bool]:
    """Create or replace a merchant (its webhook secret kept when none is given); whether it was created."""
    row = session.get(MerchantRow, merchant_id)
    created = row is None
    if row is None:
        row = MerchantRow(merchant_id=merchant_id, name=settings.name, payout_account="", commission_bp=0)
    row.name, row.payout_account, row.commission_bp = settings.name, settings.payout_account, settings.commission_bp
    row.webhook_url = settings.webhook_url
    row.subscriber_id = subscriber_id
    session.add(row)
    session.commit()
    session.refresh(row)
    return _merchant(row), created


def merchant_subscriber(session: Session, merchant_id: str) -> tuple[str | None, str | None]:
    """The merchant's webhook URL and the subscriber its order events go through (None, None: no merchant)."""
    row = session.get(MerchantRow, merchant_id)
    return (row.webhook_url, row.subscriber_id) if row is not None else (None, None)


def set_location_owner(session: Session, store_id: str, merchant_id: str | None) -> None:
    """The location belongs to the merchant (None: to the retailer). Leaves the commit to the caller."""
    row = session.get(MerchantLocationRow, store_id)
    if merchant_id is None:
        if row is not None:
            session.delete(row)
        return
    session.add(MerchantLocationRow(store_id=store_id, merchant_id=merchant_id) if row is None else row)
    if row is not None:
        row.merchant_id = merchant_id


def location_owner(session: Session, store_id: str) -> str | None:
    row = session.get(MerchantLocationRow, store_id)
    return row.merchant_id if row is not None else None


def location_owners(session: Session) -> dict[str, str]:
    return {row.store_id: row.merchant_id for row in session.exec(select(MerchantLocationRow)).all()}


def merchant_locations(session: Session, merchant_id: str) -> list[str]:
    rows = select(MerchantLocationRow.store_id).where(MerchantLocationRow.merchant_id == merchant_id)
    return sorted(session.exec(rows).all())


def set_product_owner(session: Session, sku: str, merchant_id: str) -> None:
    """The product belongs to the merchant (RETAILER: to the retailer). Leaves the commit to the caller."""
    row = session.get(MerchantProductRow, sku)
    if merchant_id == RETAILER:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(MerchantProductRow(sku=sku, merchant_id=merchant_id))
    else:
        row.merchant_id = merchant_id
        session.add(row)


def product_owners(session: Session, skus: set[str]) -> dict[str, str]:
    rows = session.exec(select(MerchantProductRow).where(col(MerchantProductRow.sku).in_(skus))).all()
    return {row.sku: row.merchant_id for row in rows}


def known_merchants(session: Session, merchant_ids: set[str]) -> set[str]:
    return set(session.exec(select(MerchantRow.merchant_id).where(col(MerchantRow.merchant_id).in_(merchant_ids))))


def commissions(session: Session, merchant_ids: set[str]) -> dict[str, int]:
    rows = session.exec(select(MerchantRow).where(col(MerchantRow.merchant_id).in_(merchant_ids))).all()
    return {row.merchant_id: row.commission_bp for row in rows}


# ---- marketplace orders --------------------------------------------------------------------------------------------


def find_parent(session: Session, holder: str, key: str) -> MarketplaceOrderRow | None:
    statement = select(MarketplaceOrderRow).where(
        MarketplaceOrderRow.holder == holder, MarketplaceOrderRow.idempotency_key == key
    )
    return session.exec(statement).first()


def add_parent(session: Session, parent: MarketplaceOrderRow) -> MarketplaceOrderRow:
    """Keep the parent; a concurrent placement with the same holder and key that kept one first wins."""
    session.add(parent)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        assert parent.idempotency_key is not None  # only a key can clash
        found = find_parent(session, parent.holder, parent.idempotency_key)
        assert found is not None
        return found
    return parent


def link_child(session: Session, child: MarketplaceChildRow) -> None:
    """Link a child order to its parent, once (a retry links nothing twice)."""
    if session.get(MarketplaceChildRow, child.order_number) is None:
        session.add(child)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def get_parent(session: Session, parent_id: str) -> MarketplaceOrderRow | None:
    return session.get(MarketplaceOrderRow, parent_id)


def children(session: Session, parent_id: str) -> list[MarketplaceChildRow]:
    statement = select(MarketplaceChildRow).where(MarketplaceChildRow.parent_id == parent_id)
    return list(session.exec(statement.order_by(col(MarketplaceChildRow.order_number))).all())


def child(session: Session, order_number: str) -> MarketplaceChildRow | None:
    return session.get(MarketplaceChildRow, order_number)


def subscriber_orders_among(session: Session, subscriber_id: str, order_numbers: set[str]) -> set[str] | None:
    """Of these orders, those of the merchant whose webhook subscriber this is; None for any other subscriber."""
    merchant = session.exec(select(MerchantRow).where(MerchantRow.subscriber_id == subscriber_id)).first()
    if merchant is None:
        return None
    statement = select(MarketplaceChildRow.order_number).where(
        MarketplaceChildRow.merchant_id == merchant.merchant_id,
        col(MarketplaceChildRow.order_number).in_(order_numbers),
    )
    return set(session.exec(statement).all())


def merchant_order_numbers(merchant_id: str) -> Any:
    """A subquery of the child order numbers of one merchant (the dashboard's merchant filter)."""
    return select(MarketplaceChildRow.order_number).where(MarketplaceChildRow.merchant_id == merchant_id)


# ---- the ledger ----------------------------------------------------------------------------------------------------


def record_completed_child(session: Session, order_number: str, view: dict[str, Any], now: datetime) -> None:
    """When a marketplace child order completes, record what its merchant is owed: its sale (the order's total as it
    completed) less the commission locked at placement. Once per child; the retailer's own child owes no one.
    Runs in the projection's transaction (models/db/orders.py), so it is written with the completion."""
    linked = session.get(MarketplaceChildRow, order_number)
    if linked is None or linked.merchant_id == RETAILER or session.get(MerchantLedgerRow, order_number) is not None:
        return
    total = view["total"]
    owed = payout(int(total["amount"]), linked.commission_bp)
    session.add(
        MerchantLedgerRow(
            order_number=order_number,
            merchant_id=linked.merchant_id,
            parent_id=linked.parent_id,
            sale=owed.sale,
            commission=owed.commission,
            owed=owed.owed,
            currency=total["currency"],
            recorded_at=now,
        )
    )


def ledger(session: Session, merchant_id: str) -> list[MerchantLedgerRow]:
    statement = select(MerchantLedgerRow).where(MerchantLedgerRow.merchant_id == merchant_id)
    return list(session.exec(statement.order_by(col(MerchantLedgerRow.recorded_at))).all())
