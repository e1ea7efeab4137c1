"""The Baton HTTP API. `uvicorn api.app:create_app --factory`"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from temporalio.client import Client

from api import pages
from api.limits import BodyLimit
from api.metrics import MetricsMiddleware
from api.metrics import router as metrics_router
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.rate_limits import install_rate_limits
from api.routers import (
    analytics,
    b2b,
    balances,
    calendars,
    customers,
    diagnosis,
    estimates,
    extracts,
    feeds,
    health,
    interventions,
    invoices,
    mail,
    merchants,
    orders,
    quotes,
    requests,
    return_webhooks,
    returns,
    store_links,
    stores,
    subscriptions,
    webhook_subscribers,
    webhooks,
)
from api.routers import settings as settings_router
from api.routers.codec import install_codec_server
from models.db import create_tables, make_engine
from models.settings import Settings, get_settings
from workflows.client import connect_temporal
from workflows.telemetry import configure_tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

DESCRIPTION = """Omnichannel order orchestration: every order is a durable Temporal workflow.

Errors are RFC 9457 `application/problem+json`. Authenticate with `Authorization: Bearer <API key>`;
store webhooks are signed with the store's secret instead."""


def create_app(
    settings: Settings | None = None, temporal: Client | None = None, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """Build the app; tests pass their own settings and Temporal client (and a tracer provider)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = make_engine(settings.database_url)
        if settings.database_auto_create:  # production runs migrations instead (./baton migrate)
            create_tables(app.state.engine)
        app.state.temporal = temporal or await connect_temporal(settings)
        yield
        app.state.engine.dispose()

    app = FastAPI(title="Baton", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    install_problem_handlers(app)
    install_rate_limits(app)  # 429 problem+json with Retry-After
    app.include_router(store_links.router)  # before stores: /stores/links is not the store "links"
    app.include_router(calendars.router)  # /stores/{id}/calendar
    app.include_router(feeds.router)  # catalogue and stock feeds, the stock ledger (/stock/ledger before /stock/{sku})
    for router in (orders.router, interventions.router, stores.router, webhooks.router, settings_router.router):
        app.include_router(router)
    app.include_router(extracts.router)  # /extracts: XML notification extracts for third-party processes
    app.include_router(invoices.router)  # /settings/queues, /orders/{n}/invoices (JSON and XML)
    app.include_router(webhook_subscribers.router)  # outbound webhooks, delivery log, order exports
    app.include_router(mail.router)  # e-mail sent about orders, customers' mail preferences
    app.include_router(merchants.router)  # merchants, marketplace orders, the merchant ledger
    app.include_router(diagnosis.router)  # /orders/{n}/diagnosis
    app.include_router(returns.router)  # returns (RMA), /settings/returns
    app.include_router(return_webhooks.router)  # /webhooks/stores/{id}/returns: a return received, signed
    app.include_router(requests.router)  # customer requests, /settings/requests
    app.include_router(customers.router)  # the customer view: search, profile and order history
    app.include_router(balances.router)  # customers' account credit and wallet funds
    app.include_router(subscriptions.router)  # /subscriptions: an order every period (workflows/subscriptions.py)
    app.include_router(quotes.router)  # requests for quote: priced by Head Office, accepted as an order
    app.include_router(b2b.router)  # /b2b/accounts, /orders/{n}/contact-approval: B2B accounts and their approvers
    app.include_router(estimates.router)  # /estimates: an order's amounts and fulfilment before it is placed
    app.include_router(analytics.router)  # analytics for Head Office and BI tools (JSON and CSV)
    app.include_router(health.router)  # /health/live, /health/ready
    app.include_router(metrics_router)  # /metrics, Prometheus text format
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        BodyLimit, max_body_bytes=settings.max_body_bytes, max_webhook_body_bytes=settings.max_webhook_body_bytes
    )
    if settings.otel_enabled:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracer_provider or configure_tracing("baton-api"), excluded_urls="/health/,/metrics"
        )
    pages.install(app)  # the web pages under /ui: dashboard, order page, Pick Manager (and /ui/static)
    install_codec_server(app, settings)  # /codec/* only when the payload codec is configured
    install_openapi(app)  # every error status each operation can answer, as problem+json
    return app
