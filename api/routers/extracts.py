"""XML notification extracts: third-party processes list them and fetch each document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from api.deps import Caller, SessionDep, visible_channels
from api.params import search_text
from api.problems import Forbidden, NotFound, field_error
from models.db.extracts import get_extract, list_extracts
from models.db.orders import get_order_record
from models.db.tables import NotificationExtractRow
from models.extracts import EXTRACT_ID_PATTERN, ExtractType
from models.settings import ApiKeyHolder, Role

router = APIRouter(prefix="/extracts", tags=["notification extracts"])


def _extract_reader(caller: Caller) -> ApiKeyHolder:
    # Extracts carry customers' names and contact details: the same callers that read whole orders.
    if caller.role is Role.store:
        raise Forbidden("extracts are read with a Head Office or channel key", type_="forbidden")
    return caller


ExtractReader = Annotated[ApiKeyHolder, Depends(_extract_reader)]


class ExtractSummary(BaseModel):
    extract_id: str
    order_number: str
    type: ExtractType
    occurred_at: datetime
    created_at: datetime
    delivery_attempts: int
    delivered_at: datetime | None
    delivered_to: list[str]
    last_error: str | None
    href: str  # the XML document


class ExtractList(BaseModel):
    items: list[ExtractSummary]
    limit: int


@router.get("", response_model=ExtractList)
def list_notification_extracts(
    session: SessionDep,
    _reader: ExtractReader,
    order_number: Annotated[str | None, search_text(max_length=32)] = None,
    type: Annotated[ExtractType | None, Query(description="only extracts of this type")] = None,
    since: Annotated[
        datetime | None,
        Query(description="only extracts made at or after this moment (with a time zone); page on with the last one's"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ExtractList:
    """Extracts, oldest first: who they are for, their type, and how their delivery went."""
    if since is not None and since.utcoffset() is None:
        raise field_error("since", "give a time zone, e.g. 2026-11-22T10:00:00Z")
    if since is not None:
        try:
            since = since.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first moment a datetime can hold in UTC
            raise field_error("since", "out of range: give a moment between the years 1 and 9999 in UTC") from None
    rows = list_extracts(
        session,
        order_number=order_number,
        extract_type=type.value if type else None,
        since=since,
        limit=limit,
        channels=visible_channels(_reader),  # a channel-bound key: its channels' orders only
    )
    return ExtractList(items=[_summary(row) for row in rows], limit=limit)


@router.get(
    "/{extract_id}",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "the extract document"}},
)
def get_notification_extract(
    extract_id: Annotated[str, Path(pattern=EXTRACT_ID_PATTERN)], session: SessionDep, _reader: ExtractReader
) -> Response:
    """One extract's XML document (schema: models/schemas/order-notification.xsd)."""
    row = get_extract(session, extract_id)
    if row is not None and (channels := visible_channels(_reader)) is not None:
        order = get_order_record(session, row.order_number)
        row = row if order is not None and order.channel in channels else None  # another channel's: not found
    if row is None:
        raise NotFound(f"extract {extract_id} not found", type_="extract-not-found")
    return Response(content=row.payload.encode(), media_type="application/xml")


def _summary(row: NotificationExtractRow) -> ExtractSummary:
    return ExtractSummary(
        extract_id=row.extract_id,
        order_number=row.order_number,
        type=ExtractType(row.type),
        occurred_at=row.occurred_at,
        created_at=row.created_at,
        delivery_attempts=row.delivery_attempts,
        delivered_at=row.delivered_at,
        delivered_to=list(row.delivered_to),
        last_error=row.last_error,
        href=f"/extracts/{row.extract_id}",
    )
