"""Connecting to a remote Temporal by settings: TLS files, mTLS, API key, validation at start-up.

The TLS tests are real: certificates are made with `cryptography` in tmp_path, and a TLS-terminating proxy
(Python's ssl, requiring a client certificate from our CA) forwards to the Temporal dev server, so a client
built from the settings must complete the handshake with the right files to reach Temporal at all."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError
from temporalio.service import RPCError, TLSConfig
from temporalio.testing import WorkflowEnvironment

from models.settings import Settings
from workflows.client import DATA_CONVERTER, connect_options, connect_temporal, tls_config

SERVER_NAME = "temporal.baton.test"

# --- certificates -------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    cn: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(cn), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    """A CA, a server certificate for SERVER_NAME and a client certificate, as PEM files."""

    dir: Path
    files: dict[str, Path] = field(default_factory=dict)

    def write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        self.files[name] = path
        return path


def _pki(directory: Path, ca_cn: str = "Baton Test CA") -> Pki:
    pki = Pki(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _cert(ca_cn, ca_key, ca=True)
    pki.write("ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert(SERVER_NAME, server_key, (ca_cert.subject, ca_key), server=True)
    pki.write("server.pem", server.public_bytes(serialization.Encoding.PEM))
    pki.write("server.key", _pem_key(server_key))
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert("baton-worker", client_key, (ca_cert.subject, ca_key))
    pki.write("client.pem", client.public_bytes(serialization.Encoding.PEM))
    pki.write("client.key", _pem_key(client_key))
    return pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return _pki(tmp_path)


# --- settings -> connection options -------------------------------------------------------------------------


def test_defaults_are_plain_local_without_codec():
    options = connect_options(Settings())
    assert options["target_host"] == "localhost:7233"
    assert options["namespace"] == "default"
    assert options["tls"] is False
    assert options["api_key"] is None
    assert options["data_converter"] is DATA_CONVERTER


def test_mtls_settings_give_a_tls_config_with_the_files_bytes(pki: Pki):
    settings = Settings(
        temporal_address="baton.a1b2c.tmprl.cloud:7233",
        temporal_namespace="baton.a1b2c",
        temporal_tls_client_cert_path=pki.files["client.pem"],
        temporal_tls_client_key_path=pki.files["client.key"],
        temporal_tls_server_ca_cert_path=pki.files["ca.pem"],
        temporal_tls_server_name=SERVER_NAME,
    )
    assert settings.temporal_tls_enabled  # implied by the files, no separate flag needed
    options = connect_options(settings)
    tls = options["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == pki.files["client.pem"].read_bytes()
    assert tls.client_private_key == pki.files["client.key"].read_bytes()
    assert tls.server_root_ca_cert == pki.files["ca.pem"].read_bytes()
    assert tls.domain == SERVER_NAME
    assert options["target_host"] == "baton.a1b2c.tmprl.cloud:7233"
    assert options["namespace"] == "baton.a1b2c"
    assert options["api_key"] is None


def test_tls_flag_alone_uses_system_roots():
    assert tls_config(Settings(temporal_tls=True)) is True


def test_api_key_turns_tls_on_and_is_sent(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BATON_TEMPORAL_ADDRESS", "eu-west-1.aws.api.temporal.io:7233")
    monkeypatch.setenv("BATON_TEMPORAL_NAMESPACE", "baton.a1b2c")
    monkeypatch.setenv("BATON_TEMPORAL_API_KEY", "tc-api-key-123")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    options = connect_options(settings)
    assert options["api_key"] == "tc-api-key-123"
    assert options["tls"] is True
    assert options["target_host"] == "eu-west-1.aws.api.temporal.io:7233"
    assert "tc-api-key-123" not in repr(settings)  # a SecretStr: not in logs or tracebacks


def test_api_key_with_a_private_ca_keeps_both(pki: Pki):
    settings = Settings(temporal_api_key="k", temporal_tls_server_ca_cert_path=pki.files["ca.pem"])  # type: ignore[arg-type]
    options = connect_options(settings)
    assert options["api_key"] == "k"
    assert isinstance(options["tls"], TLSConfig)
    assert options["tls"].server_root_ca_cert == pki.files["ca.pem"].read_bytes()
    assert options["tls"].client_cert is None


def test_codec_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    key = base64.b64encode(bytes(range(32))).decode()
    monkeypatch.setenv("BATON_CODEC_KEYS", f'{{"2026-01": "{key}"}}')
    monkeypatch.setenv("BATON_CODEC_ACTIVE_KEY_ID", "2026-01")
    monkeypatch.setenv("BATON_CODEC_SERVER_CORS_ORIGINS", '["https://temporal.example.com"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.codec_enabled
    assert settings.codec_keys["2026-01"].get_secret_value() == key
    assert key not in repr(settings)
    assert settings.codec_server_cors_origins == ["https://temporal.example.com"]
    codec = connect_options(settings)["data_converter"].payload_codec
    assert codec is not None and codec.active_key_id == "2026-01"


# --- validation at start-up ---------------------------------------------------------------------------------

KEY32 = base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"codec_keys": {"a": KEY32}, "codec_active_key_id": "b"},
            r"codec_active_key_id 'b' is not a key id.*known: a",
        ),
        ({"codec_active_key_id": "a"}, r"codec_active_key_id 'a' is not a key id.*known: none"),
        ({"codec_keys": {"a": base64.b64encode(b"short").decode()}}, r"codec key 'a' decodes to 5 bytes.*16, 24 or 32"),
        ({"codec_keys": {"a": "not base64 at all!"}}, r"codec key 'a' is not valid base64"),
        ({"codec_keys": {"": KEY32}}, r"codec key ids must not be empty"),
    ],
)
def test_invalid_codec_settings_fail_clearly(settings: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        Settings(**settings)


def test_all_aes_key_sizes_are_accepted():
    keys = {str(n): base64.b64encode(bytes(n)).decode() for n in (16, 24, 32)}
    assert Settings(codec_keys=keys, codec_active_key_id="16").codec_enabled  # type: ignore[arg-type]


def test_client_cert_without_key_fails_clearly(pki: Pki):
    with pytest.raises(ValidationError, match="must be given together"):
        Settings(temporal_tls_client_cert_path=pki.files["client.pem"])
    with pytest.raises(ValidationError, match="must be given together"):
        Settings(temporal_tls_client_key_path=pki.files["client.key"])


def test_missing_tls_file_fails_clearly(tmp_path: Path):
    with pytest.raises(ValidationError, match=r"temporal_tls_server_ca_cert_path\n.*[Pp]ath does not point to a file"):
        Settings(temporal_tls_server_ca_cert_path=tmp_path / "nope.pem")


# --- real connections ---------------------------------------------------------------------------------------


@dataclass
class TlsProxy:
    """Terminates TLS (requiring a client certificate from the CA) and forwards to the dev server."""

    address: str
    client_subjects: list[str] = field(default_factory=list)


def _target(env: WorkflowEnvironment) -> tuple[str, int]:
    host, port = env.client.service_client.config.target_host.rsplit(":", 1)
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest_asyncio.fixture
async def tls_proxy(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[TlsProxy]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.files["server.pem"], pki.files["server.key"])
    context.load_verify_locations(pki.files["ca.pem"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    upstream_host, upstream_port = _target(dev_env)
    proxy = TlsProxy(address="")
    tasks: set[asyncio.Task] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        subject = dict(item for rdn in peer["subject"] for item in rdn) if peer else {}
        proxy.client_subjects.append(subject.get("commonName", ""))
        up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handle(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=context)
    proxy.address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()


def _mtls_settings(pki: Pki, proxy: TlsProxy, **overrides) -> Settings:
    values = {
        "temporal_address": proxy.address,
        "temporal_tls_client_cert_path": pki.files["client.pem"],
        "temporal_tls_client_key_path": pki.files["client.key"],
        "temporal_tls_server_ca_cert_path": pki.files["ca.pem"],
        "temporal_tls_server_name": SERVER_NAME,
        **overrides,
    }
    return Settings(**{k: v for k, v in values.items() if v is not None})


async def _reaches_temporal(settings: Settings) -> bool:
    try:
        client = await asyncio.wait_for(connect_temporal(settings), timeout=20)
        await client.count_workflows()
    except (RuntimeError, RPCError, TimeoutError):
        return False
    return True


async def test_mtls_connection_through_a_tls_server_reaches_temporal(pki: Pki, tls_proxy: TlsProxy):
    assert await _reaches_temporal(_mtls_settings(pki, tls_proxy))
    assert "baton-worker" in tls_proxy.client_subjects  # the configured client certificate was presented


async def test_without_the_client_certificate_the_server_refuses(pki: Pki, tls_proxy: TlsProxy):
    settings = _mtls_settings(pki, tls_proxy, temporal_tls_client_cert_path=None, temporal_tls_client_key_path=None)
    assert not await _reaches_temporal(settings)
    assert tls_proxy.client_subjects == []


async def test_a_server_not_signed_by_the_configured_ca_is_refused(pki: Pki, tls_proxy: TlsProxy, tmp_path: Path):
    (tmp_path / "other").mkdir()
    other = _pki(tmp_path / "other", ca_cn="Someone Else")
    settings = _mtls_settings(pki, tls_proxy, temporal_tls_server_ca_cert_path=other.files["ca.pem"])
    assert not await _reaches_temporal(settings)
    assert tls_proxy.client_subjects == []


async def test_tls_settings_are_applied_to_the_connection(dev_env: WorkflowEnvironment):
    plain_address = dev_env.client.service_client.config.target_host
    assert await _reaches_temporal(Settings(temporal_address=plain_address))
    # the dev server speaks plain gRPC: a client that really uses TLS cannot talk to it
    assert not await _reaches_temporal(Settings(temporal_address=plain_address, temporal_tls=True))
