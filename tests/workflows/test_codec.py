"""The AES-GCM payload codec: round trip, key rotation, tampering, and an order run on the dev server whose
history holds only ciphertext while a client with the keys reads it as usual."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api.app import create_app
from models.order import OrderState, order_workflow_id
from models.settings import Settings
from tests.support import API_KEYS, CHANNEL, order_body, wait_for_status
from worker import build_worker
from workflows.client import DATA_CONVERTER, connect_temporal, data_converter
from workflows.codec import ENCODING, KEY_ID_METADATA, AesGcmCodec, CodecError
from workflows.order import OrderWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _settings(keys: Mapping[str, str], active: str | None, **extra) -> Settings:
    return Settings(codec_keys=keys, codec_active_key_id=active, **extra)  # type: ignore[arg-type]


@pytest.fixture
def keys() -> dict[str, str]:
    return {"2026-01": _key(), "2026-07": _key()}


async def _encode(settings: Settings, value: object) -> Payload:
    [payload] = await data_converter(settings).encode([value])
    return payload


# --- the codec on its own -----------------------------------------------------------------------------------


async def test_round_trip_encrypts_and_restores(keys):
    settings = _settings(keys, "2026-01")
    value = {"order_number": "100042", "customer": {"email": "ada@example.com"}}
    payload = await _encode(settings, value)

    assert payload.metadata["encoding"] == ENCODING == b"binary/encrypted"
    assert payload.metadata[KEY_ID_METADATA] == b"2026-01"
    assert b"100042" not in payload.SerializeToString()
    assert b"ada@example.com" not in payload.SerializeToString()
    assert await data_converter(settings).decode([payload], [dict]) == [value]


async def test_same_value_encrypts_differently_each_time(keys):
    settings = _settings(keys, "2026-01")
    first, second = await _encode(settings, "100042"), await _encode(settings, "100042")
    assert first.data != second.data  # a fresh nonce per payload


async def test_codec_off_by_default_leaves_payloads_plain():
    settings = Settings()
    assert not settings.codec_enabled
    assert data_converter(settings) is DATA_CONVERTER
    payload = await _encode(settings, {"order_number": "100042"})
    assert payload.metadata["encoding"] == b"json/plain"
    assert b"100042" in payload.data


async def test_rotation_old_key_still_decrypts_new_payloads_use_new_key(keys):
    before = _settings({"2026-01": keys["2026-01"]}, "2026-01")
    old_payload = await _encode(before, "written in January")

    after = _settings(keys, "2026-07")  # new key added and made active; the old one kept for decrypting
    new_payload = await _encode(after, "written in July")
    assert new_payload.metadata[KEY_ID_METADATA] == b"2026-07"
    assert await data_converter(after).decode([old_payload, new_payload], [str, str]) == [
        "written in January",
        "written in July",
    ]

    retired = _settings({"2026-07": keys["2026-07"]}, "2026-07")  # old key dropped too early
    with pytest.raises(CodecError, match=r"key id '2026-01'.*not configured"):
        await data_converter(retired).decode([old_payload], [str])


async def test_tampered_ciphertext_fails(keys):
    settings = _settings(keys, "2026-01")
    payload = await _encode(settings, {"amount": 1500})
    flipped = bytearray(payload.data)
    flipped[-1] ^= 0x01
    tampered = Payload(metadata=dict(payload.metadata), data=bytes(flipped))
    with pytest.raises(CodecError, match="failed authentication"):
        await data_converter(settings).decode([tampered], [dict])


async def test_relabelled_key_id_fails_even_if_that_key_exists(keys):
    settings = _settings(keys, "2026-01")
    payload = await _encode(settings, "secret")
    relabelled = Payload(metadata={**payload.metadata, KEY_ID_METADATA: b"2026-07"}, data=payload.data)
    with pytest.raises(CodecError, match="failed authentication"):
        await data_converter(settings).decode([relabelled], [str])


async def test_plain_payloads_pass_through_decode(keys):
    settings = _settings(keys, "2026-01")
    [plain] = await DATA_CONVERTER.encode(["written before the codec was on"])
    assert await data_converter(settings).decode([plain], [str]) == ["written before the codec was on"]


async def test_truncated_or_unlabelled_payloads_fail_clearly(keys):
    codec = AesGcmCodec({"k": base64.b64decode(keys["2026-01"])}, "k")
    with pytest.raises(CodecError, match="too short"):
        await codec.decode([Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"k"}, data=b"short")])
    with pytest.raises(CodecError, match="no 'encryption-key-id'"):
        await codec.decode([Payload(metadata={"encoding": ENCODING}, data=os.urandom(64))])


async def test_turning_the_codec_on_keeps_recorded_plain_histories_replaying(keys):
    """Orders started before the codec was switched on carry plain payloads; the codec passes them through."""
    path = HISTORIES / "click_and_collect_completed.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    converter = data_converter(_settings(keys, "2026-01"))
    await Replayer(workflows=[OrderWorkflow], data_converter=converter).replay_workflow(history)


# --- an order through the dev server with the codec on -----------------------------------------------------


# sdk-core's own bookkeeping in a local activity's marker (sequence number, attempt, times): no order data,
# written by the SDK below the data converter.
LOCAL_ACTIVITY_MARKER_DATA = "marker_recorded_event_attributes.details[data]"
# A workflow.patched() marker: the patch id (e.g. "order-notifications") and a flag, written by sdk-core below
# the data converter; no order data.
PATCH_MARKER_DATA = "marker_recorded_event_attributes.details[patch-data]"


def _history_payloads(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload in a history event with the path to it. Search attributes (indexed, never personal data)
    and headers are left out: the codec is not meant to encrypt those."""
    for field, value in message.ListFields():
        if field.message_type is None or field.name in ("search_attributes", "header"):
            continue
        here = f"{path}.{field.name}" if path else field.name
        if field.message_type.GetOptions().map_entry:
            items = [(f"{here}[{key}]", item) for key, item in value.items() if isinstance(item, Message)]
        elif isinstance(value, Message):
            items = [(here, value)]
        else:
            items = [(f"{here}[{i}]", item) for i, item in enumerate(value)]
        for item_path, item in items:
            if item_path in (LOCAL_ACTIVITY_MARKER_DATA, PATCH_MARKER_DATA):
                continue
            if isinstance(item, Payload):
                yield item_path, item
            else:
                yield from _history_payloads(item, item_path)


