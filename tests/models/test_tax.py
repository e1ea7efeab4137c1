"""The tax rule (models/tax.py, models/order_tax.py): tax inside a tax-inclusive amount, half up to the minor unit,
net + tax = gross on every line and in all, and discounts shared over lines to the unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.order_tax import order_tax
from models.payments import Charge
from models.placing import LoyaltyOffer
from models.tax import TaxPolicy, TaxRate, apportion, split_gross
from tests.models.factories import T0, gbp, make_line, make_state

amounts = st.integers(min_value=0, max_value=10**11)
rates = st.integers(min_value=0, max_value=10_000)


@given(amounts, rates)
def test_net_and_tax_add_up_to_gross_and_tax_is_rounded_half_up(gross: int, rate_bp: int) -> None:
    split = split_gross(gross, rate_bp)
    assert split.net + split.tax == split.gross == gross
    exact = Decimal(gross) * rate_bp / (10_000 + rate_bp)
    assert split.tax == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert 0 <= split.tax <= gross


def test_a_known_split() -> None:
    assert split_gross(1999, 2000).model_dump() == {"net": 1666, "tax": 333, "gross": 1999}  # 333.17 → 333
    assert split_gross(3, 2000).model_dump() == {"net": 2, "tax": 1, "gross": 3}  # 0.5 → 1, half up
    assert split_gross(500, 0).tax == 0


@given(st.integers(min_value=0, max_value=10**9), st.lists(st.integers(min_value=0, max_value=10**9), max_size=30))
def test_apportioned_shares_add_up_exactly_and_follow_the_weights(amount: int, weights: list[int]) -> None:
    shares = apportion(amount, weights)
    whole = sum(weights)
    assert sum(shares) == (min(amount, whole) if whole else 0)
    for share, weight in zip(shares, weights, strict=True):
        assert 0 <= share <= weight
        if whole:
            assert abs(share - min(amount, whole) * weight / whole) < 1


@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 50_000), st.sampled_from([0, 500, 2000])), min_size=1),
    st.integers(0, 100_000),
    st.lists(st.tuples(st.integers(0, 5_000), st.sampled_from([0, 2000])), max_size=3),
)
def test_an_orders_tax_adds_up_to_what_the_customer_pays_for(
    lines: list[tuple[int, int, int]], discount: int, charges: list[tuple[int, int]]
) -> None:
    state = make_state(
        lines=[
            make_line(f"L{i}", quantity=quantity, amount=price).model_copy(update={"tax_rate_bp": rate})
            for i, (quantity, price, rate) in enumerate(lines, start=1)
        ],
        loyalty_offers=[LoyaltyOffer(code="O1", description="offer", discount=gbp(discount))],
        charges=[
            Charge(charge_id=f"C{i}", amount=gbp(amount), reason="fee", actor="ho", at=T0, tax_rate_bp=rate)
            for i, (amount, rate) in enumerate(charges, start=1)
        ],
    )
    tax = order_tax(state)
    assert tax.total.gross == state.total().amount
    assert tax.total.net + tax.total.tax == tax.total.gross
    assert all(line.amounts.net + line.amounts.tax == line.amounts.gross for line in tax.lines)
    assert sum(line.amounts.gross for line in tax.lines) == max(0, state.gross().amount - discount)


def test_a_rate_for_the_country_wins_over_the_rate_for_anywhere() -> None:
    policy = TaxPolicy(
        rates=[
            TaxRate(tax_class="standard", country="*", rate_bp=2000),
            TaxRate(tax_class="standard", country="DE", rate_bp=1900),
        ]
    )
    assert policy.rate_for("standard", "DE") == 1900
    assert policy.rate_for("standard", "FR") == 2000
    assert policy.rate_for("books", "FR") is None


def test_a_class_given_twice_for_one_country_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        TaxPolicy(rates=[TaxRate(tax_class="standard", country="GB", rate_bp=2000)] * 2)
