"""XML notification extracts: what third-party processes need to tell a customer about their order.

The contract: extract types, the request to make one, ids and file names. The document itself (of
models/schemas/order-notification.xsd) is built and validated in activities/notifications.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.order import OrderState

NAMESPACE = "urn:baton:order-notification:1"
SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "order-notification.xsd"
EXTRACT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,160}$"


class ExtractType(StrEnum):
    ready_for_collection = "ready_for_collection"
    collected = "collected"  # the order is completed: the customer has collected it
    updated = "updated"
    cancelled = "cancelled"
    refunded = "refunded"
    order_export = "order_export"  # the full order, for the XML-extract exporter (ERP, accounting)


class CreateExtract(BaseModel):
    """Build an extract of `order` as it stood when the event occurred, and keep it in the outbox.

    `extract_id` is the idempotency key: derive it from the calling workflow and the operation
    (`order-100001:extract:3`), never from wall-clock time or randomness.
    """

    extract_id: str = Field(pattern=EXTRACT_ID_PATTERN)
    type: ExtractType
    order: OrderState
    occurred_at: datetime
    reason: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")  # else derived from the history


class ExtractDelivery(BaseModel):
    """What one delivery achieved: where the extract went, or why nothing was sent."""

    extract_id: str
    delivered: bool
    delivered_to: list[str] = Field(default_factory=list)
    attempts: int = 0
    detail: str = ""


class ExtractInvalid(ValueError):
    """A document that does not match the schema; the message names each error with its line."""


def extract_workflow_id(extract_id: str) -> str:
    """The id of the PublishExtractWorkflow of one extract: starting it twice publishes it once."""
    return f"extract-{extract_id}"


def extract_file_name(order_number: str, extract_type: ExtractType | str, extract_id: str) -> str:
    """`<order>-<type>-<extract id>.xml`, with anything a file system may mind replaced by "_"."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{order_number}-{extract_type}-{extract_id}") + ".xml"
