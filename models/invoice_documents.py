"""An order's invoices as documents: numbered, with lines carrying net, tax and gross (minor units) and the tax rate
they were split at. The order keeps those issued on its state; SQL keeps them too (the number is SQL's to give).
What issues them, and when, is models/invoicing.py."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field


class InvoiceKind(StrEnum):
    upfront = "upfront"
    milestone = "milestone"  # a milestone stage reached
    payment = "payment"  # an ad hoc milestone: a payment Head Office took
    progress = "progress"  # a delivery shipped or collected
    final = "final"  # on completion (or cancellation): credits every earlier invoice, invoices the whole order


class InvoiceLine(BaseModel):
    description: str
    line_id: str | None = Field(default=None, description="The order line invoiced, if any")
    quantity: int = 1
    tax_rate_bp: int = Field(ge=0, description="The tax rate the gross was split at, in basis points")
    net: int
    tax: int
    gross: int = Field(description="net + tax; negative on a line crediting an earlier invoice")
    credits_invoice: int | None = Field(default=None, description="The earlier invoice this line credits")


class InvoiceDraft(BaseModel):
    """An invoice the order decided to issue; SQL gives it its number (once per order and key)."""

    order_number: str
    key: str = Field(description="Unique per order: upfront, milestone:<stage>, payment:<id>, delivery:<id>, final")
    kind: InvoiceKind
    stage: str | None = None
    currency: str
    lines: list[InvoiceLine]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net(self) -> int:
        return sum(line.net for line in self.lines)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)


class Invoice(InvoiceDraft):
    number: int
    issued_at: datetime
