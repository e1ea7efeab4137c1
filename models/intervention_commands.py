"""Head Office commands: what each action on an order carries. The API fills `actor` from the caller's key;
the rules in `models/interventions.py` decide whether and how each applies."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from models.money import Money
from models.placing import DeliveryAddress
from models.sourcing import SourcingDecision
from models.text import Line, Text


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line = Field(min_length=1, max_length=500, description="Why; kept in the order's history")
    client_note: Text | None = Field(default=None, max_length=1000, description="Optional note for the customer")
    actor: SkipJsonSchema[str] = Field(default="", description="Set by the API from the caller's credential")


class ReleaseHold(_Command):
    """Release an order on hold: accept a short pick, or try the reservation again."""


class CancelOrder(_Command):
    """Cancel the whole order: everything paid is refunded and the stock released."""


class Reschedule(_Command):
    """Move a scheduled order's date (models/scheduling.py); the API checks it is in the future."""

    fulfil_on: AwareDatetime


class LineQuantity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: Line = Field(max_length=16)
    quantity: int = Field(ge=1, le=999)


class CancelLines(_Command):
    lines: list[LineQuantity] = Field(min_length=1, max_length=100)


class NewLine(BaseModel):
    """A catalogue variant resolved by the API (sku, description, current price)."""

    model_config = ConfigDict(extra="forbid")

    sku: str
    style: str
    size: str
    colour: str
    unit_price: Money


class ChangeVariant(_Command):
    line_id: Line = Field(max_length=16)
    variant: NewLine


class AddItem(_Command):
    item: NewLine
    quantity: int = Field(ge=1, le=999)
    # Set by the API when the collection store lacks the item and the order has an address: shipped from there.
    ship_from: SkipJsonSchema[str | None] = None
    address: SkipJsonSchema[DeliveryAddress | None] = None
    sourcing: SkipJsonSchema[SourcingDecision | None] = None


class BuyInStore(_Command):
    line_ids: list[Annotated[Line, Field(max_length=16)]] = Field(min_length=1, max_length=100)


class MoveToStore(_Command):
    store_id: Line = Field(max_length=32)


class SwitchToHomeDelivery(_Command):
    address: DeliveryAddress
    from_location: Line = Field(max_length=32, description="The warehouse or store that ships it")


class MoveDelivery(_Command):
    """Ship a further delivery from another location (named by Head Office, or chosen by sourcing)."""

    delivery_id: Line = Field(max_length=16)
    location_id: Line = Field(max_length=32, description="The warehouse or store that ships it from now on")
    sourcing: SkipJsonSchema[SourcingDecision | None] = Field(
        default=None, description="Set by the API when it re-sourced the delivery"
    )


class SplitDelivery(_Command):
    """Some lines leave their delivery (the collection, or a further delivery) for a new home delivery."""

    line_ids: list[Annotated[Line, Field(max_length=16)]] = Field(min_length=1, max_length=100)
    from_location: Line = Field(max_length=32, description="The warehouse or store that ships the new delivery")
    address: DeliveryAddress | None = Field(
        default=None, description="Where it goes (needed when the lines were to be collected)"
    )


class MergeDeliveries(_Command):
    """One further delivery's lines join another from the same location, to the same address: one parcel."""

    delivery_id: Line = Field(max_length=16, description="The delivery whose lines move")
    into: Line = Field(max_length=16, description="The delivery they join")


class RedirectStock(_Command):
    sku: Line = Field(max_length=64)
    quantity: int = Field(ge=1, le=9999)
    from_location: Line = Field(max_length=32)


class PromptStore(_Command):
    pass


class AddNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=2000)
    client_facing: bool = False
    actor: SkipJsonSchema[str] = ""


class TakePayment(_Command):
    """Charge the customer more (a fee, a price agreed by phone): on the stored card, or due at the till."""

    method: Line = Field(default="card", min_length=1, max_length=40, description="Kept for the record")
    amount: Money


class IssueRefund(_Command):
    """Refund an amount, or the value of given quantities of lines (returned, damaged); give one of the two."""

    amount: Money | None = None
    lines: list[LineQuantity] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _amount_or_lines(self) -> Self:
        if (self.amount is None) == (self.lines is None):
            raise ValueError("give either `amount` or `lines`")
        return self


# ---- payments and approvals ------------------------------------------------------------------------


class ApproveOrder(_Command):
    """Approve an order held for approval: its payments are taken and it goes to the store."""


class RejectOrder(_Command):
    """Reject an order held for approval: it is cancelled; anything prepaid is refunded."""


class ConfirmPayment(_Command):
    """Money arrived outside a gateway: the offline payment (the order goes ahead), or an amount due."""

    reference: Line = Field(min_length=1, max_length=200, description="The bank or till reference of the payment")
    payment_id: Line | None = Field(
        default=None, max_length=8, description="P1, P2…; every awaiting or due one if left out"
    )


class RetryPayment(_Command):
    """Try a declined payment again, with a new card token if the customer gave one."""

    token: Line | None = Field(default=None, min_length=1, max_length=255)


class OverridePayment(_Command):
    """Settle a failed capture by hand (money taken another way); audited in the order's history."""

    payment_id: Line | None = Field(
        default=None, max_length=8, description="The payment (P1, P2); every failed one if left out"
    )
    reference: Line = Field(min_length=1, max_length=200, description="Where the money was taken")
