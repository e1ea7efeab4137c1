"""Event-based charges on an order, decided once at placement: a fixed fee per supply method, and for a home
delivery a fee by the distance band between the location that fulfils it and the delivery address (the sourcing
policy's `distances_km`). Head Office sets them with `PUT /settings/charges`; by default there are none, so an order
pays exactly its lines. Pure: the caller gives the deliveries, the distances and the tax policy."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.deliveries import Delivery, DeliveryMethod
from models.money import Money
from models.payments import Charge
from models.sourcing import SourcingPolicy, distance
from models.tax import TaxPolicy

SupplyMethod = Literal["click_and_collect", "home_delivery", "direct_sale"]
CHARGE_ACTOR = "system:charges"


class MethodFee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: SupplyMethod
    amount: Money


class DistanceBand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to_km: int | None = Field(
        ge=0, le=40_000, description="The band's upper bound, inclusive; null: every distance beyond"
    )
    amount: Money


class ChargePolicy(BaseModel):
    """Fees added to an order at placement, per delivery. A fee is charged only on orders in its currency. Bands
    are in ascending `up_to_km` and the last is open (null), so every known distance falls in exactly one band; a
    home delivery whose distance is not in the sourcing policy pays no distance fee."""

    model_config = ConfigDict(extra="forbid")

    method_fees: list[MethodFee] = Field(default_factory=list, max_length=30)
    distance_bands: list[DistanceBand] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _one_fee_per_method_and_contiguous_bands(self) -> Self:
        keys = [(fee.method, fee.amount.currency) for fee in self.method_fees]
        if len(set(keys)) != len(keys):
            raise ValueError("method_fees: one fee per method and currency")
        if self.distance_bands:
            bounds = [band.up_to_km for band in self.distance_bands]
            if bounds[-1] is not None or None in bounds[:-1]:
                raise ValueError("distance_bands: only the last band is open (up_to_km null), and it must be there")
            closed = [bound for bound in bounds[:-1] if bound is not None]
            if any(b <= a for a, b in zip(closed, closed[1:], strict=False)):
                raise ValueError("distance_bands: up_to_km must rise from band to band")
            if len({band.amount.currency for band in self.distance_bands}) != 1:
                raise ValueError("distance_bands: every band's fee is in one currency")
        return self


def band_index(bands: list[DistanceBand], km: int) -> int:
    """The one band a distance falls in: the first whose bound it does not pass (the last band is open)."""
    for index, band in enumerate(bands):
        if band.up_to_km is None or km <= band.up_to_km:
            return index
    raise ValueError("the last distance band is open: a validated policy always has one for every distance")


def _band_name(bands: list[DistanceBand], index: int) -> str:
    low = 0 if index == 0 else (bands[index - 1].up_to_km or 0) + 1
    high = bands[index].up_to_km
    return f"{low}-{high} km" if high is not None else f"{low}+ km"


class ChargeDecision(BaseModel):
    delivery_id: str
    amount: Money
    reason: str = Field(description="The rule that charged it")
    country: str | None = Field(default=None, description="Where it is taxed: the delivery address's country")


def delivery_charges(
    policy: ChargePolicy, deliveries: list[Delivery], currency: str, sourcing: SourcingPolicy
) -> list[ChargeDecision]:
    """What each delivery is charged under the policy, in the order's currency (fees in others do not apply)."""
    decisions: list[ChargeDecision] = []
    bands = policy.distance_bands
    for delivery in deliveries:
        country = delivery.address.country if delivery.address else None
        for fee in policy.method_fees:
            if fee.method == delivery.method.value and fee.amount.currency == currency and fee.amount.amount > 0:
                reason = f"method fee ({fee.method}) for delivery {delivery.delivery_id}"
                decisions.append(
                    ChargeDecision(delivery_id=delivery.delivery_id, amount=fee.amount, reason=reason, country=country)
                )
        if delivery.method is not DeliveryMethod.home_delivery or not bands or delivery.location_id is None:
            continue
        postcode = delivery.address.postcode if delivery.address else None
        km = distance(sourcing, postcode, delivery.location_id)
        if km is None or bands[0].amount.currency != currency:
            continue
        index = band_index(bands, km)
        if bands[index].amount.amount > 0:
            reason = (
                f"distance fee (band {_band_name(bands, index)}) for delivery {delivery.delivery_id}: "
                f"{km} km from {delivery.location_id}"
            )
            decisions.append(
                ChargeDecision(
                    delivery_id=delivery.delivery_id, amount=bands[index].amount, reason=reason, country=country
                )
            )
    return decisions


def placement_charges(decisions: list[ChargeDecision], tax: TaxPolicy, now: datetime) -> list[Charge]:
    """The charges as the order records them, numbered C1.., each taxed at the charge class's rate where it goes."""
    return [
        Charge(
            charge_id=f"C{index}",
            amount=decision.amount,
            reason=decision.reason,
            actor=CHARGE_ACTOR,
            at=now,
            tax_rate_bp=tax.rate_for(tax.charge_tax_class, decision.country or tax.home_country) or 0,
        )
        for index, decision in enumerate(decisions, start=1)
    ]
