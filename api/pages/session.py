"""Signing in and out of the pages, and who the signed-in user is.

Sign-in takes an API key from BATON_API_KEYS and sets a signed, HttpOnly session cookie holding a fingerprint of
the key's digest (never the key), so removing a key from BATON_API_KEYS ends its sessions. Which roles may use
which page is decided by `api.deps.require_role`, the same check the API's bearer keys go through."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.deps import HEAD_OFFICE, PAGE_USERS, STORE_STAFF, SettingsDep, has_role, holder_with, require_role
from api.pages.shared import page
from api.problems import NotFound
from api.rate_limits import SignInLimit
from models.keys import holder_of, key_digest
from models.settings import ApiKeyHolder, Settings

COOKIE = "baton_session"
SESSION_MAX_AGE = 12 * 3600
SIGN_IN = "/ui/sign-in"

router = APIRouter(prefix="/ui", include_in_schema=False)


class Redirect(Exception):
    """Answered with a redirect (an HX-Redirect for htmx requests)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class SignInRequired(Redirect):
    """No valid session: to the sign-in page, coming back afterwards."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN)


def _fingerprint(digest: str) -> str:
    """The session's mark of a key, made from the key's digest (all Baton keeps of it; models/keys.py)."""
    return hashlib.sha256(f"baton-ui-session:{digest}".encode()).hexdigest()[:32]


def _holder_by_fingerprint(settings: Settings, fingerprint: str) -> ApiKeyHolder | None:
    found = None
    for digest, holder in settings.api_keys.items():  # every one compared, in constant time
        if hmac.compare_digest(_fingerprint(digest).encode(), fingerprint.encode()):
            found = holder
    return found


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret.get_secret_value(), salt="baton-ui-session")


def signed_in(request: Request, settings: SettingsDep) -> ApiKeyHolder:
    """The signed-in user: the holder of the key whose fingerprint the cookie carries, if it may use the pages."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise SignInRequired
    try:
        fingerprint = _serializer(settings).loads(cookie, max_age=SESSION_MAX_AGE)
    except BadSignature:
        raise SignInRequired from None
    holder = _holder_by_fingerprint(settings, str(fingerprint))
    if holder is None:
        raise SignInRequired
    return require_role(holder, PAGE_USERS, SignInRequired)


def home_of(user: ApiKeyHolder) -> str:
    return "/ui/orders" if has_role(user, HEAD_OFFICE) else "/ui/store"


User = Annotated[ApiKeyHolder, Depends(signed_in)]
HeadOfficeUser = Annotated[
    ApiKeyHolder,
    holder_with(signed_in, HEAD_OFFICE, lambda: NotFound("this page is for Head Office", type_="page-not-found")),
]
StoreUser = Annotated[
    ApiKeyHolder,
    holder_with(
        signed_in, STORE_STAFF, lambda: NotFound("the Pick Manager is for store staff", type_="page-not-found")
    ),
]


@router.get("")
def home(user: User) -> RedirectResponse:
    return RedirectResponse(home_of(user), status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "") -> Response:
    return page(request, "sign_in.html", None, next=next)


@router.post("/sign-in", dependencies=[SignInLimit])  # attempts per client address (api/rate_limits.py)
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    form = await request.form()
    key = str(form.get("api_key", "")).strip()
    next_page = str(form.get("next", ""))
    holder = holder_of(settings.api_keys, key)
    try:
        if holder is None:
            raise SignInRequired
        require_role(holder, PAGE_USERS, SignInRequired)
    except SignInRequired:
        error = "Unknown key." if holder is None else "Channel keys cannot sign in; use a Head Office or store key."
        return page(request, "sign_in.html", None, status_code=401, error=error, next=next_page)
    response = RedirectResponse(next_page if next_page.startswith("/ui/") else home_of(holder), status_code=303)
    response.set_cookie(
        COOKIE,
        _serializer(settings).dumps(_fingerprint(key_digest(key))),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/sign-out")
def sign_out() -> RedirectResponse:
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
