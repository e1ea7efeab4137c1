"""XML notification extracts: their documents (built with the change that makes them, in the commit activity), and
the `extracts` outbox lane that delivers them to a drop folder and/or an HTTP endpoint.

Delivery is idempotent. A file already in the drop folder is not written again, and a file appears there whole or
not at all (written beside it, then renamed). The HTTP endpoint gets the extract id as its Idempotency-Key, to
de-duplicate a POST whose answer was lost. A destination that is down is retried, backing off, for three days.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from activities.delivery import Step, in_db, out_of_time, post
from activities.notifications import build_extract, validate_extract
from models.db.catalogue import get_store, products_by_sku
from models.db.extracts import DeliveryAttempt, pending_extracts, record_delivery_attempts
from models.db.tables import NotificationExtractRow
from models.extracts import ExtractInvalid, extract_file_name
from models.outbox import Answer, expired
from models.settings import Settings
from models.transition import ExtractToMake
from models.views import ExtractOrder

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

    @property
    def configured(self) -> bool:
        return self.drop_folder is not None or self.http_url is not None


def extract_documents(
    session: Session, order: ExtractOrder, wanted: list[ExtractToMake]
) -> tuple[list[tuple[ExtractToMake, str]], dict[str, str]]:
    """The validated documents of `wanted`, with the store's name and the products' descriptions; and, by extract
    id, why one could not be made (the same order makes the same document every time: retrying cannot help)."""
    store = get_store(session, order.store_id)
    products = products_by_sku(session, {line.sku for line in order.lines})
    descriptions = {sku: product.name for sku, product in products.items()}
    made, problems = [], {}
    for extract in wanted:
        try:
            payload = build_extract(
                extract.extract_id, extract.type, order, extract.occurred_at,
                store_name=store.name if store else None, descriptions=descriptions,
            )  # fmt: skip
            validate_extract(payload)
        except (ExtractInvalid, ValueError) as error:
            problems[extract.extract_id] = f"extract not made: {error}"
            continue
        made.append((extract, payload.decode()))
    return made, problems


class ExtractLane:
    """Extracts not delivered yet, in the order they were made, to the drop folder and/or the HTTP endpoint."""

    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings) -> None:
        self._engine, self._http, self._settings = engine, http, settings
        self._destinations = ExtractDestinations.from_settings(settings)

    async def step(self, deadline: float) -> Step:
        if not self._destinations.configured:
            return Step(retired=True)
        batch = self._settings.outbox_batch_size
        rows = await in_db(self._engine, lambda s: pending_extracts(s, batch))
        step = Step(more=len(rows) == batch)
        attempts: list[DeliveryAttempt] = []
        for row in rows:
            if out_of_time(deadline):
                step.more = True
                break
            reached, problems, refused = await self._deliver(row)
            now = datetime.now(UTC)
            detail = "; ".join(problems) or None
            give_up = bool(problems) and (refused or expired(row.created_at, now, self._horizon))
            if give_up and not refused:
                detail = f"{detail}; gave up: still failing past the retry horizon"
            attempts.append(DeliveryAttempt(row.extract_id, reached, detail, now, failed=give_up))
            if not problems:
                step.delivered += 1
            elif give_up:
                step.given_up += 1
            else:
                step.failing, step.more = f"{row.extract_id}: {detail}", False
                break
        # Recorded after the batch: a crash in between delivers those extracts again, which the drop folder (same
        # file name) and the endpoint (same Idempotency-Key) both absorb.
        if attempts:
            await in_db(self._engine, partial(record_delivery_attempts, attempts=attempts))
        return step

    @property
    def _horizon(self) -> float:
        return self._settings.extract_delivery_horizon_seconds

    async def _deliver(self, row: NotificationExtractRow) -> tuple[list[str], list[str], bool]:
        """Where it got to, what went wrong, and whether every destination that failed refused it outright."""
        folder, url = self._destinations.drop_folder, self._destinations.http_url
        reached: list[str] = []
        problems: list[str] = []
        refused = True
        name = extract_file_name(row.order_number, row.type, row.extract_id)
        if folder is not None and str(folder / name) not in row.delivered_to:
            try:
                await asyncio.to_thread(write_atomically, folder, name, row.payload.encode())
                reached.append(str(folder / name))
            except OSError as error:
                problems.append(f"drop folder {folder}: {error}")
                refused = False
        if url is not None and url not in row.delivered_to:
            headers = {
                "Content-Type": XML,
                "Idempotency-Key": row.extract_id,
                "Baton-Extract-Id": row.extract_id,
                "Baton-Extract-Type": row.type,
                "Baton-Order-Number": row.order_number,
            }
            timeout = self._destinations.http_timeout_seconds
            posted = await post(self._http, url, row.payload.encode(), headers, timeout)
            if posted.answer is Answer.delivered:
                reached.append(url)
            else:
                problems.append(f"{url} {posted.detail}")
                refused = refused and posted.answer is Answer.refused
        return reached, problems, refused


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
