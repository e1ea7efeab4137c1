"""Head Office commands: what each action on an order carries. The API fills `actor` from the caller's key;
the rules in `models/interventions.py` decide whether and how each applies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from models.money import Money
from models.order import DeliveryAddress


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why; kept in the order's history")
    client_note: str | None = Field(default=None, max_length=1000, description="Optional note for the customer")
    actor: SkipJsonSchema[str] = Field(default="", description="Set by the API from the caller's credential")


class CancelOrder(_Command):
    """Cancel the whole order: everything paid is refunded and the stock released."""


class LineQuantity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str
    quantity: int = Field(ge=1)


class CancelLines(_Command):
    lines: list[LineQuantity] = Field(min_length=1)


class NewLine(BaseModel):
    """A catalogue variant resolved by the API (sku, description, current price)."""

    sku: str
    style: str
    size: str
    colour: str
    unit_price: Money


class ChangeVariant(_Command):
    line_id: str
    variant: NewLine


class AddItem(_Command):
    item: NewLine
    quantity: int = Field(ge=1, le=999)


class BuyInStore(_Command):
    line_ids: list[str] = Field(min_length=1)


class MoveToStore(_Command):
    store_id: str


class SwitchToHomeDelivery(_Command):
    address: DeliveryAddress
    from_location: str = Field(description="The warehouse or store that ships it")


class RedirectStock(_Command):
    sku: str
    quantity: int = Field(ge=1, le=9999)
    from_location: str


class PromptStore(_Command):
    pass


class AddNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)
    client_facing: bool = False
    actor: SkipJsonSchema[str] = ""


class TakePayment(_Command):
    method: str = Field(min_length=1, max_length=40)
    amount: Money


class IssueRefund(_Command):
    amount: Money
