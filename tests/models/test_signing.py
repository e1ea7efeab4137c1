"""Webhook signatures (models/signing.py): `Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.signing import DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, SignatureError, sign, verify

SECRET = "s001-test-secret-0123456789"
BODY = b'{"event_id":"E1","type":"acknowledged","order_number":"100001"}'
NOW = 1_741_000_000


def test_sign_header_format() -> None:
    assert SIGNATURE_HEADER == "Baton-Signature"
    assert re.fullmatch(rf"t={NOW},v1=[0-9a-f]{{64}}", sign(SECRET, BODY, NOW))


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_verify_accepts_round_trip() -> None:
    verify(SECRET, sign(SECRET, BODY, NOW), BODY, NOW)


def test_verify_accepts_spaces_after_commas() -> None:
    verify(SECRET, sign(SECRET, BODY, NOW).replace(",", ", "), BODY, NOW + 0.5)


def test_verify_refuses_wrong_secret() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, sign("another-secret-0123456789", BODY, NOW), BODY, NOW)


@pytest.mark.parametrize("body", [BODY + b" ", BODY.replace(b"E1", b"E2"), b"", BODY[:-1]])
def test_verify_refuses_tampered_body(body: bytes) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, sign(SECRET, BODY, NOW), body, NOW)


def test_verify_refuses_signature_moved_to_another_timestamp() -> None:
    digest = sign(SECRET, BODY, NOW).rpartition("v1=")[2]
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, f"t={NOW + 1},v1={digest}", BODY, NOW)


@pytest.mark.parametrize("skew", [-(DEFAULT_TOLERANCE_SECONDS + 1), DEFAULT_TOLERANCE_SECONDS + 1, 86_400, -86_400])
def test_verify_refuses_stale_timestamp(skew: int) -> None:
    with pytest.raises(SignatureError, match="more than 300 seconds"):
        verify(SECRET, sign(SECRET, BODY, NOW + skew), BODY, NOW)


@pytest.mark.parametrize("skew", [-DEFAULT_TOLERANCE_SECONDS, DEFAULT_TOLERANCE_SECONDS, 0])
def test_verify_accepts_timestamp_at_tolerance_edge(skew: int) -> None:
    verify(SECRET, sign(SECRET, BODY, NOW + skew), BODY, NOW)


def test_verify_uses_given_tolerance() -> None:
    header = sign(SECRET, BODY, NOW - 20)
    verify(SECRET, header, BODY, NOW, tolerance_seconds=20)
    with pytest.raises(SignatureError, match="more than 10 seconds"):
        verify(SECRET, header, BODY, NOW, tolerance_seconds=10)


@pytest.mark.parametrize("header", [None, ""])
def test_verify_refuses_missing_header(header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing Baton-Signature header"):
        verify(SECRET, header, BODY, NOW)


@pytest.mark.parametrize(
    "header",
    ["garbage", "v1=abc", "t=,v1=abc", "t=soon,v1=abc", "t=1.5e9,v1=abc", "T=1741000000,v1=abc", ",,,"],
)
def test_verify_refuses_malformed_timestamp(header: str) -> None:
    with pytest.raises(SignatureError, match="no valid timestamp"):
        verify(SECRET, header, BODY, NOW)


@pytest.mark.parametrize("header", [f"t={NOW}", f"t={NOW},v1=", f"t={NOW},v2=abc", f"t={NOW},v1=zz"])
def test_verify_refuses_header_without_matching_v1(header: str) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, BODY, NOW)


def test_verify_refuses_non_ascii_v1_with_signature_error() -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, f"t={NOW},v1=\u00e9\u00e9", BODY, NOW + 0.25)


def test_verify_refuses_huge_timestamp_with_signature_error() -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, f"t=1{'0' * 400},v1=abc", BODY, NOW + 0.25)


def test_verify_accepts_multiple_v1_when_one_matches() -> None:
    good = sign(SECRET, BODY, NOW).rpartition("v1=")[2]
    old = sign("rotated-out-secret-0123456789", BODY, NOW).rpartition("v1=")[2]
    verify(SECRET, f"t={NOW},v1={old},v1={good}", BODY, NOW)
    verify(SECRET, f"t={NOW},v1={good},v1={old}", BODY, NOW)


def test_verify_refuses_multiple_v1_when_none_matches() -> None:
    a = sign("secret-a-0123456789", BODY, NOW).rpartition("v1=")[2]
    b = sign("secret-b-0123456789", BODY, NOW).rpartition("v1=")[2]
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, f"t={NOW},v1={a},v1={b}", BODY, NOW)


def test_signature_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)


# ---- properties ----------------------------------------------------------------------------------

secrets = st.text(min_size=1, max_size=64)
timestamps = st.integers(min_value=0, max_value=4_102_444_800)


@settings(deadline=None, max_examples=200)
@given(secret=secrets, body=st.binary(max_size=2048), timestamp=timestamps, skew=st.floats(-300, 300))
def test_verify_round_trip_for_any_body(secret: str, body: bytes, timestamp: int, skew: float) -> None:
    verify(secret, sign(secret, body, timestamp), body, timestamp + skew)


@settings(deadline=None, max_examples=200)
@given(secret=secrets, body=st.binary(min_size=1, max_size=512), timestamp=timestamps, data=st.data())
def test_verify_refuses_any_single_byte_change(secret: str, body: bytes, timestamp: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(SignatureError):
        verify(secret, sign(secret, body, timestamp), tampered, timestamp)


@settings(deadline=None, max_examples=300)
@given(header=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=100))
def test_verify_refuses_arbitrary_ascii_header_with_signature_error(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY, NOW)
