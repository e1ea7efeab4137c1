"""An order's amounts split into net, tax and gross (models/tax.py has the rule), for the order view, estimates and
invoices; and the rate each line is taxed at, chosen once at placement."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.delivery_placement import FieldProblem
from models.order import LineFulfilment, OrderState
from models.placing import PlaceOrder
from models.tax import TaxPolicy, TaxSplit, apportion, split_gross, total_of


class LineTax(BaseModel):
    line_id: str
    tax_class: str
    rate_bp: int
    amounts: TaxSplit = Field(description="The line's total less its share of discounts")


class ChargeTax(BaseModel):
    charge_id: str
    rate_bp: int
    amounts: TaxSplit


class OrderTax(BaseModel):
    """Net, tax and gross of what the customer pays for: each line (after its share of the order's discounts), each
    charge, and in all. Lines bought in store are paid at the till and left out, as they are from the total."""

    lines: list[LineTax]
    charges: list[ChargeTax]
    total: TaxSplit


def line_destination(order: PlaceOrder, index: int, tax: TaxPolicy) -> str:
    """Where a line is taxed: the delivery address's country when it is shipped, else the retailer's own."""
    fulfilment = order.lines[index].fulfilled_by(order.fulfilment)
    if fulfilment.method == "home_delivery" and fulfilment.address is not None:
        return fulfilment.address.country
    return tax.home_country


def line_rates(order: PlaceOrder, tax_classes: list[str], tax: TaxPolicy) -> list[int | None]:
    """Each line's rate in basis points (None: its class has no rate at its destination), `tax_classes` being the
    catalogue's class for each line's product."""
    return [tax.rate_for(tax_classes[i], line_destination(order, i, tax)) for i in range(len(order.lines))]


def tax_problems(order: PlaceOrder, tax_classes: list[str], tax: TaxPolicy) -> list[FieldProblem]:
    """A product whose tax class has no rate where it goes cannot be placed: it would be taxed at nothing."""
    return [
        FieldProblem(
            f"lines[{i}].sku",
            f"{order.lines[i].sku} is in tax class {tax_classes[i]!r}, which has no rate for "
            f"{line_destination(order, i, tax)} (see /settings/tax)",
        )
        for i, rate in enumerate(line_rates(order, tax_classes, tax))
        if rate is None
    ]


def order_tax(state: OrderState) -> OrderTax:
    paid_for = [line for line in state.lines if line.fulfilment is not LineFulfilment.buy_in_store]
    discounts = sum(offer.discount.amount for offer in state.loyalty_offers)
    totals = [line.total.amount for line in paid_for]
    shares = apportion(min(discounts, sum(totals)), totals)
    lines = [
        LineTax(
            line_id=line.line_id,
            tax_class=line.tax_class,
            rate_bp=line.tax_rate_bp,
            amounts=split_gross(total - share, line.tax_rate_bp),
        )
        for line, total, share in zip(paid_for, totals, shares, strict=True)
    ]
    charges = [
        ChargeTax(
            charge_id=charge.charge_id,
            rate_bp=charge.tax_rate_bp,
            amounts=split_gross(charge.amount.amount, charge.tax_rate_bp),
        )
        for charge in state.charges
        if not charge.cancelled
    ]
    return OrderTax(
        lines=lines,
        charges=charges,
        total=total_of([line.amounts for line in lines] + [charge.amounts for charge in charges]),
    )
