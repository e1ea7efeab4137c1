"""Which stores are online: each store's link as its link workflow last recorded it, and every change.
Each takes an open Session."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from models.db.tables import LocationRow, StoreLinkChangeRow, StoreLinkRow
from models.store_link import LinkChange, LinkState, StoreLink, StoreLinkDetail, StoreLinkRecord, StoreLinkView


def _view(location: LocationRow, row: StoreLinkRow | None) -> StoreLinkView:
    return StoreLinkView(
        store_id=location.store_id,
        name=location.name,
        kind=location.kind,
        state=LinkState(row.state) if row else LinkState.unmonitored,
        since=row.since if row else None,
        last_heartbeat_at=row.last_heartbeat_at if row else None,
    )


def link_state(session: Session, store_id: str) -> tuple[LinkState, datetime | None]:
    """The store's link state and since when; unmonitored (None) when it never sent a heartbeat."""
    row = session.get(StoreLinkRow, store_id)
    return (LinkState(row.state), row.since) if row else (LinkState.unmonitored, None)


def list_links(session: Session) -> list[StoreLinkView]:
    query = (
        select(LocationRow, StoreLinkRow)
        .join(StoreLinkRow, col(StoreLinkRow.store_id) == col(LocationRow.store_id), isouter=True)
        .order_by(col(LocationRow.store_id))
    )
    return [_view(location, row) for location, row in session.exec(query)]


def get_link(session: Session, store_id: str) -> StoreLinkDetail | None:
    location = session.get(LocationRow, store_id)
    if location is None:
        return None
    changes = session.exec(
        select(StoreLinkChangeRow)
        .where(StoreLinkChangeRow.store_id == store_id)
        .order_by(col(StoreLinkChangeRow.at), col(StoreLinkChangeRow.change_id))
    )
    return StoreLinkDetail(
        **_view(location, session.get(StoreLinkRow, store_id)).model_dump(),
        changes=[
            LinkChange(
                change_id=c.change_id,
                store_id=c.store_id,
                state=LinkState(c.state),
                previous=LinkState(c.previous),
                at=c.at,
                detail=c.detail,
            )
            for c in changes
        ],
    )


def load_link(session: Session, store_id: str) -> StoreLink:
    """The last recorded link of a store, for a link workflow that starts without one."""
    row = session.get(StoreLinkRow, store_id)
    changes = session.exec(
        select(func.count()).select_from(StoreLinkChangeRow).where(StoreLinkChangeRow.store_id == store_id)
    ).one()
    if row is None:
        return StoreLink(store_id=store_id, changes=changes)
    return StoreLink(
        store_id=store_id,
        state=LinkState(row.state),
        since=row.since,
        last_heartbeat_at=row.last_heartbeat_at,
        changes=changes,
    )


def save_link(session: Session, record: StoreLinkRecord) -> None:
    """Write the link and its change in one transaction; a change already written is not written again."""
    link, change = record.link, record.change
    if link.state is LinkState.unmonitored or link.since is None:
        return
    row = session.get(StoreLinkRow, link.store_id) or StoreLinkRow(
        store_id=link.store_id, state=link.state.value, since=link.since
    )
    row.state, row.since, row.last_heartbeat_at = link.state.value, link.since, link.last_heartbeat_at
    session.add(row)
    if change is not None and session.get(StoreLinkChangeRow, change.change_id) is None:
        session.add(
            StoreLinkChangeRow(
                change_id=change.change_id,
                store_id=change.store_id,
                state=change.state.value,
                previous=change.previous.value,
                at=change.at,
                detail=change.detail[:500],
            )
        )
    session.commit()
