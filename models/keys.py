"""API keys are kept as digests: BATON_API_KEYS may name each key by its SHA-256 digest ("sha256:<hex>") instead of
the key itself, and Baton keeps only digests once its settings are loaded, so neither a leaked environment dump nor
a memory dump of the API gives a usable key. A presented key is hashed and compared digest to digest in constant
time. API keys are long random strings, so a plain SHA-256 (no salt, no stretching) is enough: there is no
dictionary to try.

    ./baton key-digest            # reads the key from stdin (kept out of the shell history)
    python -m models.keys digest <key>
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
from collections.abc import Mapping
from typing import TypeVar

DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"^sha256:[0-9a-fA-F]{64}$")

T = TypeVar("T")


def key_digest(key: str) -> str:
    """The digest BATON_API_KEYS may hold instead of `key`."""
    return DIGEST_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def is_digest(configured: str) -> bool:
    return bool(_DIGEST.match(configured))


def as_digest(configured: str) -> str:
    """A configured key as the digest Baton keeps: digests as given (lower-cased), plain keys hashed."""
    return configured.lower() if is_digest(configured) else key_digest(configured)


def holder_of(holders: Mapping[str, T], presented: str) -> T | None:
    """Whoever holds `presented`, among holders keyed by digest. Every digest is compared, in constant time, so how
    long the answer takes does not tell how much of a digest matched."""
    digest = key_digest(presented).encode()
    found: T | None = None
    for stored, holder in holders.items():
        if hmac.compare_digest(stored.encode(), digest):
            found = holder
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "digest" or len(argv) > 2:
        print("usage: python -m models.keys digest [key]   (no key: read it from stdin)", file=sys.stderr)
        return 2
    key = argv[1] if len(argv) == 2 else sys.stdin.readline().strip()
    if not key:
        print("no key given", file=sys.stderr)
        return 2
    print(key_digest(key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
