"""Health and readiness of the API, and Baton's own Prometheus metrics at GET /metrics."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from temporalio.client import Client

from api.app import create_app
from models.settings import Settings
from tests.support import API_KEYS, CHANNEL, HO, TEE, order_body, post_store_event, store_event, wait_for_status
from workflows.client import DATA_CONVERTER


async def _metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of one sample on GET /metrics (0 when the labelled child does not exist yet)."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def test_live_answers_without_credentials(stack):
    response = await stack.http.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


async def test_ready_when_database_and_temporal_answer(stack):
    response = await stack.http.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "temporal": "ok"},
        "environment": "development",
        "payment_gateway": "test",
    }


async def test_not_ready_when_temporal_is_unreachable(db, database_url):
    # Nothing listens on port 1: the lazy client only tries to connect when the readiness check calls it.
    unreachable = await Client.connect("127.0.0.1:1", data_converter=DATA_CONVERTER, lazy=True)
    settings = Settings(database_url=database_url, api_keys=API_KEYS, health_check_timeout_seconds=1)  # type: ignore[arg-type]
    app = create_app(settings, temporal=unreachable)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
            response = await http.get("/health/ready")
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["type"] == "https://baton.dev/problems/not-ready"
            assert problem["failed"] == ["temporal"]
            assert problem["checks"]["database"] == "ok"
            assert problem["checks"]["temporal"] != "ok"
            assert "temporal" in problem["detail"]
            assert (await http.get("/health/live")).status_code == 200  # alive, just not ready


async def test_not_ready_when_the_database_is_unreachable(dev_env, db, database_url, tmp_path):
    settings = Settings(database_url=database_url, api_keys=API_KEYS, health_check_timeout_seconds=1)  # type: ignore[arg-type]
    app = create_app(settings, temporal=dev_env.client)
    async with app.router.lifespan_context(app):
        healthy_engine = app.state.engine
        app.state.engine = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'baton.db'}")
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
                response = await http.get("/health/ready")
        finally:
            app.state.engine.dispose()
            app.state.engine = healthy_engine
    assert response.status_code == 503, response.text
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["temporal"] == "ok"


async def test_metrics_count_orders_placed_by_channel_but_not_idempotent_replays(stack):
    before = await _metric(stack.http, "baton_orders_placed_total", channel="web")
    phone_before = await _metric(stack.http, "baton_orders_placed_total", channel="phone")
    body = order_body()
    key = {"Idempotency-Key": f"metrics-{body['web_reference']}"}
    assert (await stack.http.post("/orders", json=body, headers={**CHANNEL, **key})).status_code == 201
    assert await _metric(stack.http, "baton_orders_placed_total", channel="web") == before + 1
    replay = await stack.http.post("/orders", json=body, headers={**CHANNEL, **key})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await _metric(stack.http, "baton_orders_placed_total", channel="web") == before + 1
    assert (await stack.http.post("/orders", json=order_body(channel="phone"), headers=CHANNEL)).status_code == 201
    assert await _metric(stack.http, "baton_orders_placed_total", channel="phone") == phone_before + 1
    refused = await stack.http.post("/orders", json=order_body(lines=[(TEE, 0)]), headers=CHANNEL)
    assert refused.status_code == 422
    assert await _metric(stack.http, "baton_orders_placed_total", channel="web") == before + 1


async def test_metrics_count_store_webhooks_by_type_and_outcome(stack):
    accepted = {"type": "acknowledged", "outcome": "accepted"}
    bad_signature = {"type": "acknowledged", "outcome": "bad_signature"}
    unknown_order = {"type": "picked", "outcome": "unknown_order"}
    counts = {
        name: await _metric(stack.http, "baton_store_webhooks_total", **labels)
        for name, labels in (("accepted", accepted), ("bad_signature", bad_signature), ("unknown", unknown_order))
    }
    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert (await post_store_event(stack.http, "S001", store_event(number, "acknowledged"))).status_code == 202
    forged = await post_store_event(stack.http, "S001", store_event(number, "acknowledged"), secret="x" * 20)
    assert forged.status_code == 401
    elsewhere = await post_store_event(stack.http, "S002", store_event(number, "picked", picked={"L1": 2}))
    assert elsewhere.status_code == 404
    assert await _metric(stack.http, "baton_store_webhooks_total", **accepted) == counts["accepted"] + 1
    assert await _metric(stack.http, "baton_store_webhooks_total", **bad_signature) == counts["bad_signature"] + 1
    assert await _metric(stack.http, "baton_store_webhooks_total", **unknown_order) == counts["unknown"] + 1


async def test_metrics_count_interventions_by_action(stack):
    before = await _metric(stack.http, "baton_interventions_total", action="release_hold")
    number = (await stack.http.post("/orders", json=order_body(lines=[(TEE, 11)]), headers=CHANNEL)).json()[
        "order_number"
    ]  # the store holds 10: on hold for a stock shortage
    await wait_for_status(stack.http, number, "on_hold")
    released = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "retry"}, headers=HO)
    assert released.status_code == 200, released.text
    assert await _metric(stack.http, "baton_interventions_total", action="release_hold") == before + 1
    refused = await stack.http.post("/orders/999999999/release-hold", json={"reason": "x"}, headers=HO)
    assert refused.status_code == 404
    assert await _metric(stack.http, "baton_interventions_total", action="release_hold") == before + 1
    notes = await _metric(stack.http, "baton_interventions_total", action="add_note")
    noted = await stack.http.post(f"/orders/{number}/notes", json={"text": "Called the customer"}, headers=HO)
    assert noted.status_code == 200, noted.text
    assert await _metric(stack.http, "baton_interventions_total", action="add_note") == notes + 1
