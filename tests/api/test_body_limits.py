"""Request bodies are limited before anything parses them: 413 problem+json, for a declared Content-Length and
for a chunked body that streams past the limit (the rest is never read)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import CHANNEL, HO, order_body

TEN_MB = 10 * 1024 * 1024
CHUNK = 64 * 1024


def _assert_too_large(response, limit: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 413
    assert problem["type"].endswith("/content-too-large")
    assert str(limit) in problem["detail"]


class _Chunks:
    """A chunked body of `total` bytes that counts how much of it was read."""

    def __init__(self, total: int) -> None:
        self.total, self.read = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.total:
            self.read += CHUNK
            yield b" " * CHUNK


@pytest.mark.parametrize("headers", [CHANNEL, {}], ids=["authenticated", "unauthenticated"])
async def test_a_10_mb_body_is_refused_before_it_is_read(stack, headers):
    response = await stack.http.post(
        "/orders", content=b"{" + b" " * TEN_MB + b"}", headers={**headers, "Content-Type": "application/json"}
    )
    _assert_too_large(response, stack.settings.max_body_bytes)
    assert (await stack.http.get("/health/live")).status_code == 200


@pytest.mark.parametrize("headers", [CHANNEL, {}], ids=["authenticated", "unauthenticated"])
async def test_a_chunked_body_is_cut_off_at_the_limit(stack, headers):
    body = _Chunks(TEN_MB)
    response = await stack.http.post("/orders", content=body, headers={**headers, "Content-Type": "application/json"})
    _assert_too_large(response, stack.settings.max_body_bytes)
    assert body.read <= stack.settings.max_body_bytes + 2 * CHUNK  # the rest was never read
    assert (await stack.http.get("/health/live")).status_code == 200


async def test_webhooks_have_their_own_smaller_limit(stack):
    limit = stack.settings.max_webhook_body_bytes
    assert limit < stack.settings.max_body_bytes
    response = await stack.http.post(
        "/webhooks/stores/S001", content=b" " * (limit + 1), headers={"Content-Type": "application/json"}
    )
    _assert_too_large(response, limit)
    chunked = await stack.http.post(
        "/webhooks/stores/S001", content=_Chunks(limit + CHUNK), headers={"Content-Type": "application/json"}
    )
    _assert_too_large(chunked, limit)


async def test_a_body_within_the_limit_is_served(stack):
    order = order_body()
    order["notes"] = ["x" * 1000]
    response = await stack.http.post("/orders", json=order, headers=CHANNEL)
    assert response.status_code == 201, response.text
    # and a Head Office action's body goes through the same limit
    too_big = await stack.http.post(
        f"/orders/{response.json()['order_number']}/notes",
        content=b" " * (stack.settings.max_body_bytes + 1),
        headers={**HO, "Content-Type": "application/json"},
    )
    _assert_too_large(too_big, stack.settings.max_body_bytes)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/orders"),
        ("PUT", "/settings/sla"),
        ("PUT", "/settings/payments"),
        ("PUT", "/stores/S001"),
        ("POST", "/webhook-subscribers"),
        ("POST", "/orders/100001/notes"),
    ],
)
async def test_the_key_is_checked_before_the_body_is_validated(stack, method, path):
    """Without a key the answer is 401, whatever the body: it is not validated (nor a word said about it)."""
    response = await stack.http.request(method, path, json={"not": "valid", "at": ["all"]})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
