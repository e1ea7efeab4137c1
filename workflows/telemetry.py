"""Observability set-up for Temporal clients and workers (docs/observability.md).

- `prometheus_runtime`: a Temporal Runtime whose SDK metrics (temporal_*) and the workflow / activity
  metrics Baton records through the SDK's meters (baton_sla_alerts_raised, baton_store_pushes) are served
  for Prometheus at http://<address>/metrics.
- `configure_tracing` / `tracing_interceptors`: OpenTelemetry tracing, exported over OTLP/HTTP to
  OTEL_EXPORTER_OTLP_ENDPOINT; off unless `BATON_OTEL_ENABLED=true`.
- `start_health_server`: the worker's tiny HTTP health endpoint.

Not a workflow module: nothing here runs inside the workflow sandbox. OpenTelemetry is imported only when
tracing is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from models.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.contrib.opentelemetry import TracingInterceptor

_runtimes: dict[str, Runtime] = {}


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Runtime exposing Prometheus metrics on `bind_address` ("host:port"); one per address per process."""
    if bind_address not in _runtimes:
        _runtimes[bind_address] = Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address))
        )
    return _runtimes[bind_address]


def worker_runtime(settings: Settings) -> Runtime | None:
    """The Prometheus runtime when `worker_metrics_address` is set, else None (the SDK's default runtime)."""
    return prometheus_runtime(settings.worker_metrics_address) if settings.worker_metrics_address else None


def configure_tracing(service_name: str) -> TracerProvider:
    """Install (once per process) the global tracer provider, exporting spans in batches over OTLP/HTTP.

    The exporter reads the standard OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) and
    OTEL_EXPORTER_OTLP_HEADERS; OTEL_SERVICE_NAME overrides `service_name`."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def tracing_interceptor(tracer_provider: TracerProvider | None = None) -> TracingInterceptor:
    """Temporal's OpenTelemetry interceptor: on a client it traces starts, signals, updates and queries, and
    on a worker built from that client the workflow and activity executions, as children of the caller's span."""
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return TracingInterceptor(trace.get_tracer("baton", tracer_provider=tracer_provider))


def tracing_interceptors(settings: Settings) -> list[TracingInterceptor]:
    """[the tracing interceptor] when `otel_enabled`, else []. It uses the global tracer provider, which the
    process installs with `configure_tracing` (spans are dropped until it does)."""
    return [tracing_interceptor()] if settings.otel_enabled else []


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


async def start_health_server(address: str, healthy: Callable[[], bool]) -> asyncio.Server:
    """A minimal HTTP/1.1 endpoint on `address` ("host:port"): any GET answers 200 {"status": "running"}
    while `healthy()` is true, else 503 {"status": "stopped"}. Close it with `server.close()`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
                ok = healthy()
                body = b'{"status":"running"}' if ok else b'{"status":"stopped"}'
                head = (
                    f"HTTP/1.1 {'200 OK' if ok else '503 Service Unavailable'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                writer.write(head.encode() + body)
                await writer.drain()
        finally:
            writer.close()

    host, port = _host_port(address)
    return await asyncio.start_server(answer, host, port)
