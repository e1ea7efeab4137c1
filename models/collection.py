"""The collection code: a short code the customer is sent in the "ready for collection" notification and says at
the till, which the Pick Manager asks for before "Handed over".

Derived deterministically from what the order was placed with (its number, web reference, customer and the moment
it was created), so every copy of Baton, the extract and the Pick Manager agree without storing it, and knowing an
order number alone does not give it. It proves the person collecting has the customer's notification; it is not a
password (six digits, and anyone who can read the order in Baton can see it)."""

from __future__ import annotations

import hashlib
from datetime import datetime

CODE_DIGITS = 6


def collection_code(order_number: str, web_reference: str, customer_id: str, created_at: datetime) -> str:
    seed = f"baton-collection:{order_number}:{web_reference}:{customer_id}:{created_at.isoformat()}"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % 10**CODE_DIGITS
    return f"{number:0{CODE_DIGITS}d}"


def matches(expected: str, given: str) -> bool:
    """Whether the code someone typed is the order's (spaces and dashes ignored)."""
    return "".join(ch for ch in given if ch.isdigit()) == expected
