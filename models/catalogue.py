"""Products, locations (stores and warehouses) and stock, as the API and activities exchange them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.locations import LocationKind as LocationKind  # re-exported: the catalogue names location kinds
from models.money import Money
from models.sla import SlaOverrides
from models.text import Line


class Product(BaseModel):
    """One sellable variant: a style in a size and colour."""

    sku: str
    style: str
    name: str
    size: str
    colour: str
    price: Money
    electronic: bool = Field(default=False, description="Delivered without packing (a download, a gift code)")
    tax_class: str = Field(default="standard", description="Chooses its tax rate with the destination (/settings/tax)")


class Store(BaseModel):
    """A store or warehouse as the API shows it; the webhook secret is never shown back."""

    store_id: str
    name: str
    kind: LocationKind
    click_and_collect_enabled: bool
    webhook_url: str | None = None
    webhook_secret_set: bool = False
    sla_overrides: SlaOverrides = Field(default_factory=SlaOverrides)
    merchant_id: str | None = None  # the merchant it belongs to (None: the retailer's own)


class StoreSettings(BaseModel):
    """`PUT /stores/{store_id}`: create or replace a store's settings."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    kind: LocationKind = LocationKind.store
    click_and_collect_enabled: bool = True
    webhook_url: str | None = Field(default=None, pattern=r"^https?://[^\x00-\x20\x7f]+$", max_length=2000)
    webhook_secret: Line | None = Field(
        default=None, min_length=16, max_length=200, description="Shared HMAC secret; kept when omitted"
    )
    sla_overrides: SlaOverrides = Field(default_factory=SlaOverrides)
    merchant_id: Line | None = Field(
        default=None, min_length=1, max_length=32, description="The merchant it belongs to (left out: the retailer's)"
    )


class StockAtLocation(BaseModel):
    location_id: str
    kind: LocationKind
    on_hand: int
    reserved: int
    available: int


class StockHolding(BaseModel):
    sku: str
    locations: list[StockAtLocation]


class LineReservation(BaseModel):
    line_id: str
    sku: str
    quantity: int


class ReserveStock(BaseModel):
    """Reserve every line at one location, all or nothing."""

    order_number: str
    location_id: str
    lines: list[LineReservation]


class ReservationOutcome(BaseModel):
    reserved: bool
    short_lines: list[str] = Field(default_factory=list)
    detail: str = ""
    location_id: str | None = None  # short: the location that was


class ResizeReservations(BaseModel):
    """Set each line's reservation to a target quantity (0 releases it); safe to repeat."""

    order_number: str
    targets: dict[str, int]
    location_id: str | None = None  # only reservations at this location (None: everywhere)


class CommitStock(BaseModel):
    """Consume an order's reservations: the goods left the store with the customer."""

    order_number: str
    location_id: str | None = None
    line_ids: list[str] | None = None  # None: every line


class DispatchTransfer(BaseModel):
    transfer_id: str
    order_number: str
    sku: str
    quantity: int
    from_location: str
    to_location: str


class ReceiveTransfer(BaseModel):
    transfer_id: str
