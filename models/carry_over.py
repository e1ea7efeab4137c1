"""What an order's workflow hands to its next run when it continues as new (its history grew long): the order, the
store's SLA policy it last read, and the store events received and not yet applied."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.order import StoreEvent
from models.sla import SlaPolicy


class CarriedOver(BaseModel):
    policy: SlaPolicy
    inbox: list[StoreEvent] = Field(default_factory=list)
