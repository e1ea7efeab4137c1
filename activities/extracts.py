"""XML notification extracts: build one into the outbox, deliver it to a drop folder and/or an HTTP endpoint.

Both are idempotent. The outbox keeps one extract per extract id. A file already in the drop folder is not
written again, and a file appears there whole or not at all (written beside it, then renamed). The HTTP
endpoint gets the extract id as its Idempotency-Key, to de-duplicate a POST whose answer was lost.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import build_extract, validate_extract
from models.db.catalogue import get_store, products_by_sku
from models.db.extracts import add_extract, get_extract, record_delivery_attempt
from models.db.tables import NotificationExtractRow
from models.extracts import CreateExtract, ExtractDelivery, ExtractInvalid, extract_file_name
from models.settings import Settings

XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class ExtractDestinations:
    """Where extracts go; neither set means third parties read them from the API only."""

    drop_folder: Path | None = None
    http_url: str | None = None
    http_timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractDestinations:
        return cls(settings.extract_drop_folder, settings.extract_http_url, settings.extract_http_timeout_seconds)


class ExtractActivities:
    def __init__(self, engine: Engine, http: httpx.AsyncClient, destinations: ExtractDestinations) -> None:
        self._engine = engine
        self._http = http
        self._destinations = destinations

    @activity.defn
    def create_extract(self, request: CreateExtract) -> str:
        """Build and validate the extract and keep it in the outbox once; returns its id."""
        order = request.order
        with Session(self._engine) as session:
            if get_extract(session, request.extract_id) is not None:
                return request.extract_id  # made before: the document first kept is the one delivered
            store = get_store(session, order.store_id)
            products = products_by_sku(session, {line.sku for line in order.lines})
        try:
            payload = build_extract(
                request.extract_id,
                request.type,
                order,
                request.occurred_at,
                store_name=store.name if store else None,
                descriptions={sku: product.name for sku, product in products.items()},
                reason=request.reason,
            )
            validate_extract(payload)
        except (ExtractInvalid, ValueError) as error:
            # The same order builds the same document on every retry: retrying cannot help.
            raise ApplicationError(str(error), type="extract_invalid", non_retryable=True) from error
        with Session(self._engine) as session:
            add_extract(session, request, payload.decode(), datetime.now(UTC))
        return request.extract_id

    @activity.defn
    async def deliver_extract(self, extract_id: str) -> ExtractDelivery:
        """Write the extract to the drop folder and/or POST it to the endpoint; every attempt is recorded in the
        outbox, and a failed one raises so Temporal retries it with backoff."""
        row = await asyncio.to_thread(self._load, extract_id)
        if row is None:
            raise ApplicationError(
                f"extract {extract_id} is not in the outbox", type="extract_not_found", non_retryable=True
            )
        if row.delivered_at is not None:
            return _delivery(row, "delivered before")
        folder, url = self._destinations.drop_folder, self._destinations.http_url
        if folder is None and url is None:
            return ExtractDelivery(
                extract_id=extract_id,
                delivered=False,
                detail="no drop folder or HTTP endpoint configured; see /extracts",
            )
        reached: list[str] = []
        failures: list[ApplicationError] = []
        if folder is not None:
            name = extract_file_name(row.order_number, row.type, row.extract_id)
            try:
                await asyncio.to_thread(write_atomically, folder, name, row.payload.encode())
                reached.append(str(folder / name))
            except OSError as error:
                failures.append(ApplicationError(f"drop folder {folder}: {error}", type="extract_drop_failed"))
        if url is not None:
            try:
                await self._post(url, row)
                reached.append(url)
            except ApplicationError as error:
                failures.append(error)
        detail = "; ".join(failure.message for failure in failures) or None
        row = await asyncio.to_thread(self._record, extract_id, reached, detail)
        if failures:
            raise ApplicationError(
                detail or "",
                type=failures[0].type,
                # Retry unless every destination refused the extract outright.
                non_retryable=all(failure.non_retryable for failure in failures),
            )
        return _delivery(row, "delivered")

    async def _post(self, url: str, row: NotificationExtractRow) -> None:
        headers = {
            "Content-Type": XML,
            "Idempotency-Key": row.extract_id,
            "Baton-Extract-Id": row.extract_id,
            "Baton-Extract-Type": row.type,
            "Baton-Order-Number": row.order_number,
        }
        try:
            response = await self._http.post(
                url, content=row.payload.encode(), headers=headers, timeout=self._destinations.http_timeout_seconds
            )
        except httpx.HTTPError as error:
            raise ApplicationError(f"{url} unreachable: {error!r}", type="extract_endpoint_unreachable") from error
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ApplicationError(f"{url} answered {response.status_code}", type="extract_endpoint_unavailable")
        if response.status_code >= 400:
            # The endpoint refused the document itself; sending it again will not change its mind.
            raise ApplicationError(
                f"{url} refused the extract with {response.status_code}", type="extract_refused", non_retryable=True
            )

    def _load(self, extract_id: str) -> NotificationExtractRow | None:
        with Session(self._engine) as session:
            return get_extract(session, extract_id)

    def _record(self, extract_id: str, reached: list[str], error: str | None) -> NotificationExtractRow:
        with Session(self._engine) as session:
            return record_delivery_attempt(session, extract_id, reached=reached, error=error, now=datetime.now(UTC))


def write_atomically(folder: Path, name: str, payload: bytes) -> bool:
    """Write `folder/name` whole or not at all (a hidden temp file, synced, then renamed); a file already
    there is left alone. True if written."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        return False
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _delivery(row: NotificationExtractRow, detail: str) -> ExtractDelivery:
    return ExtractDelivery(
        extract_id=row.extract_id,
        delivered=True,
        delivered_to=list(row.delivered_to),
        attempts=row.delivery_attempts,
        detail=detail,
    )
