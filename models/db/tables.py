"""Every SQL table: the stock ledger, locations, catalogue, settings, idempotency, store links, the test gateway's
books, the outboxes (order events, store messages, extracts, export runs) and the outbound logs (Baton's own
truth), and the order projection (a read model written by the workflow, versioned). Every moment is a UtcDateTime
column; money is BIGINT minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Integer, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.db.types import utc_column


class LocationRow(SQLModel, table=True):
    __tablename__ = "locations"

    store_id: str = Field(primary_key=True, max_length=32)
    name: str
    kind: str = Field(max_length=16)
    click_and_collect_enabled: bool = True
    webhook_url: str | None = None
    webhook_secret: str | None = None
    sla_overrides: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProductRow(SQLModel, table=True):
    __tablename__ = "products"

    sku: str = Field(primary_key=True, max_length=64)
    style: str = Field(index=True, max_length=64)
    name: str
    size: str = Field(max_length=16)
    colour: str = Field(max_length=32)
    price_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    # Delivered without packing (a download, a gift code): models/delivery_stages.py `electronic_only`.
    electronic: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    tax_class: str = Field(default="standard", max_length=32, sa_column_kwargs={"server_default": "standard"})


class StockLevelRow(SQLModel, table=True):
    """Stock of one SKU at one location. The checks make negative stock impossible, also under races."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    location_id: str = Field(primary_key=True, foreign_key="locations.store_id", max_length=32)
    sku: str = Field(primary_key=True, foreign_key="products.sku", max_length=64, index=True)
    on_hand: int = 0
    reserved: int = 0


class StockReservationRow(SQLModel, table=True):
    """One order line's claim on stock at one location; its key makes reserving a line twice impossible.

    A line moved to another store holds a row at each: the new one is taken before the old one is released.
    """

    __tablename__ = "stock_reservations"

    order_number: str = Field(primary_key=True, max_length=32)
    line_id: str = Field(primary_key=True, max_length=16)
    location_id: str = Field(primary_key=True, max_length=32)
    sku: str = Field(max_length=64)
    quantity: int
    status: str = Field(default="reserved", max_length=16)  # reserved | committed


