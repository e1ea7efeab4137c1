"""The codec server endpoints the Temporal UI and CLI call to show encrypted payloads decrypted."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
import uvicorn
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.settings import Settings
from tests.support import API_KEYS, CHANNEL, HO, HO_KEY
from workflows.client import DATA_CONVERTER, connect_temporal, data_converter

UI = "http://localhost:8233"
KEYS = {"old": base64.b64encode(os.urandom(32)).decode(), "new": base64.b64encode(os.urandom(32)).decode()}
UI_HEADERS = {**HO, "X-Namespace": "default"}


def _settings(database_url: str, **extra) -> Settings:
    return Settings(database_url=database_url, api_keys=API_KEYS, **extra)  # type: ignore[arg-type]


def _codec_settings(database_url: str, active: str = "new") -> Settings:
    return _settings(database_url, codec_keys=KEYS, codec_active_key_id=active, codec_server_cors_origins=[UI])


async def _client(settings: Settings, env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal=env.client)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test") as http:
            yield http


@pytest_asyncio.fixture
async def api(dev_env, db, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(_codec_settings(database_url), dev_env):
        yield http


@pytest_asyncio.fixture
async def api_without_codec(dev_env, db, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(_settings(database_url), dev_env):
        yield http


def _json(payloads: list[Payload]) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def _payloads(body: dict) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


ORDER = {"order_number": "100777", "customer": {"email": "ada@example.com"}}


async def test_decode_returns_what_the_codec_encoded(api, database_url):
    # payloads as a worker with the old key, then one with the new key, would have written them
    encrypted = [
        *(await data_converter(_codec_settings(database_url, active="old")).encode([ORDER])),
        *(await data_converter(_codec_settings(database_url, active="new")).encode(["100777"])),
    ]
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in encrypted)

    answer = await api.post("/codec/decode", json=_json(encrypted), headers=UI_HEADERS)

    assert answer.status_code == 200, answer.text
    decoded = _payloads(answer.json())
    assert [p.metadata["encoding"] for p in decoded] == [b"json/plain", b"json/plain"]
    assert await DATA_CONVERTER.decode(decoded, [dict, str]) == [ORDER, "100777"]


async def test_decode_passes_plain_payloads_through(api):
    plain = await DATA_CONVERTER.encode(["not encrypted"])
    answer = await api.post("/codec/decode", json=_json(plain), headers=UI_HEADERS)
    assert answer.status_code == 200
    assert _payloads(answer.json()) == plain


async def test_encode_encrypts_with_the_active_key(api, database_url):
    plain = await DATA_CONVERTER.encode([ORDER])
    answer = await api.post("/codec/encode", json=_json(plain), headers=UI_HEADERS)
    assert answer.status_code == 200, answer.text
    [encrypted] = _payloads(answer.json())
    assert encrypted.metadata["encoding"] == b"binary/encrypted"
    assert encrypted.metadata["encryption-key-id"] == b"new"
    assert b"ada@example.com" not in encrypted.SerializeToString()
    assert await data_converter(_codec_settings(database_url)).decode([encrypted], [dict]) == [ORDER]


async def test_codec_server_needs_a_head_office_key(api, database_url):
    encrypted = await data_converter(_codec_settings(database_url)).encode([ORDER])
    for path in ("/codec/decode", "/codec/encode"):
        missing = await api.post(path, json=_json(encrypted), headers={"X-Namespace": "default"})
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert "ada@example.com" not in missing.text
        unknown = await api.post(path, json=_json(encrypted), headers={"Authorization": "Bearer nope"})
        assert unknown.status_code == 401
        channel = await api.post(path, json=_json(encrypted), headers=CHANNEL)
        assert channel.status_code == 403


async def test_unknown_key_id_and_tampering_are_clear_422s(api):
    foreign = await data_converter(
        Settings(codec_keys={"elsewhere": KEYS["new"]}, codec_active_key_id="elsewhere")  # type: ignore[arg-type]
    ).encode(["x"])
    answer = await api.post("/codec/decode", json=_json(foreign), headers=UI_HEADERS)
    assert answer.status_code == 422
    assert "'elsewhere'" in answer.json()["detail"]

    [good] = await data_converter(
        Settings(codec_keys=KEYS, codec_active_key_id="new")  # type: ignore[arg-type]
    ).encode(["x"])
    tampered = Payload(metadata=dict(good.metadata), data=good.data[:-1] + bytes([good.data[-1] ^ 1]))
    answer = await api.post("/codec/decode", json=_json([tampered]), headers=UI_HEADERS)
    assert answer.status_code == 422
    assert "failed authentication" in answer.json()["detail"]


async def test_malformed_body_is_422(api):
    answer = await api.post("/codec/decode", json={"payloads": [{"data": "not base64!!"}]}, headers=UI_HEADERS)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "payloads"
    answer = await api.post("/codec/decode", json={"payloads": "nope"}, headers=UI_HEADERS)
    assert answer.status_code == 422


async def test_cors_preflight_allows_the_configured_ui_only(api):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await api.options("/codec/decode", headers={"Origin": UI, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()

    other = await api.options("/codec/decode", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers

    # the actual request from the UI carries the CORS answer too
    answer = await api.post("/codec/decode", json={"payloads": []}, headers={**UI_HEADERS, "Origin": UI})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.json() == {"payloads": []}

    # the rest of the API does not answer cross-origin requests
    stores = await api.get("/stores", headers={"Origin": UI})
    assert "access-control-allow-origin" not in stores.headers


async def test_codec_server_is_absent_when_the_codec_is_off(api_without_codec):
    for path in ("/codec/decode", "/codec/encode"):
        answer = await api_without_codec.post(path, json={"payloads": []}, headers=UI_HEADERS)
        assert answer.status_code == 404
    openapi = (await api_without_codec.get("/openapi.json")).json()
    assert not any(path.startswith("/codec") for path in openapi["paths"])


async def test_temporal_cli_shows_decrypted_history_through_the_codec_server(dev_env, db, database_url):
    """The real consumer of the protocol: `temporal workflow show --codec-endpoint ... --codec-auth ...`."""
    address = dev_env.client.service_client.config.target_host
    settings = _codec_settings(database_url).model_copy(update={"temporal_address": address})
    encrypting = await connect_temporal(settings)
    workflow_id = f"codec-cli-{uuid.uuid4().hex[:8]}"
    # no worker polls this queue: the encrypted input simply sits in the history
    handle = await encrypting.start_workflow("OrderWorkflow", ORDER, id=workflow_id, task_queue=f"idle-{workflow_id}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, temporal=encrypting), port=0, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]

        async def show(*codec_args: str) -> dict:
            cli = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "temporal"), "workflow", "show", "--workflow-id", workflow_id,
                "--address", address, "--output", "json", *codec_args,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(cli.communicate(), timeout=60)
            assert cli.returncode == 0, err.decode()
            started = json.loads(out)["events"][0]["workflowExecutionStartedEventAttributes"]
            return started["input"]["payloads"][0]

        stored = await show()
        assert base64.b64decode(stored["metadata"]["encoding"]) == b"binary/encrypted"
        assert b"ada@example.com" not in base64.b64decode(stored["data"])

        decoded = await show("--codec-endpoint", f"http://127.0.0.1:{port}/codec", "--codec-auth", f"Bearer {HO_KEY}")
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(decoded["data"])) == ORDER
    finally:
        server.should_exit = True
        await serving
        await handle.terminate("test finished")
