"""Rate limits on order placement (per key holder), store webhooks (per store) and sign-in (per client address):
answered 429 problem+json with Retry-After, on the real API; and counted together by two API processes sharing
Redis (BATON_RATE_LIMIT_STORAGE)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from pydantic import ValidationError

from api.app import create_app
from models.settings import Settings
from tests.support import CHANNEL, WEB_ONLY, csrf_token_in, order_body, signed_headers

REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"rate_limit_placement": "2/minute", "rate_limit_webhooks": "3/minute", "rate_limit_sign_in": "2/minute"}


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["retry_after"] == int(response.headers["retry-after"])


async def test_placing_past_the_limit_is_429_for_that_key_holder_only(stack) -> None:
    for _ in range(2):
        placed = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
        assert placed.status_code == 201, placed.text
    limited = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    _assert_limited(limited)
    assert "order placement" in limited.json()["detail"]
    assert (await stack.http.post("/orders", json=order_body(), headers=WEB_ONLY)).status_code == 201


def _heartbeat(store_id: str) -> tuple[bytes, dict[str, str]]:
    event = {"event_id": f"hb-{uuid.uuid4().hex}", "type": "heartbeat", "occurred_at": datetime.now(UTC).isoformat()}
    body = json.dumps(event).encode()
    return body, signed_headers(store_id, body)


async def test_store_webhooks_past_the_limit_are_429_for_that_store_only(stack) -> None:
    for _ in range(3):
        body, headers = _heartbeat("S001")
        accepted = await stack.http.post("/webhooks/stores/S001", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
    body, headers = _heartbeat("S001")
    _assert_limited(await stack.http.post("/webhooks/stores/S001", content=body, headers=headers))
    body, headers = _heartbeat("S002")
    assert (await stack.http.post("/webhooks/stores/S002", content=body, headers=headers)).status_code == 202


async def test_a_flood_from_another_address_leaves_the_stores_own_allowance(stack) -> None:
    """Unsigned requests are counted before the signature is checked: per sending address too, or anyone could
    silence a store by spending its allowance."""
    app = create_app(stack.settings, temporal=stack.client)

    def client(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1)), base_url="http://api")

    async with app.router.lifespan_context(app), client("203.0.113.9") as flood, client("198.51.100.7") as store:
        for _ in range(3):
            assert (await flood.post("/webhooks/stores/S001", content=b"{}")).status_code == 401
        _assert_limited(await flood.post("/webhooks/stores/S001", content=b"{}"))
        body, headers = _heartbeat("S001")
        assert (await store.post("/webhooks/stores/S001", content=body, headers=headers)).status_code == 202


async def _guess(client: httpx.AsyncClient) -> httpx.Response:
    """A wrong key through the sign-in form, as a browser sends it (with the form's CSRF token)."""
    form = await client.get("/ui/sign-in")
    return await client.post("/ui/sign-in", data={"api_key": "guess", "csrf_token": csrf_token_in(form.text)})


async def test_sign_in_attempts_past_the_limit_are_429(stack) -> None:
    for _ in range(2):
        wrong = await _guess(stack.http)
        assert wrong.status_code == 401
    _assert_limited(await _guess(stack.http))


def test_a_limit_that_does_not_parse_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="rate_limit_placement"):
        Settings(rate_limit_placement="lots")


async def test_two_api_processes_sharing_redis_count_together(stack) -> None:
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS}")
    settings = stack.settings.model_copy(update={"rate_limit_storage": REDIS, "rate_limit_sign_in": "3/minute"})
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # a fresh count on every run

    def api() -> Any:
        return create_app(settings, temporal=stack.client)

    first, second = api(), api()
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        one = httpx.AsyncClient(transport=httpx.ASGITransport(app=first, client=(address, 1)), base_url="http://a")
        two = httpx.AsyncClient(transport=httpx.ASGITransport(app=second, client=(address, 1)), base_url="http://b")
        async with one, two:
            for client in (one, two, one):
                assert (await _guess(client)).status_code == 401
            _assert_limited(await _guess(two))
            _assert_limited(await _guess(one))
    # And the count is in Redis, not in either process.
    keys = redis.Redis.from_url(REDIS).keys(f"*sign-in*{address}*")
    assert keys, "the sign-in count was not kept in Redis"
