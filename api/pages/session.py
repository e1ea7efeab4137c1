"""Signing in and out of the pages, and who the signed-in user is.

People sign in with their staff account (user name and password, models/staff.py): the signed, HttpOnly session
cookie names the user and a stamp of their password, so a new password or a disabled account ends the session, and
every Head Office action is recorded as `ho:<username>`. Systems and the dev stack may still sign in with an API
key: sign-in takes an API key from BATON_API_KEYS and sets a signed, HttpOnly session cookie holding a fingerprint of
the key's digest (never the key) and a fresh session id, so removing a key from BATON_API_KEYS ends its sessions,
and sign-out revokes the session id server-side (models/db/ui_sessions.py): a copy of the cookie is refused from
then on. Which roles may use which page is decided by `api.deps.require_role`, the same check the API's bearer
keys go through. The cookie's contents and the CSRF checks are in `api.pages.security`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import (
    HEAD_OFFICE,
    PAGE_USERS,
    STORE_STAFF,
    SessionDep,
    SettingsDep,
    has_role,
    holder_with,
    in_threadpool,
    require_role,
)
from api.pages.security import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SessionClaims,
    read_session,
    session_cookie,
    with_csrf_cookie,
)
from api.pages.shared import page
from api.problems import NotFound
from api.rate_limits import SignInLimit
from models.db.staff import authenticate, signed_in_user
from models.db.ui_sessions import is_revoked, revoke
from models.keys import holder_of, key_digest
from models.settings import ApiKeyHolder, Settings

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


def signed_in(request: Request, settings: SettingsDep, session: SessionDep) -> ApiKeyHolder:
    """The signed-in user: the holder of the key whose fingerprint the cookie carries, if it may use the pages and
    the session was not signed out."""
    claims = read_session(request, settings)
    if claims is None:
        raise SignInRequired
    holder = None if claims.username else _holder_by_fingerprint(settings, claims.key_fingerprint)
    try:
        if claims.username:
            staff = signed_in_user(session, claims.username, claims.stamp)
            holder = staff.as_holder() if staff is not None else None
            request.state.staff_user = staff  # the header shows their name and role
        revoked = holder is None or is_revoked(session, claims.session_id)
    finally:
        session.close()  # give the connection back before the page's own work
    if revoked or holder is None:
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
    return with_csrf_cookie(request, page(request, "sign_in.html", None, next=next))


@router.post("/sign-in", dependencies=[SignInLimit])  # attempts per client address (api/rate_limits.py)
async def sign_in(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    """A staff user's name and password, or (for systems and the dev stack) an API key."""
    form = await request.form()
    key = str(form.get("api_key", "")).strip()
    username = str(form.get("username", "")).strip().lower()
    next_page = str(form.get("next", ""))
    claims: SessionClaims | None = None
    if username or not key:
        password = str(form.get("password", ""))
        found = await in_threadpool(session, authenticate, session, username, password)  # Argon2: off the loop
        holder = found[0].as_holder() if found else None
        if found:
            claims = SessionClaims("", secrets.token_urlsafe(24), found[0].username, found[1])
        error = "Unknown user name or wrong password."
    else:
        holder = holder_of(settings.api_keys, key)
        if holder is not None and has_role(holder, PAGE_USERS):
            claims = SessionClaims(_fingerprint(key_digest(key)), secrets.token_urlsafe(24))
        error = "Unknown key." if holder is None else "Channel keys cannot sign in; use a Head Office or store key."
    if claims is None or holder is None:
        response = page(request, "sign_in.html", None, status_code=401, error=error, next=next_page, username=username)
        return with_csrf_cookie(request, response)
    response = RedirectResponse(next_page if next_page.startswith("/ui/") else home_of(holder), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(settings, claims),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure or request.url.scheme == "https",
        path=COOKIE_PATH,
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, settings: SettingsDep, session: SessionDep) -> RedirectResponse:
    """Forget the session here and, by its id, everywhere: a copy of the cookie no longer signs anyone in."""
    claims = read_session(request, settings)
    if claims is not None:
        now = datetime.now(UTC)
        expires_at = now + timedelta(seconds=SESSION_MAX_AGE)  # no later than the cookie itself would have lapsed
        await in_threadpool(session, revoke, session, claims.session_id, now, expires_at)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
