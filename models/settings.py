"""One Settings object for every process, read from the environment with the prefix BATON_."""

from __future__ import annotations

import base64
import binascii
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from limits import parse_many
from pydantic import BaseModel, Field, FilePath, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.exporting import ExporterConfig, chain_problem
from models.keys import as_digest, is_digest
from models.targets import host_problem, refusal, url_host

ROOT = Path(__file__).resolve().parent.parent


class Role(StrEnum):
    head_office = "head_office"  # everything, including settings and interventions
    channel = "channel"  # a webstore, POS or call centre: place and read orders
    store = "store"  # one store's staff: read that store's orders only


class ApiKeyHolder(BaseModel):
    name: str
    role: Role
    store_id: str | None = None  # required for the store role
    # The channels this key may place orders for (None: any). A webstore's key bound to ["web"] cannot place
    # phone orders, which skip nothing but are judged by other approval rules.
    channels: list[Literal["web", "store", "phone"]] | None = None

    @model_validator(mode="after")
    def _store_role_names_its_store(self) -> Self:
        if (self.role is Role.store) != (self.store_id is not None):
            raise ValueError("store_id is required for the store role, and only for it")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BATON_", env_file=".env", extra="ignore")

    # "production" fails closed: Baton refuses to start on the test gateway, on demo keys (holders named demo-…),
    # without a payload codec key, or without its own session secret.
    environment: Literal["development", "production"] = "development"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "baton-orders"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'baton.db'}"
    # The embedded default creates tables on start; production sets BATON_DATABASE_AUTO_CREATE=false and runs
    # migrations (`./baton migrate`, Alembic) instead.
    database_auto_create: bool = True
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    store_push_timeout_seconds: float = Field(default=10.0, gt=0)
    # A store that sent heartbeats and then none for this long goes offline (no new click & collect orders).
    # Each heartbeat carries the value, so a change applies from the store's next heartbeat.
    store_link_timeout_seconds: int = Field(default=600, ge=1)
    # Bearer API keys: key -> who holds it. The dev stack sets demo keys; production sets its own.
    # A key may be given as its digest, "sha256:<hex>" (models/keys.py); once loaded only digests are kept, and
    # production refuses plain keys.
    api_keys: dict[str, ApiKeyHolder] = Field(default_factory=dict)
    _plain_key_holders: list[str] = PrivateAttr(default_factory=list)
    temporal_ui_url: str = "http://localhost:8233"
    # Signs the web pages' session cookie. The default is random per process (fine for one dev process; every
    # sign-in is lost on restart); production sets BATON_SESSION_SECRET, the same for every API instance.
    session_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    # Marks the pages' session and CSRF cookies Secure (sent over HTTPS only), also behind a TLS proxy that speaks
    # plain HTTP to Baton. Only the dev stack and the tests, which serve plain http, set it false.
    cookie_secure: bool = True
    # How long a Head Office action waits for the order's worker before answering 503.
    update_timeout_seconds: float = Field(default=10.0, gt=0)
    # Observability (docs/observability.md). GET /health/ready waits this long for the database and Temporal.
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)
    worker_metrics_address: str | None = None  # "host:port": the worker's Prometheus endpoint (SDK + Baton)
    worker_health_address: str | None = None  # "host:port": the worker answers 200 there while it runs
    otel_enabled: bool = False  # OpenTelemetry tracing, exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
    # XML notification extracts (activities/extracts.py) go to a drop folder and/or are POSTed to a URL; with
    # neither, third parties read them from GET /extracts. The dev stack (./baton up) uses var/extracts.
    extract_drop_folder: Path | None = None
    extract_http_url: str | None = Field(default=None, pattern=r"^https?://")
    extract_http_timeout_seconds: float = Field(default=10.0, gt=0)

    # Connecting to a remote Temporal (docs/temporal-connection.md). TLS is used when `temporal_tls` is set,
    # or any TLS file / server name, or an API key is given.
    temporal_tls: bool = False
    temporal_tls_client_cert_path: FilePath | None = None  # mTLS: client certificate (PEM) ...
    temporal_tls_client_key_path: FilePath | None = None  # ... and its private key (PEM), always together
    temporal_tls_server_ca_cert_path: FilePath | None = None  # CA of the server certificate (else system roots)
    temporal_tls_server_name: str | None = None  # TLS server name (SNI) if not the address's host
    temporal_api_key: SecretStr | None = None  # Temporal Cloud API key, sent as "Authorization: Bearer"
    # Payload encryption (workflows/codec.py): key id -> base64 AES key (16, 24 or 32 bytes). Payloads are
    # encrypted with the active key; every listed key still decrypts. No active key id: the codec is off.
    codec_keys: dict[str, SecretStr] = Field(default_factory=dict)
    codec_active_key_id: str | None = None
    # Origins (e.g. the Temporal UI's) allowed to call the codec server endpoints /codec/encode, /codec/decode.
    codec_server_cors_origins: list[str] = Field(default_factory=list)

    # Payment gateways (activities/gateways/). "test" is the built-in test gateway, whose outcome the card token
    # chooses; "stripe" moves real money through Stripe PaymentIntents and needs the API key.
    payment_gateway: Literal["test", "stripe"] = "test"
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"  # point at a localstripe for tests
    test_gateway_slow_seconds: float = Field(default=5.0, ge=0)  # how long tok_slow answers after recording
    test_gateway_outage_seconds: float = Field(default=30.0, ge=0)  # how long tok_outage stays unreachable
    test_gateway_authorisation_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)  # when authorisations lapse
    # Outbound webhooks and chained exporters, delivered by the outbox lanes (workflows/outbox.py). A lane whose
    # head delivery fails retries with exponential backoff (x2) from the initial interval up to the maximum; a
    # delivery still failing this long after it entered the outbox is given up and the lane moves on.
    exporters: list[ExporterConfig] = Field(default_factory=list)  # BATON_EXPORTERS, a JSON list
    outbound_timeout_seconds: float = Field(default=10.0, gt=0)
    outbound_retry_initial_seconds: float = Field(default=5.0, gt=0)
    outbound_retry_max_interval_seconds: float = Field(default=3600.0, gt=0)
    outbound_retry_horizon_seconds: float = Field(default=86400.0, gt=0)
    # Store messages are given up sooner: the order is alerted (store_unreachable) and Head Office steps in.
    store_message_horizon_seconds: float = Field(default=600.0, gt=0)
    extract_delivery_horizon_seconds: float = Field(default=3 * 86400.0, gt=0)
    # Each lane's relay activity takes up to this many rows at a time, looks again this often while its lane is
    # idle, and returns after this long idle (one loop of the lane's workflow: a few history events).
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_idle_seconds: float = Field(default=60.0, gt=0, le=180)
    # Request bodies larger than this are answered 413 before they are parsed (api/limits.py); store webhooks,
    # which anyone on the network can reach before their signature is checked, have a smaller limit.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_webhook_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # E-mail (activities/mail.py): the customer is told of ready_for_collection, collected, updated, cancelled,
    # refunded (and a delivery's shipped / delivered) unless they opted out; mailing lists get the event types they
    # name ({"cancelled": ["callcentre@example.com"]}); Head Office is told of orders waiting for approval. Sent by
    # the `mail` outbox lane through BATON_SMTP_URL (smtp://[user:password@]host[:port], smtps:// for TLS,
    # ?starttls=true to upgrade); no URL, no mail. Templates (Jinja, HTML and text) are looked up first in
    # BATON_MAIL_TEMPLATES_DIR/<channel>/, then BATON_MAIL_TEMPLATES_DIR/, then Baton's own.
    smtp_url: SecretStr | None = None
    mail_from: str = Field(default="Baton <orders@baton.invalid>", max_length=254)
    mail_lists: dict[str, list[str]] = Field(default_factory=dict)
    mail_head_office: list[str] = Field(default_factory=list)
    mail_templates_dir: Path | None = None
    mail_timeout_seconds: float = Field(default=15.0, gt=0)

    # The stuck-order sweep (workflows/sweep.py), a Temporal Schedule: every sweep_interval_seconds it looks at open
    # orders unchanged for stuck_after_seconds and alerts (`stuck`) those past every deadline by more than
    # stuck_grace_seconds, whose workflow does not answer, or whose store push failed stuck_failed_attempts times.
    sweep_interval_seconds: int = Field(default=600, ge=10, le=86400)
    stuck_after_seconds: int = Field(default=3600, ge=0, le=30 * 86400)
    stuck_grace_seconds: int = Field(default=900, ge=0, le=86400)
    stuck_failed_attempts: int = Field(default=5, ge=1, le=1000)
    sweep_batch_size: int = Field(default=200, ge=1, le=5000)

    # Outbound requests (subscribers, store webhooks, exporters, extracts) reach only public addresses: loopback,
    # private, link-local, metadata and other non-public targets are refused at registration and at send time.
    # The dev stack and the tests, whose receivers run on 127.0.0.1, allow them.
    allow_private_targets: bool = False
    # Rate limits, in the `limits` syntax ("10/minute", "100 per second; 2000 per hour"): sign-in attempts per
    # client address, store webhooks per store, order placements per key holder. Counted in memory (per process)
    # unless BATON_RATE_LIMIT_STORAGE names a shared store ("redis://host:6379") for several API processes.
    rate_limit_sign_in: str = "10/minute"
    rate_limit_webhooks: str = "6000/minute"
    rate_limit_placement: str = "6000/minute"
    rate_limit_storage: str = "memory://"

    @field_validator("exporters")
    @classmethod
    def _exporters_chain(cls, exporters: list[ExporterConfig]) -> list[ExporterConfig]:
        problem = chain_problem(exporters)
        if problem:
            raise ValueError(problem)
        return exporters

    @field_validator("rate_limit_sign_in", "rate_limit_webhooks", "rate_limit_placement")
    @classmethod
    def _rate_limits_parse(cls, limit: str) -> str:
        try:
            parse_many(limit)
        except ValueError:
            raise ValueError(f"{limit!r} is not a rate limit such as '10/minute' or '100 per second'") from None
        return limit

    @field_validator("codec_keys")
    @classmethod
    def _codec_keys_are_aes_keys(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, key in keys.items():
            if not key_id.strip():
                raise ValueError("codec key ids must not be empty")
            if len(key_id) > 64:  # it is written into every sealed secret (models/sealing.py), whose column is bounded
                raise ValueError(f"codec key id {key_id[:20]!r}… is longer than 64 characters")
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"codec key {key_id!r} is not valid base64") from None
            if len(raw) not in (16, 24, 32):
                raise ValueError(
                    f"codec key {key_id!r} decodes to {len(raw)} bytes; an AES key is 16, 24 or 32 bytes (32 advised)"
                )
        return keys

    @model_validator(mode="after")
    def _temporal_connection_is_consistent(self) -> Self:
        if self.codec_active_key_id is not None and self.codec_active_key_id not in self.codec_keys:
            known = ", ".join(sorted(self.codec_keys)) or "none"
            raise ValueError(
                f"codec_active_key_id {self.codec_active_key_id!r} is not a key id in codec_keys (known: {known})"
            )
        if (self.temporal_tls_client_cert_path is None) != (self.temporal_tls_client_key_path is None):
            raise ValueError(
                "temporal_tls_client_cert_path and temporal_tls_client_key_path must be given together (mTLS)"
            )
        if self.payment_gateway == "stripe" and self.stripe_api_key is None:
            raise ValueError("payment_gateway 'stripe' needs stripe_api_key (BATON_STRIPE_API_KEY)")
        self._keep_key_digests_only()
        if not self.allow_private_targets:
            self._outbound_urls_are_public()
        if self.environment == "production":
            self._fail_closed()
        return self

    def _keep_key_digests_only(self) -> None:
        """BATON_API_KEYS may give plain keys (development) or digests; from here on only digests are kept."""
        self._plain_key_holders = sorted(holder.name for key, holder in self.api_keys.items() if not is_digest(key))
        self.api_keys = {as_digest(key): holder for key, holder in self.api_keys.items()}

    def _outbound_urls_are_public(self) -> None:
        """Configured outbound URLs written with a non-public host are refused at start; names are checked when
        the lanes connect (activities/targets.py)."""
        urls = [("extract_http_url", self.extract_http_url)]
        urls += [(f"exporters[{e.name}].url", e.url) for e in self.exporters]
        for field, url in urls:
            host = url_host(url) if url else ""
            why = host_problem(host) if host else None
            if why is not None:
                raise ValueError(f"{field}: {refusal(url or '', host, why)}")

    def _fail_closed(self) -> None:
        """Production never runs on what only suits a demo."""
        problems = []
        if self.payment_gateway == "test":
            problems.append("payment_gateway is 'test' (set BATON_PAYMENT_GATEWAY=stripe and BATON_STRIPE_API_KEY)")
        demo = sorted(holder.name for holder in self.api_keys.values() if holder.name.startswith("demo-"))
        if demo:
            problems.append(f"demo API keys are configured ({', '.join(demo)}); set BATON_API_KEYS to your own")
        if self._plain_key_holders:
            problems.append(
                f"plain API keys are configured ({', '.join(self._plain_key_holders)}); give each as its digest "
                '("sha256:<hex>": python -m models.keys digest)'
            )
        unbound = sorted(h.name for h in self.api_keys.values() if h.role is Role.channel and h.channels is None)
        if unbound:  # an unbound channel key reads every channel's orders: each channel's customers are its own
            problems.append(
                f'channel keys not bound to channels ({", ".join(unbound)}); give each its "channels" '
                '(e.g. ["web"]) so it reads and places only its own orders'
            )
        if not self.codec_enabled:
            problems.append(
                "no payload codec key (BATON_CODEC_KEYS, BATON_CODEC_ACTIVE_KEY_ID): tokens would be "
                "readable in Temporal history"
            )
        if "session_secret" not in self.model_fields_set:
            problems.append("no BATON_SESSION_SECRET: page sessions would not survive a restart or span instances")
        if problems:
            raise ValueError("BATON_ENVIRONMENT=production refuses to start: " + "; ".join(problems))

    @property
    def temporal_tls_enabled(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_api_key is not None
            or self.temporal_tls_client_cert_path
            or self.temporal_tls_server_ca_cert_path
            or self.temporal_tls_server_name
        )

    @property
    def codec_enabled(self) -> bool:
        return self.codec_active_key_id is not None


@lru_cache
def get_settings() -> Settings:
    return Settings()
