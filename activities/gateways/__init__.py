"""Payment gateway adapters behind one `PaymentGateway` protocol: the built-in test gateway and Stripe."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from activities.gateways.base import (
    GatewayErrorType,
    GatewayUnavailable,
    PaymentGateway,
    invalid_request,
    misconfigured,
    perform,
)
from activities.gateways.stripe_gateway import StripeGateway
from activities.gateways.testing import CardToken, TestGateway
from activities.gateways.wallet import WalletGateway
from models.settings import Settings

__all__ = [
    "CardToken",
    "GatewayErrorType",
    "GatewayUnavailable",
    "PaymentGateway",
    "StripeGateway",
    "TestGateway",
    "WalletGateway",
    "build_gateways",
    "invalid_request",
    "misconfigured",
    "perform",
]


def build_gateways(settings: Settings, engine: Engine) -> dict[str, PaymentGateway]:
    """The configured card gateway by name, and the internal wallet gateway. Only one card gateway: a worker set up
    for Stripe never approves on the test gateway."""
    if settings.payment_gateway == "stripe":
        assert settings.stripe_api_key is not None  # Settings refuses stripe without a key
        return {
            "stripe": StripeGateway(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base),
            "wallet": WalletGateway(engine),
        }
    return {
        "wallet": WalletGateway(engine),
        "test": TestGateway(
            engine,
            slow_seconds=settings.test_gateway_slow_seconds,
            authorisation_ttl=timedelta(seconds=settings.test_gateway_authorisation_ttl_seconds),
            outage_seconds=settings.test_gateway_outage_seconds,
        ),
    }
