"""Worker telemetry against the real Temporal dev server: the Prometheus endpoint of the SDK runtime (SDK
metrics plus Baton's workflow and activity counters, store pushes counted by the store lanes), the worker's health
endpoint, and OpenTelemetry tracing from the API request through the workflow to its activities (the commit of each
change) and through the outbox lanes to their relays."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from api.app import create_app
from models.order import ORDER_WORKFLOW
from models.outbox import lane_workflow_id, store_lane
from models.settings import Settings
from tests.conftest import _terminate_open_orders
from tests.support import (
    API_KEYS,
    CHANNEL,
    HO,
    eventually,
    order_body,
    post_store_event,
    store_event,
    wait_for_status,
)
from worker import build_worker
from workflows.client import connect_temporal
from workflows.outbox import ensure_lanes
from workflows.telemetry import (
    prometheus_runtime,
    start_health_server,
    tracing_interceptor,
    tracing_interceptors,
)

ONE_SECOND_TO_ACKNOWLEDGE = {
    "not_acknowledged": 1,
    "not_picked": "PT1H",
    "on_hold": "PT1H",
    "not_collected": "P1D",
    "not_updated": "PT1H",
    "collection_expiry": "P2D",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(dev_env, database_url: str, **extra) -> Settings:
    return Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        api_keys=API_KEYS,  # type: ignore[arg-type]
        outbox_poll_seconds=0.05,
        allow_private_targets=True,  # the store endpoints run on 127.0.0.1
        outbox_idle_seconds=0.5,  # each relay returns (and ends its span) soon after its lane goes quiet
        **extra,
    )


@asynccontextmanager
async def _api_and_worker(client: Client, settings: Settings, engine, executor, **app_args) -> AsyncIterator:
    """The API and an in-process worker, both on `client` (so on its runtime and interceptors)."""
    app = create_app(settings, temporal=client, **app_args)
    async with httpx.AsyncClient() as outbound, app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
            worker = build_worker(client, settings, engine, outbound, executor)
            async with worker:
                try:
                    await ensure_lanes(client, engine, settings)  # as the worker's process does when it starts
                    yield http, worker
                finally:
                    await _terminate_open_orders(client, engine, settings)


@pytest.fixture
def store_endpoints() -> Iterator[dict[str, str]]:
    """Store systems on loopback: /ok accepts every push, /down answers 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"ok": f"{base}/ok", "down": f"{base}/down"}
    server.shutdown()


