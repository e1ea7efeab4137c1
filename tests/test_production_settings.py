"""BATON_ENVIRONMENT=production fails closed: no test gateway, no demo keys, no plain payloads, no random session
secret. Each is refused on its own, naming what to set; a complete production configuration is accepted."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from models.settings import Settings

CODEC = {"codec_keys": {"k1": base64.b64encode(b"k" * 32).decode()}, "codec_active_key_id": "k1"}
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "payment_gateway": "stripe",
    "stripe_api_key": "sk_live_example",
    "api_keys": {"a-long-random-key": {"name": "head-office", "role": "head_office"}},
    "session_secret": "s" * 40,
    **CODEC,
}


def test_a_complete_production_configuration_starts() -> None:
    assert Settings(**PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"payment_gateway": "test", "stripe_api_key": None}, "payment_gateway is 'test'"),
        ({"api_keys": {"k": {"name": "demo-head-office", "role": "head_office"}}}, "demo API keys"),
        ({"codec_keys": {}, "codec_active_key_id": None}, "no payload codec key"),
        ({"session_secret": None}, "no BATON_SESSION_SECRET"),
    ],
)
def test_production_refuses_to_start_on_what_only_suits_a_demo(change: dict[str, Any], named: str) -> None:
    config = {key: value for key, value in {**PRODUCTION, **change}.items() if value is not None}
    with pytest.raises(ValidationError, match=named):
        Settings(**config)


def test_development_keeps_its_embedded_defaults() -> None:
    assert Settings(api_keys={"k": {"name": "demo-head-office", "role": "head_office"}}).payment_gateway == "test"


async def test_ready_says_which_gateway_is_live(stack) -> None:
    ready = (await stack.http.get("/health/ready")).json()
    assert (ready["environment"], ready["payment_gateway"]) == ("development", "test")
