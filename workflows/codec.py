"""Payload encryption: an AES-GCM PayloadCodec, so that order data (customers, addresses, lines) is
stored in Temporal's history as ciphertext. Workers, clients and the codec server endpoint (api/routers/codec.py)
hold the keys; the Temporal server and anyone reading its database see only `binary/encrypted` payloads.

Each encrypted payload names the key that encrypted it in its metadata, so keys can be rotated: new payloads
use the active key, and payloads written with an older key decrypt as long as that key stays configured.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from models.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class CodecError(ValueError):
    """A payload that cannot be decrypted: unknown key id, or tampered / corrupt ciphertext."""


class AesGcmCodec(PayloadCodec):
    """Encrypts each whole serialized Payload (its metadata and data) with AES-GCM and a random 12-byte nonce.

    The stored payload is `nonce || ciphertext+tag` with metadata
    `{"encoding": "binary/encrypted", "encryption-key-id": <key id>}`. The key id is also bound to the
    ciphertext as associated data, so a payload relabelled with another key id does not decrypt.
    """

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not among the codec keys")
        for key_id, key in keys.items():
            if len(key) not in (16, 24, 32):
                raise ValueError(f"codec key {key_id!r} is {len(key)} bytes; AES needs 16, 24 or 32")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not encrypted (written before the codec was on, or by a codec-less client)
        raw_key_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_key_id is None:
            raise CodecError("encrypted payload has no 'encryption-key-id' metadata")
        key_id = raw_key_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise CodecError(
                f"payload was encrypted with key id {key_id!r}, which is not configured (known: {known}); "
                "keep retired keys in BATON_CODEC_KEYS until no history needs them"
            )
        if len(payload.data) < NONCE_BYTES + 16:
            raise CodecError(f"encrypted payload (key id {key_id!r}) is too short to be AES-GCM ciphertext")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, raw_key_id)
        except InvalidTag:
            raise CodecError(
                f"encrypted payload (key id {key_id!r}) failed authentication: tampered, corrupt or wrong key"
            ) from None
        return Payload.FromString(plain)


def codec_from_settings(settings: Settings) -> AesGcmCodec | None:
    """The codec for the configured keys, or None when no active key id is set (codec off)."""
    if settings.codec_active_key_id is None:
        return None
    keys = {key_id: base64.b64decode(key.get_secret_value()) for key_id, key in settings.codec_keys.items()}
    return AesGcmCodec(keys, settings.codec_active_key_id)