def _samples(text: str, name: str, task_queue: str) -> dict[str, float]:
    """Samples of one metric on this test's task queue, keyed by their labels other than the SDK's own."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("task_queue") == task_queue:
                key = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k in ("type", "outcome"))
                found[key] = sample.value
    return found


async def test_worker_prometheus_endpoint_serves_sdk_and_baton_metrics(
    dev_env, db, database_url, executor, store_endpoints
):
    address = f"127.0.0.1:{_free_port()}"
    settings = _settings(dev_env, database_url, worker_metrics_address=address)
    client = await connect_temporal(settings, runtime=prometheus_runtime(address))

    async def scrape() -> str:
        async with httpx.AsyncClient() as scraper:
            return (await scraper.get(f"http://{address}/metrics")).text

    async with _api_and_worker(client, settings, db, executor) as (http, _worker):
        for store_id, url in (("S001", store_endpoints["ok"]), ("S002", store_endpoints["down"])):
            response = await http.put(f"/stores/{store_id}", json={"name": store_id, "webhook_url": url}, headers=HO)
            assert response.status_code == 200, response.text
        assert (await http.put("/settings/sla", json=ONE_SECOND_TO_ACKNOWLEDGE, headers=HO)).status_code == 200
        number = (await http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
        assert (await http.post("/orders", json=order_body(store_id="S002"), headers=CHANNEL)).status_code == 201

        async def alerted_pushed_and_failed() -> str | None:
            text = await scrape()
            alerts = _samples(text, "baton_sla_alerts_raised_total", settings.task_queue)
            pushes = _samples(text, "baton_store_pushes_total", settings.task_queue)
            both_alerted = alerts == {"type=not_acknowledged": 2}  # each order, a second after it was sent
            return text if both_alerted and {"outcome=delivered", "outcome=store_unavailable"} <= set(pushes) else None

        await eventually(alerted_pushed_and_failed, timeout=30)
        # More workflow tasks on an alerted order (the store acknowledges, the alert clears) count nothing new.
        event = store_event(number, "acknowledged")
        assert (await post_store_event(http, "S001", event)).status_code == 202
        await wait_for_status(http, number, "acknowledged")
        text = await scrape()

    assert "baton_sla_alerts_raised{" in text  # the exposed name; Prometheus parsers read it as a counter
    assert _samples(text, "baton_sla_alerts_raised_total", settings.task_queue) == {"type=not_acknowledged": 2}
    # Store pushes are counted by the store lanes' relays, one per attempt: S001's order went through, S002's
    # store is down and its lane keeps trying.
    pushes = _samples(text, "baton_store_pushes_total", settings.task_queue)
    assert pushes["outcome=delivered"] == 1
    assert pushes["outcome=store_unavailable"] >= 1
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "baton_store_pushes_total" and sample.labels.get("task_queue") == settings.task_queue:
                assert sample.labels["activity_type"] == "relay"
    sdk = {family.name for family in text_string_to_metric_families(text) if family.name.startswith("temporal_")}
    expected = {"temporal_workflow_task_execution_latency", "temporal_activity_execution_latency", "temporal_request"}
    assert expected <= sdk, sorted(sdk)
    assert _samples(text, "temporal_workflow_task_execution_latency_count", settings.task_queue)


async def test_worker_health_endpoint_answers_while_the_worker_runs(dev_env, db, database_url, executor):
    settings = _settings(dev_env, database_url)
    async with _api_and_worker(dev_env.client, settings, db, executor) as (_http, worker):
        server = await start_health_server("127.0.0.1:0", lambda: worker.is_running)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with httpx.AsyncClient() as http:
            running = await http.get(url)
            assert running.status_code == 200
            assert running.json() == {"status": "running"}
    try:
        async with httpx.AsyncClient() as http:
            stopped = await http.get(url)
        assert stopped.status_code == 503
        assert stopped.json() == {"status": "stopped"}
    finally:
        server.close()
        await server.wait_closed()


async def test_tracing_spans_cover_api_request_workflow_activities_and_the_outbox_relay(
    dev_env, db, database_url, executor, store_endpoints
):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = _settings(dev_env, database_url, otel_enabled=True)
    plain = _settings(dev_env, database_url)  # the global interceptor stays out: the test's provider only
    client = await connect_temporal(plain, interceptors=[tracing_interceptor(provider)])
    lane = lane_workflow_id(store_lane("S001"))
    async with _api_and_worker(client, settings, db, executor, tracer_provider=provider) as (http, _worker):
        store = {"name": "London Oxford Street", "webhook_url": store_endpoints["ok"]}
        assert (await http.put("/stores/S001", json=store, headers=HO)).status_code == 200
        response = await http.post("/orders", json=order_body(), headers=CHANNEL)
        assert response.status_code == 201, response.text
        await wait_for_status(http, response.json()["order_number"], "awaiting_acknowledgement")

        def finished(name: str, workflow_id: str | None = None) -> list:
            return [span for span in exporter.get_finished_spans() if span.name == name
                    and workflow_id in (None, (span.attributes or {}).get("temporalWorkflowID"))]  # fmt: skip

        async def traced() -> bool:
            # The order's change committed, and a relay of its store's lane finished after it (the one that pushed
            # the order to the store, or a later one).
            commits = finished("RunActivity:commit_if_reserved")  # reserved and sent to the store in one go
            relays = finished("RunActivity:relay", lane)
            if not (commits and relays):
                return False
            return max(relay.end_time for relay in relays) > min(commit.end_time for commit in commits)

        await eventually(traced, timeout=30)
        assert (await http.get("/health/live")).status_code == 200  # probes are not traced
    spans = exporter.get_finished_spans()
    by_name = {span.name: span for span in spans}
    request = by_name["POST /orders"]
    start = by_name[f"StartWorkflow:{ORDER_WORKFLOW}"]
    assert start.parent is not None and start.parent.span_id == request.context.span_id
    for name in (f"RunWorkflow:{ORDER_WORKFLOW}", "StartActivity:commit_if_reserved",
                 "RunActivity:commit_if_reserved"):  # fmt: skip
        assert by_name[name].context.trace_id == request.context.trace_id, name
    # The store lane's relays are in the trace of the lane's start (ensure_lanes, as the worker runs it).
    # (The API asks for the lane again when the store's webhook is set: a start of a running lane changes nothing.)
    starts = {span.context.trace_id for span in finished("StartWorkflow:OutboxLaneWorkflow", lane)}
    relays = {relay.context.trace_id for relay in finished("RunActivity:relay", lane)}
    assert len(relays) == 1 and relays <= starts
    assert not any(span.name.startswith("GET /health") for span in spans)


def test_tracing_is_off_unless_configured():
    assert tracing_interceptors(Settings()) == []
    assert len(tracing_interceptors(Settings(otel_enabled=True))) == 1
    # A fresh process: building the app with tracing on installs an OTLP/HTTP exporter at the standard
    # endpoint variable; with tracing off nothing is installed.
    script = """
import json
from opentelemetry import trace
from api.app import create_app
from models.settings import Settings
create_app(Settings(otel_enabled=False))
off = type(trace.get_tracer_provider()).__name__
create_app(Settings(otel_enabled=True))
provider = trace.get_tracer_provider()
exporter = provider._active_span_processor._span_processors[0]._batch_processor._exporter
print(json.dumps({"off": off, "on": type(provider).__name__, "endpoint": exporter._endpoint}))
"""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4999", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "off": "ProxyTracerProvider",
        "on": "TracerProvider",
        "endpoint": "http://127.0.0.1:4999/v1/traces",
    }
