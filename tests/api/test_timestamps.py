"""Every timestamp the API answers carries its offset: the order list and the delivery log too (SQLite hands back
naive datetimes; the UtcDateTime column type makes them UTC again at the source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.http_receiver import http_receiver
from tests.support import HO, eventually, place


def _aware(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() is not None


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"outbox_poll_seconds": 0.05}


async def test_order_list_and_delivery_log_timestamps_carry_an_offset(stack):
    with http_receiver(path="/hook") as receiver:
        subscriber = await stack.http.post(
            "/webhook-subscribers",
            json={"name": "ERP", "url": receiver.url, "event_types": ["placed"]},
            headers=HO,
        )
        assert subscriber.status_code == 201, subscriber.text
        assert _aware(subscriber.json()["created_at"])
        number = await place(stack.http)

        page = (await stack.http.get("/orders", params={"order_number": number}, headers=HO)).json()
        [item] = page["items"]
        assert _aware(item["created_at"]) and _aware(item["updated_at"]), item

        deliveries = f"/webhook-subscribers/{subscriber.json()['subscriber_id']}/deliveries"

        async def delivered() -> dict[str, Any] | None:
            items = (await stack.http.get(deliveries, headers=HO)).json()["items"]
            return next((d for d in items if d["delivered_at"]), None)

        delivery = await eventually(delivered)
        assert _aware(delivery["created_at"]) and _aware(delivery["delivered_at"]), delivery
