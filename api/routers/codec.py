"""The Temporal codec server: lets the Temporal UI and CLI show encrypted payloads decrypted, for Head Office.

Protocol (Temporal's remote codec): `POST /codec/decode` and `POST /codec/encode` with a `Payloads` message in
protobuf JSON, `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`, answered in kind.
The UI sends `X-Namespace` and, when told to, the user's access token; calls from the browser are cross-origin,
so the configured UI origins get CORS on these paths (and only these).

Mounted only when the payload codec is configured (`BATON_CODEC_ACTIVE_KEY_ID`); otherwise these paths are 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.deps import HeadOffice
from api.problems import field_error
from models.settings import Settings
from workflows.codec import AesGcmCodec, CodecError, codec_from_settings

PREFIX = "/codec"

router = APIRouter(prefix=PREFIX, tags=["codec server"])


class PayloadJson(BaseModel):
    """A Temporal Payload in protobuf JSON: metadata values and data are base64."""

    model_config = ConfigDict(extra="allow")
    metadata: dict[str, str] = {}
    data: str = ""


class PayloadsJson(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJhIjogMX0="}]}]
        },
    )
    payloads: list[PayloadJson] = []


def _codec(request: Request) -> AesGcmCodec:
    codec: AesGcmCodec = request.app.state.codec
    return codec


def _parse(body: PayloadsJson) -> Payloads:
    try:
        return json_format.ParseDict(body.model_dump(exclude_unset=False), Payloads())
    except json_format.ParseError as error:
        raise field_error("payloads", f"not a Payloads message in protobuf JSON: {error}") from None


def _answer(payloads: list[Any]) -> JSONResponse:
    return JSONResponse(
        json_format.MessageToDict(Payloads(payloads=payloads), always_print_fields_with_no_presence=True)
    )


@router.post("/decode", response_model=PayloadsJson)
async def decode(body: Annotated[PayloadsJson, Body()], request: Request, _ho: HeadOffice) -> JSONResponse:
    """Decrypt payloads (any configured key id); payloads that are not encrypted come back unchanged."""
    payloads = _parse(body)
    try:
        decoded = await _codec(request).decode(payloads.payloads)
    except CodecError as error:
        raise field_error("payloads", str(error)) from None
    return _answer(decoded)


@router.post("/encode", response_model=PayloadsJson)
async def encode(body: Annotated[PayloadsJson, Body()], request: Request, _ho: HeadOffice) -> JSONResponse:
    """Encrypt payloads with the active key (used when the UI or CLI sends input, e.g. a signal)."""
    return _answer(await _codec(request).encode(_parse(body).payloads))


class _CodecCors:
    """CORS for the codec server paths only: the Temporal UI's origin may call them from the browser."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,  # the UI's "include cross-origin credentials"
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_codec_server(app: FastAPI, settings: Settings) -> None:
    """Mount the codec server on `app` if the payload codec is configured; else leave its paths 404."""
    codec = codec_from_settings(settings)
    if codec is None:
        return
    app.state.codec = codec
    app.include_router(router)
    if settings.codec_server_cors_origins:
        app.add_middleware(_CodecCors, origins=list(settings.codec_server_cors_origins))