@dataclass
class CodecStack:
    plain: Client  # no codec: sees what the Temporal server stores
    codec: Client
    settings: Settings
    http: httpx.AsyncClient


@pytest_asyncio.fixture
async def codec_stack(
    dev_env: WorkflowEnvironment, db: Engine, database_url: str, executor: ThreadPoolExecutor, keys
) -> AsyncIterator[CodecStack]:
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
        database_url=database_url,
        task_queue=f"test-codec-{uuid.uuid4().hex[:8]}",
        api_keys=API_KEYS,  # type: ignore[arg-type]
        codec_keys=keys,  # type: ignore[arg-type]
        codec_active_key_id="2026-07",
    )
    client = await connect_temporal(settings)  # the real connect path, with the codec
    assert client.data_converter.payload_codec is not None
    app = create_app(settings, temporal=client)
    async with httpx.AsyncClient() as outbound, app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test") as http:
            async with build_worker(client, settings, db, outbound, executor):
                yield CodecStack(dev_env.client, client, settings, http)


async def test_order_history_is_encrypted_on_the_server_and_readable_with_the_keys(codec_stack: CodecStack):
    body = order_body()
    placed = await codec_stack.http.post("/orders", json=body, headers=CHANNEL)
    assert placed.status_code == 201, placed.text
    number = placed.json()["order_number"]
    view = await wait_for_status(codec_stack.http, number, "awaiting_acknowledgement")  # query via the worker
    assert view["customer"]["email"] == "ada@example.com"

    workflow_id = order_workflow_id(number)
    try:
        raw = await codec_stack.plain.get_workflow_handle(workflow_id).fetch_history()
        payloads = [(field, p) for event in raw.events for field, p in _history_payloads(event)]
        assert len(payloads) >= 2, "expected the workflow input and a local activity's result in history"
        for field, payload in payloads:
            assert payload.metadata.get("encoding") == b"binary/encrypted", f"{field} is stored unencrypted"
            assert payload.metadata.get("encryption-key-id") == b"2026-07"
            assert number.encode() not in payload.SerializeToString(), f"order number readable in {field}"
        stored = b"".join(event.SerializeToString() for event in raw.events)
        for secret in (b"ada@example.com", b"Ada Lovelace", body["web_reference"].encode(), b"gift wrap"):
            assert secret not in stored

        # the same payloads, decrypted by the codec, do hold the order: the checks above looked at the right bytes
        codec = codec_stack.codec.data_converter.payload_codec
        assert codec is not None
        decrypted = b"".join(p.SerializeToString() for p in await codec.decode([p for _f, p in payloads]))
        assert b"ada@example.com" in decrypted and number.encode() in decrypted

        # a client with the codec reads the history as usual
        history = await codec_stack.codec.get_workflow_handle(workflow_id).fetch_history()
        started = next(e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        [state] = await codec_stack.codec.data_converter.decode(
            started.workflow_execution_started_event_attributes.input.payloads, [OrderState]
        )
        assert isinstance(state, OrderState)
        assert state.order_number == number
        assert state.customer.email == "ada@example.com"

        # the encrypted history replays with the codec (as the replay tests do with recorded histories)
        await Replayer(workflows=[OrderWorkflow], data_converter=codec_stack.codec.data_converter).replay_workflow(raw)

        # ... and a client without the keys cannot read it
        with pytest.raises(Exception):  # noqa: B017 - the pydantic converter does not know binary/encrypted
            await DATA_CONVERTER.decode(started.workflow_execution_started_event_attributes.input.payloads)
    finally:
        await codec_stack.codec.get_workflow_handle(workflow_id).terminate("test finished")
