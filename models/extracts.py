"""XML notification extracts: what third-party processes need to tell a customer about their order.

The contract: extract types, ids and file names. The document itself (of models/schemas/order-notification.xsd)
is built from `views.ExtractOrder` and validated in activities/notifications.py; the commit activity keeps it in
the outbox with the change it reports, and the `extracts` outbox lane delivers it.
"""

from __future__ import annotations

import re
from enum import StrEnum

NAMESPACE = "urn:baton:order-notification:1"
SCHEMA_VERSION = "1.3"
SCHEMA_FILE = "order-notification.xsd"
EXTRACT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,160}$"


class ExtractType(StrEnum):
    ready_for_collection = "ready_for_collection"
    collected = "collected"  # the order is completed: the customer has collected it
    updated = "updated"
    cancelled = "cancelled"
    refunded = "refunded"
    order_export = "order_export"  # the full order, for the XML-extract exporter (ERP, accounting)
    shipped = "shipped"  # a home delivery left with the carrier (carrier and tracking number)
    delivered = "delivered"  # a home delivery reached the customer
    # 1.3, a return of the order (models/return_extracts.py): its Return element says which and what.
    return_authorised = "return_authorised"
    return_received = "return_received"
    return_refunded = "return_refunded"


class ExtractInvalid(ValueError):
    """A document that does not match the schema; the message names each error with its line."""


def extract_file_name(order_number: str, extract_type: ExtractType | str, extract_id: str) -> str:
    """`<order>-<type>-<extract id>.xml`, with anything a file system may mind replaced by "_"."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{order_number}-{extract_type}-{extract_id}") + ".xml"
