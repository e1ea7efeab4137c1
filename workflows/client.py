"""The one way every process (API, worker, tests, replayer, bench) connects to Temporal."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import CompositePayloadConverter, DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from models.settings import Settings
from workflows import search_attributes
from workflows.codec import codec_from_settings
from workflows.telemetry import tracing_interceptors


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """The pydantic payload converter, its encoding converters built once per process.

    The SDK builds a new payload converter for every workflow activation (twice); with the stock class that also
    threw away pydantic's cached type adapters each time, a large share of the worker's CPU per order. The
    encoding converters hold no per-call state (their type adapter cache is thread-safe), so they are shared."""

    _shared = tuple(PydanticPayloadConverter().converters.values())

    def __init__(self) -> None:
        super().__init__(*self._shared)


# Without the payload codec; every process should use data_converter(settings), which adds it when configured.
DATA_CONVERTER = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter, with the AES-GCM payload codec when `codec_active_key_id` is set."""
    codec = codec_from_settings(settings)
    return DATA_CONVERTER if codec is None else dataclasses.replace(DATA_CONVERTER, payload_codec=codec)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """False (plain), True (TLS with the system's roots), or a TLSConfig with the configured files' bytes."""
    if not settings.temporal_tls_enabled:
        return False
    cert, key, ca = (
        settings.temporal_tls_client_cert_path,
        settings.temporal_tls_client_key_path,
        settings.temporal_tls_server_ca_cert_path,
    )
    if not (cert or ca or settings.temporal_tls_server_name):
        return True
    return TLSConfig(
        server_root_ca_cert=ca.read_bytes() if ca else None,
        domain=settings.temporal_tls_server_name,
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for Client.connect: address, namespace, TLS, API key, data converter."""
    api_key = settings.temporal_api_key
    return {
        "target_host": settings.temporal_address,
        "namespace": settings.temporal_namespace,
        "tls": tls_config(settings),
        "api_key": api_key.get_secret_value() if api_key is not None else None,
        "data_converter": data_converter(settings),
    }


async def connect_temporal(
    settings: Settings, *, interceptors: Sequence[Interceptor] = (), runtime: Runtime | None = None
) -> Client:
    """Connect with the settings' options; with `otel_enabled` the tracing interceptor comes first, and a
    `runtime` (e.g. telemetry.worker_runtime) carries the SDK metrics of the client and its workers."""
    return await Client.connect(
        **connect_options(settings),
        interceptors=[*tracing_interceptors(settings), *interceptors],
        runtime=runtime,
    )


async def register_search_attributes(client: Client) -> list[str]:
    """Create Baton's custom search attributes where missing; returns the names it added."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server cannot list
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)  # the SDK mirrors the proto enum
        for key in search_attributes.ALL
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
