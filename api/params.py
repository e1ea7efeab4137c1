"""Path, query and header parameters the routers share: each bounded, and refusing control characters (the same
rule as the bodies' models/text.py), so a bad one is a 422 naming it, never a 500 further in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Query

from models.text import LINE_PATTERN

# Far past any real page; also keeps OFFSET inside a 64-bit integer, which the database needs.
MAX_OFFSET = 1_000_000

OrderNumber = Annotated[str, Path(max_length=32, pattern=LINE_PATTERN)]
Sku = Annotated[str, Path(max_length=64, pattern=LINE_PATTERN)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, pattern=LINE_PATTERN, description="The same key with the same request applies it once"),
]


def search_text(description: str | None = None, max_length: int = 200) -> object:
    """A query string: one line, bounded."""
    return Query(description=description, max_length=max_length, pattern=LINE_PATTERN)
