"""Store and subscriber secrets are sealed with the codec key in the database and opened only to sign and verify;
plaintext rows written before keep working. On the real API, worker, Temporal and database."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from models.db.outbound import new_signing_secret
from models.db.tables import LocationRow, WebhookSubscriberRow
from models.sealing import SealError, SecretSeal
from models.settings import Settings
from models.signing import verify
from tests.http_receiver import http_receiver
from tests.support import CHANNEL, HO, STORE_SECRETS, eventually, order_body, signed_headers, wait_for_status

KEY = base64.b64encode(b"c" * 32).decode()
STORE_SECRET = "s002-sealed-secret-0123456789"


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"codec_keys": {"k1": KEY}, "codec_active_key_id": "k1", "outbox_poll_seconds": 0.05}


def _stored(stack, table: Any, key: str) -> Any:
    with Session(stack.engine) as session:
        return session.get(table, key)


async def test_a_store_secret_is_sealed_at_rest_and_still_verifies_and_signs(stack) -> None:
    with http_receiver(200, path="/baton") as receiver:
        body = {"name": "Manchester Arndale", "webhook_url": receiver.url, "webhook_secret": STORE_SECRET}
        assert (await stack.http.put("/stores/S002", json=body, headers=HO)).status_code == 200
        stored = _stored(stack, LocationRow, "S002").webhook_secret
        assert stored.startswith("sealed:v1:k1:") and STORE_SECRET not in stored

        heartbeat, _ = _heartbeat("S002")  # the store signs with its secret; Baton opens the sealed copy to check
        signed = signed_headers("S002", heartbeat, secret=STORE_SECRET)
        assert (await stack.http.post("/webhooks/stores/S002", content=heartbeat, headers=signed)).status_code == 202
        forged = signed_headers("S002", heartbeat, secret=stored)  # the sealed value is no key
        assert (await stack.http.post("/webhooks/stores/S002", content=heartbeat, headers=forged)).status_code == 401

        placed = await stack.http.post("/orders", json=order_body("S002"), headers=CHANNEL)
        assert placed.status_code == 201, placed.text
        await wait_for_status(stack.http, placed.json()["order_number"], "awaiting_acknowledgement")
        [push] = await eventually(lambda: _some(receiver.accepted), timeout=30)
        verify(STORE_SECRET, push.headers["baton-signature"], push.body, time.time())  # signed with the opened one


def _heartbeat(store_id: str) -> tuple[bytes, dict[str, str]]:
    event = {"event_id": f"hb-{uuid.uuid4().hex}", "type": "heartbeat", "occurred_at": datetime.now(UTC).isoformat()}
    body = json.dumps(event).encode()
    return body, signed_headers(store_id, body)


async def _some(items: list[Any]) -> list[Any] | None:
    return list(items) or None


async def test_plaintext_store_secrets_written_before_keep_working(stack) -> None:
    assert _stored(stack, LocationRow, "S001").webhook_secret == STORE_SECRETS["S001"]  # seeded before the key
    heartbeat, headers = _heartbeat("S001")
    assert (await stack.http.post("/webhooks/stores/S001", content=heartbeat, headers=headers)).status_code == 202


async def test_a_subscriber_secret_is_sealed_at_rest_and_signs_its_deliveries(stack) -> None:
    with http_receiver(200, path="/events") as receiver:
        body = {"name": "ERP", "url": receiver.url, "event_types": ["placed"]}
        created = await stack.http.post("/webhook-subscribers", json=body, headers=HO)
        assert created.status_code == 201, created.text
        subscriber = created.json()
        stored = _stored(stack, WebhookSubscriberRow, subscriber["subscriber_id"]).secret
        assert stored.startswith("sealed:v1:k1:") and subscriber["secret"] not in stored

        await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
        [delivery] = await eventually(lambda: _some(receiver.accepted), timeout=30)
        verify(subscriber["secret"], delivery.headers["baton-signature"], delivery.body, time.time())
        assert json.loads(delivery.body)["type"] == "placed"


def test_a_sealed_secret_opens_only_for_its_owner_and_with_its_key() -> None:
    seal = SecretSeal({"k1": b"c" * 32}, "k1")
    sealed = seal.seal("whsec_x", "subscriber:whs_1")
    assert seal.open(sealed, "subscriber:whs_1") == "whsec_x"
    assert seal.seal("whsec_x", "subscriber:whs_1") != sealed  # a fresh nonce each time
    with pytest.raises(SealError, match="altered, moved or corrupt"):
        seal.open(sealed, "subscriber:whs_2")  # copied to another row
    with pytest.raises(SealError, match="not configured"):
        SecretSeal({"k2": b"d" * 32}, "k2").open(sealed, "subscriber:whs_1")
    assert SecretSeal({}, None).seal("plain", "store:S001") == "plain"  # no codec key: nothing to seal with


def test_a_sealed_subscriber_secret_fits_its_column_with_the_longest_key_id() -> None:
    longest = "k" * 64
    sealed = SecretSeal({longest: b"c" * 32}, longest).seal(new_signing_secret(), "subscriber:whs_0123456789abcdef")
    assert len(sealed) <= 200  # webhook_subscribers.secret is VARCHAR(200)
    with pytest.raises(ValueError, match="longer than 64"):
        Settings(codec_keys={"k" * 65: KEY}, codec_active_key_id="k" * 65)  # type: ignore[dict-item]
