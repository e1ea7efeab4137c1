"""Keeping other sites out of the pages: the session cookie's contents, CSRF tokens, the cross-site check on every
state-changing /ui request, and the headers every answer carries.

A state-changing request must come from a page of Baton's own: `Sec-Fetch-Site` (sent by every current browser)
must not be `cross-site` or `same-site`, an `Origin` must be Baton's own, and the request must carry the CSRF
token of the page it came from (the `csrf_token` field of a plain form, or the `X-CSRF-Token` header htmx sends
from the page's `hx-headers`). The token is an HMAC of the session id under the session secret, so it is tied to
one session and needs no storage; before sign-in it is tied to a random `baton_csrf` cookie instead (so nobody
can sign a browser in to someone else's account). Either check alone would do against today's browsers; both are
kept because older browsers and proxies drop one or the other."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pages.shared import templates
from api.problems import Forbidden
from models.settings import Settings

SESSION_COOKIE = "baton_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_COOKIE = "baton_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/ui"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# 'self' only: no inline script, no eval, no inline style (htmx's indicator style is off in base.html), no
# framing, and forms may post only to Baton.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class CrossSiteRefused(Forbidden):
    """A state-changing /ui request that did not come from one of Baton's own pages: nothing was done."""


@dataclass(frozen=True)
class SessionClaims:
    """Who a session is: a staff user (their name and the stamp of their password) or an API key's fingerprint."""

    key_fingerprint: str  # of the API key signed in with (never the key); "" for a staff user
    session_id: str  # what sign-out revokes
    username: str = ""  # a staff user (models/staff.py)
    stamp: str = ""  # the staff account's stamp at sign-in: a new password or disabling ends the session


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret.get_secret_value(), salt="baton-ui-session")


def session_cookie(settings: Settings, claims: SessionClaims) -> str:
    data = {"key": claims.key_fingerprint, "session": claims.session_id}
    if claims.username:
        data |= {"user": claims.username, "stamp": claims.stamp}
    return _serializer(settings).dumps(data)


def read_session(request: Request, settings: Settings, *, any_age: bool = False) -> SessionClaims | None:
    """What the session cookie says, if Baton signed it (and, unless `any_age`, within its lifetime)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        data: Any = _serializer(settings).loads(cookie, max_age=None if any_age else SESSION_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not isinstance(data.get("session"), str):
        return None  # a cookie from before sessions had ids
    username, stamp = data.get("user", ""), data.get("stamp", "")
    if not isinstance(username, str) or not isinstance(stamp, str):
        return None
    return SessionClaims(data["key"], data["session"], username, stamp)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _token(settings: Settings, binding: str) -> str:
    secret = settings.session_secret.get_secret_value().encode()
    return hmac.new(secret, f"baton-ui-csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def _binding(request: Request, settings: Settings) -> str:
    """What the token is tied to: the session (of any age, so an expired one is sent to sign in, not refused),
    else the browser's csrf cookie, made now if it has none (`with_csrf_cookie` then sets it)."""
    claims = read_session(request, settings, any_age=True)
    if claims is not None:
        return f"session:{claims.session_id}"
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if not nonce:
        nonce = request.state.new_csrf_nonce = secrets.token_urlsafe(24)
    return f"browser:{nonce}"


def csrf_token(request: Request) -> str:
    """The token the page being rendered puts in its forms and htmx headers."""
    settings = _settings(request)
    return _token(settings, _binding(request, settings))


templates.env.globals["csrf_token"] = csrf_token


def with_csrf_cookie(request: Request, response: Response) -> Response:
    """Set the browser's csrf cookie if rendering the page made one (a page shown before sign-in)."""
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=_settings(request).cookie_secure,
            path=COOKIE_PATH,
        )
    return response


def _own_origin(request: Request) -> str | None:
    """Baton's own host[:port] as the browser addressed it (a TLS proxy in front must pass the Host header on)."""
    return request.headers.get("host")


async def refuse_cross_site(request: Request) -> None:
    """Every /ui router's first dependency: a state-changing request from another site, or without its page's
    token, is refused before anything reads the session or changes anything."""
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        raise CrossSiteRefused(f"refused a {fetch_site} request", type_="cross-site-request")
    origin = request.headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != _own_origin(request)):
        raise CrossSiteRefused(f"refused a request from {origin}", type_="cross-site-request")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = str((await request.form()).get(CSRF_FIELD, ""))  # read once: the endpoint reuses it
    settings = _settings(request)
    claims = read_session(request, settings, any_age=True)
    if claims is not None:
        expected = _token(settings, f"session:{claims.session_id}")
    elif nonce := request.cookies.get(CSRF_COOKIE):
        expected = _token(settings, f"browser:{nonce}")
    else:
        expected = None
    if not sent or expected is None or not hmac.compare_digest(sent, expected):
        raise CrossSiteRefused("the page's CSRF token is missing or wrong; reload the page", type_="csrf-token")


class SecurityHeaders:
    """Adds HEADERS to every answer, and the Content-Security-Policy to all but `csp_exempt` paths (the API's
    interactive docs, which load their script from a CDN). A plain ASGI middleware: no cost beyond the headers."""

    def __init__(self, app: ASGIApp, csp_exempt: frozenset[str] = frozenset()) -> None:
        self.app, self.csp_exempt = app, csp_exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = scope["path"] not in self.csp_exempt

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if with_csp:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)