class StockTransferRow(SQLModel, table=True):
    """Stock redirected between locations: it leaves the source at dispatch, arrives on the store's receipt."""

    __tablename__ = "stock_transfers"

    transfer_id: str = Field(primary_key=True, max_length=80)
    order_number: str = Field(index=True, max_length=32)
    sku: str = Field(max_length=64)
    quantity: int
    from_location: str = Field(max_length=32)
    to_location: str = Field(max_length=32)
    status: str = Field(default="in_transit", max_length=16)  # in_transit | received
    dispatched_at: datetime = Field(sa_column=utc_column())
    received_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class PaymentTransactionRow(SQLModel, table=True):
    """Money taken or refunded on an order, keyed by a deterministic id so a retry never moves it twice."""

    __tablename__ = "payment_transactions"

    transaction_id: str = Field(primary_key=True, max_length=80)
    order_number: str = Field(index=True, max_length=32)
    kind: str = Field(max_length=16)  # payment | refund; gateway calls: authorise | capture | sale | void | refund
    method: str = Field(max_length=40)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    actor: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=utc_column())
    # Gateway calls (PaymentActivities.call_gateway). Rows of record_payment_transaction keep the defaults.
    gateway: str | None = Field(default=None, max_length=16)  # test | stripe
    status: str = Field(default="approved", max_length=16, sa_column_kwargs={"server_default": "approved"})
    gateway_reference: str | None = Field(default=None, max_length=80)  # what the gateway created
    request_reference: str | None = Field(default=None, max_length=80)  # the authorisation or capture acted on
    detail: str | None = Field(default=None, max_length=500)  # decline reason or error
    attempts: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # the activity attempt recording it
    answered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OrderPlacementRow(SQLModel, table=True):
    """Allocates order numbers and remembers Idempotency-Keys, per API key holder, with a hash of the body they
    came with."""

    __tablename__ = "order_placements"
    __table_args__ = (UniqueConstraint("holder", "idempotency_key", name="uq_order_placements_holder_key"),)

    # BIGINT in PostgreSQL; plain INTEGER in SQLite, where only that is an auto-incrementing rowid.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    holder: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})  # the key holder's name
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=utc_column())
    initial_state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SettingRow(SQLModel, table=True):
    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OrderRecordRow(SQLModel, table=True):
    """The order read model: filter columns plus the whole view; `version` only ever grows."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_store_created", "store_id", "created_at"),
        Index("ix_orders_status_updated", "status", "updated_at"),  # the stuck-order sweep's quiet orders
    )

    order_number: str = Field(primary_key=True, max_length=32)
    version: int
    status: str = Field(index=True, max_length=32)
    store_id: str = Field(index=True, max_length=32)
    channel: str = Field(max_length=16)
    web_reference: str = Field(index=True, max_length=64)
    customer_id: str = Field(index=True, max_length=64)
    customer_name: str = Field(max_length=200)
    customer_email: str = Field(index=True, max_length=254)
    has_alert: bool = Field(index=True)
    # Its deliveries' methods, space-separated and sorted ("click_and_collect home_delivery"): the dashboard filter.
    fulfilment_methods: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="", index=True)
    )
    # Every location that fulfils one of its deliveries, each between spaces (" S001 W001 "): a location's own list.
    delivery_locations: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(sa_column=utc_column(index=True))
    updated_at: datetime = Field(sa_column=utc_column())
    fulfil_on: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))  # scheduled
    view: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Store event ids the order has seen: a webhook retried after the order's workflow ended is still recognised.
    seen_event_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))


class OrderOpenAlertRow(SQLModel, table=True):
    """One open alert type on one order: lets the dashboard filter and count by alert type from an index."""

    __tablename__ = "order_open_alerts"

    order_number: str = Field(primary_key=True, foreign_key="orders.order_number", max_length=32)
    alert_type: str = Field(primary_key=True, index=True, max_length=32)
    store_id: str = Field(index=True, max_length=32)


# --- Payment gateways -------------------------------------------------------------------------------------------


class GatewayTestOperationRow(SQLModel, table=True):
    """The built-in test gateway's own books, kept as an external gateway keeps them: one row per idempotency key,
    so a retry from any worker process gets the original answer and tests can count what moved."""

    __tablename__ = "test_gateway_operations"

    idempotency_key: str = Field(primary_key=True, max_length=120)
    order_number: str = Field(index=True, max_length=32)
    kind: str = Field(max_length=16)  # authorise | capture | sale | void | refund
    method: str = Field(max_length=40)
    token: str = Field(max_length=80)  # captures, voids and refunds inherit the authorisation's token
    parent_reference: str | None = Field(default=None, index=True, max_length=80)
    reference: str = Field(index=True, max_length=80)  # "" unless approved
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    outcome: str = Field(max_length=16)  # failed (a simulated transient fault, retried) | approved | declined
    detail: str = Field(default="", max_length=500)
    calls: int = 1
    created_at: datetime = Field(sa_column=utc_column())
    answered_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


# ---- store link monitor (workflows/store_link.py): Baton's truth of which stores are online -------------


class StoreLinkRow(SQLModel, table=True):
    """A store's link as its link workflow last recorded it; no row means never heard from (unmonitored)."""

    __tablename__ = "store_links"

    store_id: str = Field(primary_key=True, max_length=32)
    state: str = Field(max_length=16)  # online | offline
    since: datetime = Field(sa_column=utc_column())
    last_heartbeat_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class StoreLinkChangeRow(SQLModel, table=True):
    """A store going online or offline, once per change id (`store-link-<store>:change:<n>`)."""

    __tablename__ = "store_link_changes"
    __table_args__ = (Index("ix_store_link_changes_store_at", "store_id", "at"),)

    change_id: str = Field(primary_key=True, max_length=80)
    store_id: str = Field(max_length=32)
    state: str = Field(max_length=16)
    previous: str = Field(max_length=16)
    at: datetime = Field(sa_column=utc_column())
    detail: str = Field(default="", max_length=500)


# ---- XML notification extracts: the outbox (Baton's own truth) -----------------------------------


class NotificationExtractRow(SQLModel, table=True):
    """One XML extract, kept once per extract id, and how its delivery went (the `extracts` outbox lane).
    Neither delivered nor failed: still to deliver (when a destination is configured)."""

    __tablename__ = "notification_extracts"
    __table_args__ = (Index("ix_notification_extracts_pending", "delivered_at", "failed_at", "created_at"),)

    extract_id: str = Field(primary_key=True, max_length=160)
    order_number: str = Field(index=True, max_length=32)
    type: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_column=utc_column())
    created_at: datetime = Field(sa_column=utc_column(index=True))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the XML document, UTF-8
    delivery_attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    delivered_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))  # refused, or gave up


