"""Store system calls: push orders and order updates to a store's webhook, signed with its secret."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.db.catalogue import store_webhook
from models.order import OrderState
from models.signing import SIGNATURE_HEADER, sign


class StorePush(BaseModel):
    """One message to a store; `event_id` is derived from the workflow so the store can de-duplicate."""

    event_id: str
    type: str  # order_created | order_updated | order_cancelled | order_prompt | transfer_incoming
    order: OrderState
    store_id: str | None = None  # who to tell, when not the order's store (the store an order moved away from)


class StoreDelivery(BaseModel):
    delivered: bool
    url: str | None = None
    status_code: int | None = None
    detail: str = ""


class StoreActivities:
    def __init__(self, engine: Engine, http: httpx.AsyncClient) -> None:
        self._engine = engine
        self._http = http

    @activity.defn
    async def push_to_store(self, push: StorePush) -> StoreDelivery:
        """POST the order to the store's webhook_url; a store without one reads orders from the API."""
        try:
            delivery = await self._push(push)
        except ApplicationError as error:
            _count_push(error.type or "failed")  # each failed attempt: store_unreachable, _unavailable, _refused
            raise
        except Exception:
            _count_push("error")
            raise
        _count_push("delivered" if delivery.delivered else "no_webhook_url")
        return delivery

    async def _push(self, push: StorePush) -> StoreDelivery:
        with Session(self._engine) as session:
            url, secret = store_webhook(session, push.store_id or push.order.store_id)
        if not url:
            return StoreDelivery(delivered=False, detail="store has no webhook_url; order is listed for it in the API")
        body = json.dumps(
            {"event_id": push.event_id, "type": push.type, "order": order_view_json(push.order)},
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "Baton-Event-Id": push.event_id}
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ApplicationError(f"store endpoint unreachable: {error!r}", type="store_unreachable") from error
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ApplicationError(f"store endpoint answered {response.status_code}", type="store_unavailable")
        if response.status_code >= 400:
            # The store refused the message itself; sending it again will not change its mind.
            raise ApplicationError(
                f"store endpoint refused the push with {response.status_code}",
                type="store_refused",
                non_retryable=True,
            )
        return StoreDelivery(delivered=True, url=url, status_code=response.status_code)


def order_view_json(state: OrderState) -> dict[str, Any]:
    """The order as a store push carries it."""
    return state.model_dump(mode="json", exclude={"seen_event_ids"})


def _count_push(outcome: str) -> None:
    """baton_store_pushes{outcome} on the worker's Prometheus endpoint (a no-op outside a worker's metrics)."""
    activity.metric_meter().create_counter("baton_store_pushes", "Pushes of orders to store webhooks").add(
        1, {"outcome": outcome}
    )
