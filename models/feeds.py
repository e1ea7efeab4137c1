"""Catalogue and stock feeds from an ERP, a WMS or a store: products and prices, stock counts (an absolute figure
from a cycle count) and movements (receipts and adjustments, deltas with a reason). Each message carries an id, so a
retried feed applies once. Pure: the messages, reading a CSV price list, and what a count means for the orders
holding stock (a count below what is reserved alerts them instead of going negative)."""

from __future__ import annotations

import csv
import io
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.money import Money
from models.tax import TaxClass
from models.text import Line

MessageId = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@/-]+$", examples=["erp-2026-11-30-0001"])
SkuField = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
LocationField = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
MAX_ITEMS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductItem(_Strict):
    """One variant: created when the SKU is new, its name, size, colour and price replaced when it is not."""

    sku: str = SkuField
    style: Line = Field(min_length=1, max_length=64)
    name: Line = Field(min_length=1, max_length=200)
    size: Line = Field(default="", max_length=16)
    colour: Line = Field(default="", max_length=32)
    price: Money
    electronic: bool | None = Field(
        default=None, description="Delivered without packing (a download, a gift code); left out: unchanged"
    )
    tax_class: TaxClass | None = Field(
        default=None, description="Chooses its tax rate with the destination (/settings/tax); left out: unchanged"
    )
    merchant_id: Line | None = Field(
        default=None, max_length=32, description='The merchant it belongs to ("": the retailer\'s); left out: unchanged'
    )


class ProductFeed(_Strict):
    message_id: str = MessageId
    products: list[ProductItem] = Field(min_length=1, max_length=MAX_ITEMS)


class StockCount(_Strict):
    sku: str = SkuField
    location_id: str = LocationField
    on_hand: int = Field(ge=0, le=10**9, description="What was counted on the shelf")


class StockCountFeed(_Strict):
    message_id: str = MessageId
    reason: Line = Field(default="cycle count", max_length=200)
    counts: list[StockCount] = Field(min_length=1, max_length=MAX_ITEMS)


class MovementKind(StrEnum):
    receipt = "receipt"  # goods in (a delivery from a supplier, a return to stock): a positive delta
    adjustment = "adjustment"  # damage, loss, found stock: either sign


class StockMovement(_Strict):
    sku: str = SkuField
    location_id: str = LocationField
    kind: MovementKind
    delta: int = Field(ge=-(10**9), le=10**9)
    reason: Line = Field(min_length=1, max_length=200)


class StockMovementFeed(_Strict):
    message_id: str = MessageId
    movements: list[StockMovement] = Field(min_length=1, max_length=MAX_ITEMS)


class FeedError(ValueError):
    """A feed the rules refuse; `field` names where (e.g. "movements[2].delta", "line 3: price")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def movement_problem(movement: StockMovement) -> str | None:
    if movement.kind is MovementKind.receipt and movement.delta <= 0:
        return "a receipt adds stock: its delta must be positive"
    if movement.delta == 0:
        return "a movement of 0 moves nothing"
    return None


CSV_COLUMNS = ("sku", "style", "name", "size", "colour", "price", "currency")


def _flag(cell: str | None) -> bool | None:
    """An optional yes/no column: empty or absent leaves the product as it is."""
    text = (cell or "").strip().lower()
    return None if not text else text in ("1", "true", "yes", "y")


def products_from_csv(text: str) -> list[ProductItem]:
    """A price list as CSV with a header row (sku, style, name, size, colour, price in minor units, currency; and
    optionally electronic, yes/no, and tax_class); FeedError naming the line and column of the first bad cell."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FeedError("header", f"the CSV header lacks {', '.join(missing)} (columns: {', '.join(CSV_COLUMNS)})")
    items: list[ProductItem] = []
    for number, row in enumerate(reader, start=2):
        if len(items) == MAX_ITEMS:
            raise FeedError(f"line {number}", f"at most {MAX_ITEMS} products per message")
        price = (row.get("price") or "").strip()
        if not price.lstrip("-").isdigit():
            raise FeedError(f"line {number}: price", f"price {price!r} is not a whole number of minor units")
        try:
            items.append(
                ProductItem(
                    sku=(row.get("sku") or "").strip(),
                    style=(row.get("style") or "").strip(),
                    name=(row.get("name") or "").strip(),
                    size=(row.get("size") or "").strip(),
                    colour=(row.get("colour") or "").strip(),
                    price=Money(amount=int(price), currency=(row.get("currency") or "").strip()),
                    electronic=_flag(row.get("electronic")),
                    tax_class=(row.get("tax_class") or "").strip() or None,
                )
            )
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise FeedError(f"line {number}: {where}", first["msg"]) from None
    if not items:
        raise FeedError("body", "the CSV has no products")
    return items


class CountShortfall(BaseModel):
    """A count found less on the shelf than orders hold reserved there: each of those orders is alerted."""

    sku: str
    location_id: str
    counted: int
    reserved: int
    message_id: str

    @property
    def detail(self) -> str:
        return f"a count at {self.location_id} found {self.counted} of {self.sku}; {self.reserved} are reserved"
