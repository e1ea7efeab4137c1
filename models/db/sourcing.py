"""What sourcing needs from the database: every location with its link state and its available stock of the SKUs
asked for, in two queries. The choice itself is the pure models/sourcing.py. Takes an open Session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.calendar import LocationCalendar, minutes_until_open
from models.catalogue import LocationKind
from models.db.policies import get_sla_policy
from models.db.tables import LocationRow, StockLevelRow, StockReservationRow, StoreLinkRow
from models.sourcing import Candidate
from models.store_link import LinkState


def candidates(session: Session, skus: set[str], now: datetime | None = None) -> list[Candidate]:
    """Every location (store or warehouse), online unless its link monitor says offline, with its stock on hand
    less reserved of each SKU, and how soon it opens by its calendar (its own, or the global one)."""
    now = now or datetime.now(UTC)
    global_calendar = get_sla_policy(session).calendar
    rows = session.exec(
        select(LocationRow, StoreLinkRow)
        .join(StoreLinkRow, col(StoreLinkRow.store_id) == col(LocationRow.store_id), isouter=True)
        .order_by(col(LocationRow.store_id))
    )
    found = {
        location.store_id: Candidate(
            location_id=location.store_id,
            kind=LocationKind(location.kind),
            online=LinkState(link.state) is not LinkState.offline if link else True,
            opens_in_minutes=_opens_in(location.sla_overrides, global_calendar, now),
        )
        for location, link in rows
    }
    levels = session.exec(select(StockLevelRow).where(col(StockLevelRow.sku).in_(sorted(skus))))
    for level in levels:
        candidate = found.get(level.location_id)
        if candidate is not None:
            candidate.available[level.sku] = max(0, level.on_hand - level.reserved)
    return list(found.values())


def count_own_reservations(
    session: Session, candidates: list[Candidate], order_number: str, line_ids: set[str]
) -> None:
    """Count these lines' own reservations as available where they are held: sourcing a delivery again after its
    stock was reserved (a retried attempt) then chooses the same location, where reserving again changes nothing."""
    by_id = {candidate.location_id: candidate for candidate in candidates}
    rows = session.exec(
        select(StockReservationRow).where(
            StockReservationRow.order_number == order_number,
            col(StockReservationRow.line_id).in_(sorted(line_ids)),
            StockReservationRow.status == "reserved",
        )
    )
    for row in rows:
        candidate = by_id.get(row.location_id)
        if candidate is not None:
            candidate.available[row.sku] = candidate.available.get(row.sku, 0) + row.quantity


def _opens_in(overrides: dict[str, Any], global_calendar: LocationCalendar | None, now: datetime) -> int | None:
    own = overrides.get("calendar") if overrides else None
    calendar = LocationCalendar.model_validate(own) if own else global_calendar
    return 0 if calendar is None else minutes_until_open(calendar, now)
