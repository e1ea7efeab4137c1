"""Where stock is kept: a store (serves customers, may ship) or a warehouse (ships only). Its own module so the
order and its sourcing rules name location kinds without importing the catalogue."""

from __future__ import annotations

from enum import StrEnum


class LocationKind(StrEnum):
    store = "store"
    warehouse = "warehouse"
