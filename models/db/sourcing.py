"""What sourcing needs from the database: every location with its link state and its available stock of the SKUs
asked for, in two queries. The choice itself is the pure models/sourcing.py. Takes an open Session."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.catalogue import LocationKind
from models.db.tables import LocationRow, StockLevelRow, StoreLinkRow
from models.sourcing import Candidate
from models.store_link import LinkState


def candidates(session: Session, skus: set[str]) -> list[Candidate]:
    """Every location (store or warehouse), online unless its link monitor says offline, with its stock on hand
    less reserved of each SKU."""
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
        )
        for location, link in rows
    }
    levels = session.exec(select(StockLevelRow).where(col(StockLevelRow.sku).in_(sorted(skus))))
    for level in levels:
        candidate = found.get(level.location_id)
        if candidate is not None:
            candidate.available[level.sku] = max(0, level.on_hand - level.reserved)
    return list(found.values())
