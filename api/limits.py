"""Request body limits, enforced before anything parses the body.

A pure ASGI middleware rather than FastAPI's own `max_body_size`: that one answers 413 in text/plain when a
declared Content-Length is too large and the route did not read the body, and Baton answers every error in
problem+json. A declared Content-Length over the limit is refused before the app runs; a body without one
(chunked) is cut off as soon as it streams past the limit, and the rest is never read."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import ContentTooLarge, render_problem

WEBHOOK_PREFIX = "/webhooks/"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException because FastAPI re-raises
    those from body reading (anything else it turns into a 400), so the app's handlers render it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_webhook_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_webhook_body_bytes = max_webhook_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.max_webhook_body_bytes if path.startswith(WEBHOOK_PREFIX) else self.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            problem = ContentTooLarge(too_large_detail(limit), type_="content-too-large", limit=limit)
            response = render_problem(problem.status, problem.title, problem.type, problem.detail, path, limit=limit)
            response.headers["Connection"] = "close"  # the rest of the body is never read
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
