"""Outbound calls, as outbox lanes: order events to webhook subscribers, and exporter runs (an order document to a
webhook exporter, or an XML extract).

Both are signed like the inbound store webhooks (`Baton-Signature`) and carry `Baton-Event-Id`. Every attempt is
written to the delivery log or the export audit, and a delivery already made is never made again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from activities.delivery import Posted, Step, in_db, out_of_time, post
from activities.extracts import extract_documents
from models.db import exports, extracts, merchants, outbound, outbox
from models.db.orders import get_order_record
from models.db.tables import OrderEventRow, OrderExportRow, WebhookDeliveryRow, WebhookSubscriberRow
from models.exporting import ExporterConfig, base_state, delivery_of
from models.extracts import ExtractType
from models.outbound import EVENT_ID_HEADER
from models.outbox import Answer, expired, subscriber_lane
from models.sealing import SecretSeal, subscriber_secret_owner
from models.settings import Settings
from models.signing import SIGNATURE_HEADER, sign
from models.transition import ExtractToMake
from models.views import ExtractOrder

FINAL = ("delivered", "refused", "failed")


def _now() -> datetime:
    return datetime.now(UTC)


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class SubscriberLane:
    """Order events to one webhook subscriber in outbox order (its place kept in outbox_cursors), and Head Office's
    resends of them; events of types it did not subscribe to only move it on."""

    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings, subscriber_id: str) -> None:
        self._engine, self._http, self._settings = engine, http, settings
        self._id = subscriber_id
        self._lane = subscriber_lane(subscriber_id)
        self._seal, self._owner = SecretSeal.from_settings(settings), subscriber_secret_owner(subscriber_id)

    async def step(self, deadline: float) -> Step:
        subscriber = await in_db(self._engine, lambda s: outbound.get_subscriber(s, self._id))
        if subscriber is None or not subscriber.active:
            return Step(retired=True)
        step = Step()
        resends = await in_db(self._engine, lambda s: outbound.pending_resends(s, self._id, self._batch))
        for resend in resends:
            if out_of_time(deadline):
                step.more = True
                return step
            if not await self._attempt(subscriber, resend, resend.created_at, step):
                return step
        position = await in_db(self._engine, self._position)
        events = await in_db(self._engine, lambda s: outbox.events_after(s, position, self._batch))
        numbers = {event.order_number for event in events}
        # A merchant's subscriber hears of its own child orders only (models/db/merchants.py); others of every order.
        mine = (
            await in_db(self._engine, lambda s: merchants.subscriber_orders_among(s, self._id, numbers))
            if events
            else None
        )
        step.more = len(events) == self._batch
        done = position  # the last event this step is finished with
        for event in events:
            if out_of_time(deadline):
                step.more = True
                break
            number = event.id or 0
            if event.type not in subscriber.event_types or (mine is not None and event.order_number not in mine):
                step.skipped, done = step.skipped + 1, number
                continue

            def delivery(session: Session, event: OrderEventRow = event) -> WebhookDeliveryRow:
                return outbound.event_delivery(session, self._id, event, _now())

            row = await in_db(self._engine, delivery)
            if row.status not in FINAL:  # (a final one was finished by a relay that stopped before moving on)
                if not await self._attempt(subscriber, row, event.created_at, step, (position, number)):
                    await self._move(position, done)  # the skipped events before it stay done
                    return step
                position = number
            done = number
        await self._move(position, done)
        return step

    @property
    def _batch(self) -> int:
        return self._settings.outbox_batch_size

    def _position(self, session: Session) -> int:
        position = outbox.cursor(session, self._lane)
        return position if position is not None else outbox.start_cursor(session, self._lane, _now())

    async def _move(self, was: int, to: int) -> None:
        if to != was:

            def move(session: Session) -> None:
                outbox.move_cursor(session, self._lane, was, to, _now())
                session.commit()

            await in_db(self._engine, move)

    async def _attempt(
        self,
        subscriber: WebhookSubscriberRow,
        row: WebhookDeliveryRow,
        entered_at: datetime,
        step: Step,
        cursor: tuple[int, int] | None = None,
    ) -> bool:
        """One attempt at a logged delivery; True when it is finished with (the cursor moved on with it)."""
        body = _json(row.payload)
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: row.event_id,
            SIGNATURE_HEADER: sign(self._seal.open(subscriber.secret, self._owner), body, int(time.time())),
        }
        posted = await post(self._http, subscriber.url, body, headers, self._settings.outbound_timeout_seconds)
        now = _now()
        status, detail = _status(posted, expired(entered_at, now, self._settings.outbound_retry_horizon_seconds))

        def record(session: Session) -> bool:
            outbound.count_delivery_attempt(
                session, row.delivery_id, status, posted.status_code, detail or None, now, commit=False
            )
            moved = status == "retrying" or cursor is None or outbox.move_cursor(session, self._lane, *cursor, now)
            session.commit()
            return moved

        moved = await in_db(self._engine, record)
        if status == "retrying":
            step.failing = f"{row.delivery_id}: {detail}"
            return False
        if status == "delivered":
            step.delivered += 1
        else:
            step.given_up += 1
        if not moved:  # another copy of this relay moved the lane on: read it again
            step.more = True
        return moved


def _status(posted: Posted, past_horizon: bool) -> tuple[str, str]:
    if posted.answer is Answer.delivered:
        return "delivered", ""
    if posted.answer is Answer.refused:
        return "refused", posted.detail
    if past_horizon:
        return "failed", f"{posted.detail}; gave up: still failing past the retry horizon"
    return "retrying", posted.detail


class ExporterLane:
    """One exporter's runs, in the order they were queued: a webhook exporter POSTs the order document (the read
    model's view) to its url; an xml_extract exporter keeps an extract of the order as it was when the state was
    reached, and succeeds once it is delivered (by the extracts lane) or kept (no destination configured). A run
    that succeeds and sets a state queues the exporters bound to that state."""

    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings, name: str) -> None:
        self._engine, self._http, self._settings = engine, http, settings
        self._config: ExporterConfig | None = next((e for e in settings.exporters if e.name == name), None)
        self._name = name
        self._refs = [exporter.ref() for exporter in settings.exporters]
        self._has_destination = bool(settings.extract_drop_folder or settings.extract_http_url)

    async def step(self, deadline: float) -> Step:
        if self._config is None:
            return Step(retired=True)
        batch = self._settings.outbox_batch_size
        runs = await in_db(self._engine, lambda s: exports.next_runs(s, self._name, batch))
        step = Step(more=len(runs) == batch)
        for run in runs:
            if out_of_time(deadline):
                step.more = True
                break
            if self._config.kind == "webhook":
                finished = await self._webhook(self._config, run, step)
            else:
                finished = await self._xml_extract(run, step)
            if not finished:
                step.more = False
                return step
        return step

    async def _finish(self, run: OrderExportRow, outcome: str, detail: str, step: Step) -> bool:
        def finish(session: Session) -> list[str]:
            return exports.finish_run(session, run.run_id, outcome, detail, _now(), self._refs)

        await in_db(self._engine, finish)
        if outcome == "succeeded":
            step.delivered += 1
        else:
            step.given_up += 1
        return True

    async def _webhook(self, config: ExporterConfig, run: OrderExportRow, step: Step) -> bool:
        started = await in_db(self._engine, lambda s: exports.begin_attempt(s, run.run_id, _now()))
        if started is None:
            return True  # finished meanwhile
        record, reached = await in_db(
            self._engine,
            lambda s: (get_order_record(s, run.order_number), exports.export_state(s, run.order_number, run.state)),
        )
        if record is None:
            posted = Posted(Answer.retry, None, f"order {run.order_number} is not in the read model yet")
        else:
            occurred_at = reached.occurred_at if reached else started.started_at
            document = {
                "export_id": run.run_id,
                "exporter": config.name,
                "state": base_state(run.state),
                "order_number": run.order_number,
                "occurred_at": occurred_at.isoformat(),
                "order": record.view,
            }
            if (delivery_id := delivery_of(run.state)) is not None:
                document["delivery_id"] = delivery_id  # DELIVERY runs once per delivery: which one
            body = _json(document)
            headers = {"Content-Type": "application/json", EVENT_ID_HEADER: run.run_id}
            if config.secret is not None:
                headers[SIGNATURE_HEADER] = sign(config.secret.get_secret_value(), body, int(time.time()))
            posted = await post(self._http, config.url or "", body, headers, self._settings.outbound_timeout_seconds)
        past = expired(started.started_at, _now(), self._settings.outbound_retry_horizon_seconds)
        status, detail = _status(posted, past)
        if status == "retrying":
            await in_db(self._engine, lambda s: exports.note_failed_attempt(s, run.run_id, detail))
            step.failing = f"{run.run_id}: {detail}"
            return False
        return await self._finish(run, "succeeded" if status == "delivered" else "failed", detail, step)

    async def _xml_extract(self, run: OrderExportRow, step: Step) -> bool:
        extract = await in_db(self._engine, lambda s: extracts.get_extract(s, run.run_id))
        if extract is None:
            problem = await in_db(self._engine, lambda s: self._make_extract(s, run))
            if problem:
                return await self._finish(run, "failed", problem, step)
            if self._has_destination:
                return False  # the extracts lane delivers it; this run succeeds when it has
        if extract is None or not self._has_destination or extract.delivered_at is not None:
            return await self._finish(run, "succeeded", "", step)
        if extract.failed_at is not None:
            return await self._finish(run, "failed", extract.last_error or "extract not delivered", step)
        return False  # still being delivered

    def _make_extract(self, session: Session, run: OrderExportRow) -> str:
        """Build the run's extract from the order as it was when its state was reached and keep it in the outbox
        (delivered by the extracts lane); why it could not be made, or ""."""
        assert self._config is not None
        if exports.begin_attempt(session, run.run_id, _now()) is None:
            return ""
        reached = exports.export_state(session, run.order_number, run.state)
        if reached is None or reached.snapshot is None:
            return "no order snapshot to build the extract from"
        try:
            extract_type = ExtractType(self._config.extract_type or ExtractType.order_export)
        except ValueError:
            return f"unknown extract type {self._config.extract_type!r}"
        wanted = ExtractToMake(extract_id=run.run_id, type=extract_type, occurred_at=reached.occurred_at)
        made, problems = extract_documents(session, ExtractOrder.model_validate(reached.snapshot), [wanted])
        for extract, payload in made:
            extracts.add_extract(
                session, extract.extract_id, run.order_number, extract.type.value, extract.occurred_at, payload, _now()
            )
        session.commit()
        return problems.get(run.run_id, "")
