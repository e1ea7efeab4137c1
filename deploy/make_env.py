"""Write the secrets docker-compose.yml needs into .env: database passwords and Baton's first API keys.

    python3 deploy/make_env.py            # writes .env beside docker-compose.yml (never overwrites it)
    python3 deploy/make_env.py other.env  # or somewhere else: docker compose --env-file other.env up

Standard library only, so it runs before anything is installed. The keys it prints are the only copy outside
.env: keep .env out of version control and readable by the operator only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_env() -> tuple[str, dict[str, dict[str, str]]]:
    """The .env text and the API keys in it. Passwords are URL-safe: they go into BATON_DATABASE_URL as is."""
    keys = {
        f"ho-{secrets.token_urlsafe(24)}": {"name": "head-office", "role": "head_office"},
        f"web-{secrets.token_urlsafe(24)}": {"name": "webstore", "role": "channel", "channels": ["web"]},
    }
    # Only the keys' digests go into .env (production refuses plain keys); the keys themselves are printed once.
    digests = {"sha256:" + hashlib.sha256(key.encode()).hexdigest(): holder for key, holder in keys.items()}
    lines = [
        "# Secrets for docker-compose.yml, made by deploy/make_env.py. Never commit this file.",
        f"POSTGRES_PASSWORD={secrets.token_urlsafe(24)}",
        f"POSTGRES_TEMPORAL_PASSWORD={secrets.token_urlsafe(24)}",
        f"POSTGRES_BATON_PASSWORD={secrets.token_urlsafe(24)}",
        "# Baton's API keys as digests (sha256:<hex of the key>) -> {name, role}; role head_office or channel.",
        f"BATON_API_KEYS='{json.dumps(digests)}'",
        "# Signs the web pages' session cookie (sign-in at /ui); every API instance needs the same one.",
        f"BATON_SESSION_SECRET={secrets.token_urlsafe(32)}",
        "# Encrypts workflow payloads (card tokens included) in Temporal; keep old keys listed when rotating.",
        f"BATON_CODEC_KEYS='{json.dumps({'k1': base64.b64encode(secrets.token_bytes(32)).decode()})}'",
        "BATON_CODEC_ACTIVE_KEY_ID=k1",
        "# Production takes payments through Stripe: put your secret key here (Baton refuses to start without it).",
        "BATON_PAYMENT_GATEWAY=stripe",
        "BATON_STRIPE_API_KEY=",
    ]
    return "\n".join(lines) + "\n", keys


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ROOT / ".env"
    if target.exists():
        print(f"{target} exists; not overwriting it (delete it first to start afresh)", file=sys.stderr)
        return 1
    text, keys = make_env()
    target.touch(mode=0o600)
    target.write_text(text)
    print(f"wrote {target}")
    for key, holder in keys.items():
        print(f"  {holder['role']:<12} {holder['name']:<12} {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
