"""What a webstore, POS or call centre sends to place an order (`POST /orders`), and its parts."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from models.b2b import Reference
from models.custom_fields import CustomValues
from models.money import Money
from models.payments import GATEWAY_MODES, PaymentMode
from models.text import Line, Text


def _date_or_moment(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        raise ValueError("give a date (YYYY-MM-DD) or a date and time with its UTC offset") from None


# A date, or a date and time with its offset; one error naming the field when it is neither.
DateOrMoment = Annotated[AwareDatetime | date, WrapValidator(_date_or_moment)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channel(StrEnum):
    web = "web"
    store = "store"
    phone = "phone"


class Customer(_Strict):
    id: Line = Field(min_length=1, max_length=64)
    name: Line = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$", max_length=254)
    phone: Line | None = Field(default=None, max_length=40)


class DeliveryAddress(_Strict):
    name: Line = Field(min_length=1, max_length=200)
    line1: Line = Field(min_length=1, max_length=200)
    line2: Line | None = Field(default=None, max_length=200)
    city: Line = Field(min_length=1, max_length=100)
    postcode: Line = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class Fulfilment(_Strict):
    """How lines reach the customer. The order's `fulfilment` is every line's default; a line may carry its own.

    - `click_and_collect` {store_id}: picked at the store, collected there;
    - `home_delivery` {address, location_id?}: shipped from a warehouse or store (chosen by sourcing when left out);
    - `direct_sale` {store_id}: handed over at the till at once (store and phone channels).

    What each method needs is checked at placement (models/placement.py), so a missing field is named."""

    method: Literal["click_and_collect", "home_delivery", "direct_sale"]
    store_id: Line | None = Field(
        default=None, min_length=1, max_length=32, description="click_and_collect, direct_sale: the store"
    )
    address: DeliveryAddress | None = Field(default=None, description="home_delivery: where to deliver")
    location_id: Line | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="home_delivery: the warehouse or store that ships it (sourcing chooses when left out)",
    )


class LineRequest(_Strict):
    sku: Line = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=999)
    unit_price: Money
    fulfilment: Fulfilment | None = Field(default=None, description="This line's own fulfilment (else the order's)")
    release_at: AwareDatetime | None = Field(
        default=None,
        description="A preorder line of a further home delivery: that delivery alone is reserved on this date",
    )
    custom_fields: CustomValues = Field(default_factory=dict)
    unit_cost: Money | None = Field(default=None, description="B2B: the item's cost to the customer's account")

    def fulfilled_by(self, default: Fulfilment) -> Fulfilment:
        return self.fulfilment or default


class PaymentRequest(_Strict):
    mode: PaymentMode
    method: Line = Field(min_length=1, max_length=40, examples=["card"])
    amount: Money
    token: Line | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="auth_capture / authorise: the gateway's card token or payment method id (never a card number)",
        examples=["tok_approve"],
    )
    gateway: Literal["test", "stripe"] | None = Field(
        default=None, description="test | stripe; BATON_PAYMENT_GATEWAY when left out"
    )
    reference: Line | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="prepaid: the channel's own reference of the payment it took (refunds are instructed against it)",
    )

    @model_validator(mode="after")
    def _each_mode_has_what_it_needs(self) -> Self:
        if self.mode in GATEWAY_MODES and self.token is None:
            raise ValueError(f"a {self.mode} payment needs the card token")
        if self.mode is PaymentMode.prepaid and self.reference is None:
            raise ValueError("a prepaid payment needs the channel's payment reference")
        return self


class LoyaltyOffer(_Strict):
    code: Line = Field(min_length=1, max_length=64)
    description: Line = Field(default="", max_length=500)
    discount: Money


class PlaceOrder(_Strict):
    """What a webstore, POS or call centre sends to place an order."""

    web_reference: Line = Field(min_length=1, max_length=64)
    channel: Channel
    customer: Customer
    fulfilment: Fulfilment
    lines: list[LineRequest] = Field(min_length=1, max_length=100)
    payment: PaymentRequest | None = Field(default=None, description="One payment (or give `payments`)")
    payments: list[PaymentRequest] = Field(
        default_factory=list,
        max_length=2,
        description="Up to two payments: gift card or wallet funds first, then a card (or another method) for the rest",
    )
    loyalty_offers: list[LoyaltyOffer] = Field(default_factory=list, max_length=20)
    release_at: AwareDatetime | None = Field(
        default=None, description="A preorder: its stock is reserved on this date (in the future)"
    )
    fulfil_on: DateOrMoment | None = Field(
        default=None,
        description="A scheduled order: fulfilled on this date (a date is 00:00 UTC that day; up to 90 days ahead)",
    )
    backorder_for: timedelta | None = Field(
        default=None,
        gt=timedelta(0),
        le=timedelta(days=90),
        description="Short of stock when sent out, wait this long (ISO 8601, up to P90D) for replenishment",
    )
    notes: list[Annotated[Text, Field(max_length=2000)]] = Field(default_factory=list, max_length=20)
    custom_fields: CustomValues = Field(default_factory=dict)
    estimation_id: Line | None = Field(
        default=None,
        max_length=40,
        description="Place exactly this estimate (POST /estimates): its prices, charges and discounts, within 2 hours",
    )
    customer_reference: Reference | None = Field(default=None, description="B2B: the customer's own reference")
    purchase_order_number: Reference | None = Field(default=None, description="B2B: the customer's purchase order")

    @model_validator(mode="after")
    def _one_way_to_give_payments(self) -> Self:
        if (self.payment is None) == (not self.payments):
            raise ValueError("give either `payment` or `payments` (up to two)")
        return self

    @property
    def given_payments(self) -> list[tuple[str, PaymentRequest]]:
        """Each payment with the field path it came in under (for error messages)."""
        if self.payment is not None:
            return [("payment", self.payment)]
        return [(f"payments[{index}]", payment) for index, payment in enumerate(self.payments)]

    def gross(self) -> int:
        """The lines' value before discounts (minor units)."""
        return sum(line.unit_price.amount * line.quantity for line in self.lines)

    def discount(self) -> int:
        return sum(offer.discount.amount for offer in self.loyalty_offers)

    def total(self) -> int:
        return max(0, self.gross() - self.discount())


class Replaces(_Strict):
    """What a replacement order replaces: the returned order and the return that sent it (an exchange)."""

    order_number: str
    return_id: str


class PlaceReplacement(PlaceOrder):
    """An exchange's replacement order (models/exchanges.py): its lines cost nothing and one `exchange` payment of
    zero settles it, so nothing is captured or refunded for it. Placed by the return, never through `POST /orders`."""

    replaces: Replaces


class PlaceQuoted(PlaceOrder):
    """An accepted quote's order (models/quotes.py): its lines at the quoted prices, locked as an estimate locks its
    prices. Placed by the quote's acceptance, never through `POST /orders`."""

    quote_id: str
