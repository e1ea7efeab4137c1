"""Store links (Head Office): which stores are online, offline or unmonitored, and each one's history."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import HeadOffice, SessionDep
from api.problems import NotFound
from api.routers.stores import StoreId
from models.db.store_links import get_link, list_links
from models.store_link import StoreLinkDetail, StoreLinkView

router = APIRouter(tags=["store links"])


@router.get("/stores/links", response_model=list[StoreLinkView])
def list_store_links(session: SessionDep, _ho: HeadOffice) -> list[StoreLinkView]:
    """Every location's link: online, offline or unmonitored (never sent a heartbeat), since when, last heartbeat."""
    return list_links(session)


@router.get("/stores/{store_id}/link", response_model=StoreLinkDetail)
def get_store_link(store_id: StoreId, session: SessionDep, _ho: HeadOffice) -> StoreLinkDetail:
    """One store's link and its history of going offline and online, oldest first."""
    link = get_link(session, store_id)
    if link is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    return link
