"""Store system calls, as an outbox lane: messages to a store's webhook, in the order they were written, signed with
the store's secret. A store without a webhook_url reads its orders from the API; a message the store refuses, or
that still fails after store_message_horizon_seconds, is failed and its order is told (store_message_failed)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from activities.delivery import Step, in_db, out_of_time, post
from models.db.catalogue import store_webhook
from models.db.outbox import pending_store_messages, record_store_attempt
from models.db.tables import StoreMessageRow
from models.order import StoreMessageFailed, order_workflow_id
from models.outbound import EVENT_ID_HEADER
from models.outbox import STORE_MESSAGE_FAILED_SIGNAL, Answer, expired
from models.sealing import SecretSeal, store_secret_owner
from models.settings import Settings
from models.signing import SIGNATURE_HEADER, sign

NO_ENDPOINT = "store has no webhook_url; it reads its orders from the API"


class StoreLane:
    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings, store_id: str) -> None:
        self._engine, self._http, self._settings = engine, http, settings
        self._store_id = store_id

    async def step(self, deadline: float) -> Step:
        batch = self._settings.outbox_batch_size
        messages = await in_db(self._engine, lambda s: pending_store_messages(s, self._store_id, batch))
        step = Step(more=len(messages) == batch)
        if not messages:
            return step
        url, stored_secret = await in_db(self._engine, lambda s: store_webhook(s, self._store_id))
        seal = SecretSeal.from_settings(self._settings)
        secret = seal.open(stored_secret, store_secret_owner(self._store_id)) if stored_secret else None
        for message in messages:
            if out_of_time(deadline):
                step.more = True
                break
            if not url:
                await self._record(message, "no_endpoint", NO_ENDPOINT, attempted=False)
                _count_push("no_webhook_url")
                step.given_up += 1
                continue
            failing = await self._push(message, url, secret, step)
            if failing:
                step.failing, step.more = f"{message.message_id}: {failing}", False
                return step
        return step

    async def _push(self, message: StoreMessageRow, url: str, secret: str | None, step: Step) -> str:
        """One attempt at the message; why it is to be retried, or "" when it is finished with."""
        body = json.dumps(
            {"event_id": message.message_id, "type": message.type, "order": message.body}, separators=(",", ":")
        ).encode()
        headers = {"Content-Type": "application/json", EVENT_ID_HEADER: message.message_id}
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
        posted = await post(self._http, url, body, headers, self._settings.store_push_timeout_seconds)
        _count_push(_OUTCOMES[posted.answer] if posted.status_code is not None else "store_unreachable")
        if posted.answer is Answer.delivered:
            await self._record(message, "delivered", None)
            step.delivered += 1
            return ""
        detail = f"store endpoint {posted.detail}"
        horizon = self._settings.store_message_horizon_seconds
        if posted.answer is Answer.retry and not expired(message.created_at, datetime.now(UTC), horizon):
            await self._record(message, "pending", detail)
            return detail
        if posted.answer is Answer.retry:
            detail += f"; gave up after {horizon:g} s"
        # The order hears of it first: if this relay stops before marking the message, the next one tells again.
        await self._tell_order(message, detail)
        await self._record(message, "failed", detail)
        step.given_up += 1
        return ""

    async def _record(self, message: StoreMessageRow, status: str, error: str | None, attempted: bool = True) -> None:
        now, key = datetime.now(UTC), message.message_id
        await in_db(self._engine, lambda s: record_store_attempt(s, key, status, error, now, attempted=attempted))

    async def _tell_order(self, message: StoreMessageRow, detail: str) -> None:
        """Signal the order's workflow that the store did not get the message (store_unreachable alert)."""
        failure = StoreMessageFailed(message_id=message.message_id, store_id=message.store_id, detail=detail)
        handle = activity.client().get_workflow_handle(order_workflow_id(message.order_number))
        try:
            await handle.signal(STORE_MESSAGE_FAILED_SIGNAL, failure)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # the order's workflow has ended: nobody to alert
                raise


_OUTCOMES = {Answer.delivered: "delivered", Answer.retry: "store_unavailable", Answer.refused: "store_refused"}


def _count_push(outcome: str) -> None:
    """baton_store_pushes{outcome} on the worker's Prometheus endpoint, one per attempt (a no-op without metrics):
    delivered, no_webhook_url, store_unreachable, store_unavailable, store_refused."""
    activity.metric_meter().create_counter("baton_store_pushes", "Pushes of orders to store webhooks").add(
        1, {"outcome": outcome}
    )
