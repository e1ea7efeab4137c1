"""Baton's own API metrics in Prometheus text format, served at GET /metrics.

The counters are kept by one ASGI middleware that watches the answers of the routes they count, so the
routers stay free of metrics code:

- `baton_orders_placed_total{channel}`: `POST /orders` answered 201 (an idempotent replay is not counted);
- `baton_store_webhooks_total{type,outcome}`: every signed store webhook, by event type and how it ended;
- `baton_interventions_total{action}`: a Head Office action on an order (`POST /orders/{n}/<...>`)
  answered 2xx, labelled with its route's name, which is the workflow update's: `release_hold`,
  `cancel_order`, `change_variant`, `refund`, ...

Under `uvicorn --workers N` set `PROMETHEUS_MULTIPROC_DIR` to an empty directory so the processes share
their counts (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.order import StoreEventType
from models.placing import Channel

ORDERS_PLACED = Counter("baton_orders_placed", "Orders placed through the API", ["channel"])
STORE_WEBHOOKS = Counter("baton_store_webhooks", "Signed store webhooks received", ["type", "outcome"])
INTERVENTIONS = Counter("baton_interventions", "Head Office interventions accepted", ["action"])

PLACE_ORDER_ROUTE = "/orders"
STORE_WEBHOOK_ROUTE = "/webhooks/stores/{store_id}"
INTERVENTION_ROUTE_PREFIX = "/orders/{order_number}/"
MAX_INSPECTED_BODY = 1 << 20  # bodies larger than this are not parsed for a label

WEBHOOK_OUTCOMES = {202: "accepted", 401: "bad_signature", 404: "unknown_order", 409: "order_closed", 422: "invalid"}

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus text format: Baton's counters and the Python process's own metrics."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _json_field(body: bytes, field: str) -> Any:
    if not body or len(body) > MAX_INSPECTED_BODY:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get(field) if isinstance(data, dict) else None


def _label(value: Any, allowed: type[Channel] | type[StoreEventType], fallback: str) -> str:
    """Only known values become labels, so a caller cannot grow the label set."""
    return value if isinstance(value, str) and value in {member.value for member in allowed} else fallback


def webhook_outcome(status: int) -> str:
    if status in WEBHOOK_OUTCOMES:
        return WEBHOOK_OUTCOMES[status]
    return "error" if status >= 500 else "rejected"


def record(
    method: str, route: str | None, name: str | None, status: int, headers: dict[bytes, bytes], body: bytes
) -> None:
    """Count one answered request to the route with path template `route` and name `name`."""
    if method != "POST" or route is None:
        return
    if route == PLACE_ORDER_ROUTE:
        if status == 201 and headers.get(b"idempotent-replayed") != b"true":
            ORDERS_PLACED.labels(channel=_label(_json_field(body, "channel"), Channel, "other")).inc()
    elif route == STORE_WEBHOOK_ROUTE:
        raw_type = _json_field(body, "type")
        event_type = "heartbeat" if raw_type == "heartbeat" else _label(raw_type, StoreEventType, "unknown")
        STORE_WEBHOOKS.labels(type=event_type, outcome=webhook_outcome(status)).inc()
    elif route.startswith(INTERVENTION_ROUTE_PREFIX) and 200 <= status < 300:
        INTERVENTIONS.labels(action=name or route.removeprefix(INTERVENTION_ROUTE_PREFIX)).inc()


class MetricsMiddleware:
    """Pure ASGI middleware: sees the request body and the answer's status without changing either."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        answer: dict[str, Any] = {}

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= MAX_INSPECTED_BODY:
                body.extend(message.get("body", b""))
            return message

        async def send_and_watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {k.lower(): v for k, v in message.get("headers", [])}
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_watch)
        finally:
            route = scope.get("route")  # the matched route, set by the router
            path, name = getattr(route, "path", None), getattr(route, "name", None)
            record(scope["method"], path, name, answer.get("status", 500), answer.get("headers", {}), bytes(body))
