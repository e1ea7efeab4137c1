"""Secrets kept in the database (store webhook secrets, subscriber signing secrets) are sealed with the payload codec
key (BATON_CODEC_KEYS, BATON_CODEC_ACTIVE_KEY_ID): a copy of the database, a backup or a read-only SQL leak then
gives nothing to sign or forge webhooks with. They are opened only where a request is signed or verified.

A sealed value reads "sealed:v1:<key id>:<base64 of nonce || AES-GCM ciphertext>", with what it is the secret of
(e.g. "store:S001") bound as associated data, so a sealed secret copied to another row does not open. Values without
the prefix are plaintext (written before a codec key was set, or with none): they keep working, and are sealed the
next time they are written. Without a codec key nothing is sealed.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models.settings import Settings

PREFIX = "sealed:v1:"
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed secret that cannot be opened: its key is no longer configured, or it was altered or moved."""


class SecretSeal:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str | None) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active_key_id

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretSeal:
        keys = {key_id: base64.b64decode(key.get_secret_value()) for key_id, key in settings.codec_keys.items()}
        return cls(keys, settings.codec_active_key_id)

    def seal(self, secret: str, belongs_to: str) -> str:
        """The value to store for `secret`: sealed with the active codec key, or as given when there is none."""
        if self._active is None:
            return secret
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(nonce, secret.encode(), belongs_to.encode())
        return f"{PREFIX}{self._active}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, belongs_to: str) -> str:
        """The secret a stored value holds (a plaintext value is its own secret)."""
        if not stored.startswith(PREFIX):
            return stored
        key_id, _, encoded = stored.removeprefix(PREFIX).rpartition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealError(f"the secret of {belongs_to} is sealed with codec key {key_id!r}, which is not configured")
        try:
            raw = base64.b64decode(encoded, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], belongs_to.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise SealError(f"the sealed secret of {belongs_to} does not open: altered, moved or corrupt") from None


def store_secret_owner(store_id: str) -> str:
    return f"store:{store_id}"


def subscriber_secret_owner(subscriber_id: str) -> str:
    return f"subscriber:{subscriber_id}"
