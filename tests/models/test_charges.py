"""Charges, estimates and balance plans as pure rules: a distance falls in exactly one band, an estimate's total is
gross - discounts + charges, and a payment plan pays exactly the total."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.balances import payment_plan
from models.charges import ChargePolicy, DistanceBand, MethodFee, band_index, delivery_charges
from models.deliveries import Delivery, DeliveryMethod
from models.estimates import estimate_amounts
from models.money import Money
from models.placing import DeliveryAddress
from models.sourcing import SourcingPolicy


def _gbp(amount: int) -> Money:
    return Money(amount=amount, currency="GBP")


bounds = st.lists(st.integers(min_value=0, max_value=2000), min_size=0, max_size=8, unique=True).map(sorted)
amounts = st.integers(min_value=0, max_value=10**9)


def _bands(upper: list[int], fees: list[int]) -> list[DistanceBand]:
    closed = [DistanceBand(up_to_km=bound, amount=_gbp(fee)) for bound, fee in zip(upper, fees, strict=False)]
    return [*closed, DistanceBand(up_to_km=None, amount=_gbp(fees[-1]))]


@given(upper=bounds, km=st.integers(min_value=0, max_value=3000), data=st.data())
def test_a_distance_falls_in_exactly_one_band(upper: list[int], km: int, data: st.DataObject) -> None:
    fees = data.draw(st.lists(st.integers(0, 10_000), min_size=len(upper) + 1, max_size=len(upper) + 1))
    policy = ChargePolicy(distance_bands=_bands(upper, fees))
    bands = policy.distance_bands
    lows = [0] + [bound + 1 for bound in upper]
    containing = [i for i, band in enumerate(bands) if lows[i] <= km and (band.up_to_km is None or km <= band.up_to_km)]
    assert containing == [band_index(bands, km)]


@given(upper=bounds, km=st.integers(min_value=0, max_value=3000), data=st.data())
def test_a_home_delivery_is_charged_its_one_band(upper: list[int], km: int, data: st.DataObject) -> None:
    fees = data.draw(st.lists(st.integers(1, 10_000), min_size=len(upper) + 1, max_size=len(upper) + 1))
    policy = ChargePolicy(distance_bands=_bands(upper, fees))
    address = DeliveryAddress(name="A", line1="1 Street", city="Northampton", postcode="NN1 2AJ", country="GB")
    delivery = Delivery(
        delivery_id="D1", method=DeliveryMethod.home_delivery, location_id="W001", address=address, line_ids=["L1"]
    )
    sourcing = SourcingPolicy(distances_km={"NN": {"W001": km}})
    (charge,) = delivery_charges(policy, [delivery], "GBP", sourcing)
    assert charge.amount == policy.distance_bands[band_index(policy.distance_bands, km)].amount
    assert delivery_charges(policy, [delivery], "EUR", sourcing) == []  # fees apply in their own currency only
    unknown = SourcingPolicy(distances_km={"NN": {"S001": km}})
    assert delivery_charges(policy, [delivery], "GBP", unknown) == []  # no known distance: no distance fee


def test_bands_must_rise_and_end_open_and_fees_are_one_per_method() -> None:
    with pytest.raises(ValidationError, match="only the last band is open"):
        ChargePolicy(distance_bands=[DistanceBand(up_to_km=10, amount=_gbp(1))])
    with pytest.raises(ValidationError, match="must rise"):
        ChargePolicy(distance_bands=_bands([10, 5], [1, 2]))
    fee = MethodFee(method="home_delivery", amount=_gbp(300))
    with pytest.raises(ValidationError, match="one fee per method"):
        ChargePolicy(method_fees=[fee, fee])
    assert ChargePolicy() == ChargePolicy(method_fees=[], distance_bands=[])  # the default charges nothing


@given(gross=amounts, discounts=amounts, charges=amounts, data=st.data())
def test_an_estimate_total_is_gross_less_discounts_plus_charges(
    gross: int, discounts: int, charges: int, data: st.DataObject
) -> None:
    total = max(0, gross - discounts) + charges
    tax = data.draw(st.integers(min_value=0, max_value=total))
    result = estimate_amounts(gross, discounts, charges, tax, "GBP")
    assert result.total.amount == result.gross.amount - result.discounts.amount + result.charges.amount == total
    assert result.net.amount == result.gross.amount - result.discounts.amount >= 0
    assert result.total_net_of_tax.amount + result.tax.amount == result.total.amount


@given(total=amounts, credit=amounts, wallet=amounts)
def test_a_payment_plan_pays_the_total_credit_first_then_wallet(total: int, credit: int, wallet: int) -> None:
    plan = payment_plan(_gbp(total), credit, wallet)
    assert plan.account_credit.amount + plan.wallet.amount + plan.card.amount == total
    assert plan.account_credit.amount == min(credit, total)
    assert plan.wallet.amount <= wallet and (plan.card.amount == 0 or plan.wallet.amount == wallet)