# ---- outbound webhooks and exports (delivered by the outbox lanes, workflows/outbox.py) -------------------


class WebhookSubscriberRow(SQLModel, table=True):
    """A system (ERP, WMS, CRM, customer messaging) that receives order events it subscribed to."""

    __tablename__ = "webhook_subscribers"

    subscriber_id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = Field(sa_column=utc_column())


class WebhookDeliveryRow(SQLModel, table=True):
    """The delivery log: one event to one subscriber (or a Head Office resend of it), every attempt counted."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscriber_order", "subscriber_id", "order_number"),
        Index("ix_webhook_deliveries_subscriber_status", "subscriber_id", "status"),  # resends still to send
    )

    delivery_id: str = Field(primary_key=True, max_length=200)  # "<subscriber>:<event_id>[:resend:<n>]"
    subscriber_id: str = Field(max_length=40)
    event_id: str = Field(index=True, max_length=80)
    event_type: str = Field(max_length=32)
    order_number: str = Field(max_length=32)
    kind: str = Field(default="event", max_length=16)  # event | resend
    status: str = Field(default="pending", max_length=16)  # pending | retrying | delivered | refused | failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: str | None = Field(default=None, max_length=120)  # who asked for a resend
    created_at: datetime = Field(sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OrderExportRow(SQLModel, table=True):
    """The audit of one exporter run on one order: which exporter, for which state, how it went. Queued by the
    commit of the change that reached the state; run in queue order by the exporter's outbox lane."""

    __tablename__ = "order_exports"
    __table_args__ = (Index("ix_order_exports_exporter_outcome", "exporter", "outcome", "queued_at"),)

    run_id: str = Field(primary_key=True, max_length=200)  # "<order_number>:<exporter>:<state>"
    order_number: str = Field(index=True, max_length=32)
    exporter: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    state: str = Field(max_length=64)
    sets_state: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="queued", max_length=16)  # queued | running | succeeded | failed
    attempts: int = 0
    detail: str = Field(default="", max_length=1000)
    started_at: datetime = Field(sa_column=utc_column())  # when queued, then when its first attempt began
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    queued_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OrderExportStateRow(SQLModel, table=True):
    """An export-eligibility state an order has reached (models/exporting.py), with the order as it was then (for
    xml_extract exporters). The row with state COMPLETED_MARK records that the order completed."""

    __tablename__ = "order_export_states"

    order_number: str = Field(primary_key=True, max_length=32)
    state: str = Field(primary_key=True, max_length=64)
    reached_at: datetime = Field(sa_column=utc_column())
    occurred_at: datetime = Field(sa_column=utc_column())  # when the event that reached it happened
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # ExtractOrder


# ---- the outbox: order events and store messages, written with the change they report ------------------------


# BIGINT in PostgreSQL; plain INTEGER in SQLite, where only that is an auto-incrementing rowid. AUTOINCREMENT in
# SQLite so an id is never reused: the ids are the delivery order.
def _outbox_id() -> Any:
    return Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )


class OrderEventRow(SQLModel, table=True):
    """One outbound order event; `id` is the global delivery order every subscriber lane follows."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("event_id", name="uq_order_events_event_id"), {"sqlite_autoincrement": True})

    id: int | None = _outbox_id()
    event_id: str = Field(max_length=80)
    order_number: str = Field(index=True, max_length=32)
    sequence: int
    type: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_column=utc_column())
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # what a subscriber receives
    created_at: datetime = Field(sa_column=utc_column())


class StoreMessageRow(SQLModel, table=True):
    """One message to a store's webhook, delivered in `id` order by the store's lane."""

    __tablename__ = "store_messages"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_store_messages_message_id"),
        Index("ix_store_messages_store_status", "store_id", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = _outbox_id()
    message_id: str = Field(max_length=120)  # order-<n>:push:<k>: the store de-duplicates on it
    store_id: str = Field(max_length=32)
    order_number: str = Field(index=True, max_length=32)
    type: str = Field(max_length=32)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | delivered | no_endpoint | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OutboxCursorRow(SQLModel, table=True):
    """How far a lane that follows `order_events` (a subscriber's) has got: the last event id it is done with."""

    __tablename__ = "outbox_cursors"

    lane: str = Field(primary_key=True, max_length=200)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())
