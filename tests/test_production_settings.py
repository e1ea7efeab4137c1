"""BATON_ENVIRONMENT=production fails closed: no test gateway, no demo keys, no plain payloads, no random session
secret. Each is refused on its own, naming what to set; a complete production configuration is accepted."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from models.keys import key_digest, main
from models.settings import Settings

CODEC = {"codec_keys": {"k1": base64.b64encode(b"k" * 32).decode()}, "codec_active_key_id": "k1"}
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "payment_gateway": "stripe",
    "stripe_api_key": "sk_live_example",
    "api_keys": {
        key_digest("a-long-random-key"): {"name": "head-office", "role": "head_office"},
        key_digest("a-webstore-key"): {"name": "webstore", "role": "channel", "channels": ["web"]},
    },
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
        ({"api_keys": {"a-long-random-key": {"name": "head-office", "role": "head_office"}}}, "plain API keys"),
        ({"api_keys": {key_digest("webstore-key"): {"name": "webstore", "role": "channel"}}}, "not bound to channels"),
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


def test_only_digests_are_kept_and_a_key_finds_its_holder_by_digest() -> None:
    settings = Settings(
        api_keys={  # type: ignore[arg-type]
            "plain-dev-key": {"name": "dev", "role": "head_office"},
            key_digest("hashed-key").upper().replace("SHA256:", "sha256:"): {"name": "ops", "role": "channel"},
        }
    )
    assert set(settings.api_keys) == {key_digest("plain-dev-key"), key_digest("hashed-key")}
    assert "plain-dev-key" not in repr(settings.api_keys)


async def test_a_key_given_as_its_digest_is_accepted_and_its_digest_is_not_a_key(stack) -> None:
    """The stack's keys (tests/support.py) are plain and kept as digests; the digest itself opens nothing."""
    from tests.support import HO_KEY

    answered = await stack.http.get("/webhook-subscribers", headers={"Authorization": f"Bearer {HO_KEY}"})
    assert answered.status_code == 200
    digest = key_digest(HO_KEY)
    assert digest in stack.settings.api_keys and HO_KEY not in stack.settings.api_keys
    refused = await stack.http.get("/webhook-subscribers", headers={"Authorization": f"Bearer {digest}"})
    assert refused.status_code == 401


def test_the_digest_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "a-long-random-key"]) == 0
    assert capsys.readouterr().out.strip() == key_digest("a-long-random-key")
    assert key_digest("a-long-random-key").startswith("sha256:") and len(key_digest("x")) == 7 + 64
    assert main([]) == 2
