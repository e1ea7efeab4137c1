"""Exact money (models/money.py): integer minor units in one ISO 4217 currency."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.money import MAX_AMOUNT, Money


def test_add_same_currency() -> None:
    assert Money(amount=1999, currency="GBP") + Money(amount=1, currency="GBP") == Money(amount=2000, currency="GBP")


def test_add_refuses_mixing_currencies() -> None:
    with pytest.raises(ValueError, match="cannot combine GBP with EUR"):
        Money(amount=1, currency="GBP") + Money(amount=1, currency="EUR")


def test_minus_refuses_mixing_currencies() -> None:
    with pytest.raises(ValueError, match="cannot combine GBP with USD"):
        Money(amount=10, currency="GBP").minus(Money(amount=1, currency="USD"))


def test_minus_floors_at_zero() -> None:
    assert Money(amount=500, currency="GBP").minus(Money(amount=200, currency="GBP")).amount == 300
    assert Money(amount=500, currency="GBP").minus(Money(amount=900, currency="GBP")).amount == 0


def test_times_multiplies_amount_and_keeps_currency() -> None:
    assert Money(amount=1500, currency="EUR").times(3) == Money(amount=4500, currency="EUR")
    assert Money(amount=1500, currency="EUR").times(0) == Money(amount=0, currency="EUR")


def test_times_refuses_negative_quantity() -> None:
    with pytest.raises(ValidationError):
        Money(amount=1500, currency="GBP").times(-1)


@pytest.mark.parametrize("amount", [-1, -1999])
def test_money_rejects_negative_amount(amount: int) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="GBP")


@pytest.mark.parametrize("amount", [19.99, 0.5, "19.99"])
def test_money_rejects_fractional_amount(amount: object) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="GBP")


def test_money_accepts_zero() -> None:
    assert Money(amount=0, currency="GBP").amount == 0


@pytest.mark.parametrize("currency", ["GBP", "EUR", "USD", "JPY"])
def test_money_accepts_iso_4217_code(currency: str) -> None:
    assert Money(amount=1, currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["gbp", "Gbp", "GB", "GBPX", "", "G1P", " GBP", "GBP ", "GBP\n", "£"])
def test_money_rejects_currency_not_matching_pattern(currency: str) -> None:
    with pytest.raises(ValidationError):
        Money(amount=1, currency=currency)


def test_money_accepts_max_amount_and_refuses_more() -> None:
    assert Money(amount=MAX_AMOUNT, currency="GBP").amount == 10**11
    with pytest.raises(ValidationError):
        Money(amount=MAX_AMOUNT + 1, currency="GBP")


def test_add_refuses_a_sum_above_max_amount() -> None:
    with pytest.raises(ValidationError):
        Money(amount=MAX_AMOUNT, currency="GBP") + Money(amount=1, currency="GBP")


def test_money_is_immutable() -> None:
    money = Money(amount=1, currency="GBP")
    with pytest.raises(ValidationError):
        money.amount = 2


# ---- properties ----------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)
# Three of these add up to no more than MAX_AMOUNT, the largest amount Baton takes.
summands = st.integers(min_value=0, max_value=MAX_AMOUNT // 3)
currencies = st.sampled_from(["GBP", "EUR", "USD"])


@settings(deadline=None)
@given(a=summands, b=summands, c=summands, currency=currencies)
def test_add_is_exact_commutative_and_associative(a: int, b: int, c: int, currency: str) -> None:
    x, y, z = (Money(amount=n, currency=currency) for n in (a, b, c))
    assert (x + y).amount == a + b
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert (x + y).currency == currency


@settings(deadline=None)
@given(a=amounts, b=amounts, currency=currencies)
def test_minus_is_never_negative(a: int, b: int, currency: str) -> None:
    result = Money(amount=a, currency=currency).minus(Money(amount=b, currency=currency))
    assert result.amount == max(0, a - b)
    assert result.currency == currency


@settings(deadline=None)
@given(a=summands, b=summands, first=currencies, second=currencies)
def test_add_refuses_any_currency_mix(a: int, b: int, first: str, second: str) -> None:
    x, y = Money(amount=a, currency=first), Money(amount=b, currency=second)
    if first == second:
        assert (x + y).amount == a + b
    else:
        with pytest.raises(ValueError):
            x + y


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1999, "GBP", "19.99 GBP"), (5, "EUR", "0.05 EUR"), (1500, "JPY", "1500 JPY"), (1234, "KWD", "1.234 KWD")],
)
def test_money_reads_in_major_units_by_currency_exponent(amount: int, currency: str, text: str) -> None:
    assert str(Money(amount=amount, currency=currency)) == text
