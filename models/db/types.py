"""The one column type for moments in time: timezone-aware UTC going in and coming out, on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that refuses naive datetimes and hands back aware UTC ones.

    PostgreSQL keeps the offset; SQLite keeps the wall time without it and hands back naive datetimes. Writing
    UTC and reading it back as UTC makes both behave the same, and ordering by the column follows time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: Baton stores timezone-aware UTC moments only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # SQLite: stored in UTC, returned without the zone
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool | None = None) -> Any:
    """A column of UtcDateTime, for `Field(sa_column=...)`."""
    return Column(UtcDateTime(), nullable=nullable, index=index)
