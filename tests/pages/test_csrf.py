"""Cross-site requests to the pages, without a browser (the page endpoints over ASGI): every state-changing /ui route
refuses a request without its page's CSRF token, with a wrong one, or from another site, and changes nothing;
sign-out revokes the session; the security headers; the Secure cookie setting."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.pages.security import CONTENT_SECURITY_POLICY
from models.settings import Settings
from tests.support import CHANNEL, HO, HO_KEY, csrf_token_in, order_body, ui_sign_in, wait_for_status

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def _place(http: httpx.AsyncClient) -> str:
    response = await http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(http, number, "awaiting_acknowledgement")
    return number


async def _notes(http: httpx.AsyncClient, number: str) -> list[str]:
    return [n["text"] for n in (await http.get(f"/orders/{number}", headers=HO)).json()["notes"]]


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps its routes there)
            yield from _api_routes(route.original_router.routes)


def _unsafe_ui_routes(settings: Settings) -> list[tuple[str, str]]:
    routes = [r for r in _api_routes(create_app(settings).routes) if r.path.startswith("/ui")]
    return [(method, r.path) for r in routes for method in sorted(r.methods & UNSAFE)]


def _refused(response: httpx.Response, type_: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert response.json()["type"].endswith(f"/problems/{type_}"), response.text


async def test_every_state_changing_page_route_refuses_a_request_without_its_token(stack):
    http = stack.http
    routes = _unsafe_ui_routes(stack.settings)
    paths = {path for _, path in routes}
    assert {"/ui/sign-in", "/ui/sign-out", "/ui/orders/{order_number}/actions/{path}"} <= paths
    assert "/ui/store/orders/{order_number}/{button}" in paths
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    token = http.headers.pop("X-CSRF-Token")
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", "x", path)
        _refused(await http.request(method, url, data={"reason": "r"}), "csrf-token")
        _refused(await http.request(method, url, data={"csrf_token": "0" * 64}), "csrf-token")
        _refused(await http.request(method, url, headers={"X-CSRF-Token": _other(token)}), "csrf-token")
    assert (await http.get("/ui/orders")).status_code == 200  # still signed in: sign-out was refused too


async def test_an_action_with_a_wrong_token_or_from_another_site_changes_nothing(stack):
    http = stack.http
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    token = http.headers.pop("X-CSRF-Token")
    number = await _place(http)
    url = f"/ui/orders/{number}/actions/notes"
    notes = await _notes(http, number)  # the customer's, from the order

    def note(text: str, **fields: str) -> dict[str, str]:
        return {"text": text, "idempotency_key": str(uuid.uuid4()), **fields}

    _refused(await http.post(url, data=note("no token")), "csrf-token")
    _refused(await http.post(url, data=note("wrong token", csrf_token="x" + token[1:])), "csrf-token")
    # The right token, but sent by another site: the browser's Sec-Fetch-Site or Origin gives it away.
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://baton.test:8080"},  # the same host on another port is another origin
    ):
        _refused(
            await http.post(url, data=note("from elsewhere", csrf_token=token), headers=headers), "cross-site-request"
        )
    assert await _notes(http, number) == notes

    # From Baton's own page (same origin, its token in the form or in htmx's header) it is done.
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "http://baton.test"}
    response = await http.post(url, data=note("from the page", csrf_token=token), headers=own)
    assert response.status_code == 200 and 'class="result done"' in response.text
    response = await http.post(url, data=note("by htmx"), headers={**own, "X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 200 and 'class="result done"' in response.text
    assert await _notes(http, number) == [*notes, "from the page", "by htmx"]


async def test_a_refusal_to_a_browser_navigation_is_a_page(stack):
    http = stack.http
    form = await http.get("/ui/sign-in")
    response = await http.post(
        "/ui/sign-in",
        data={"api_key": HO_KEY, "csrf_token": csrf_token_in(form.text)},
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Accept": "text/html"},
    )
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "<h1>Forbidden</h1>" in response.text and "baton_session" not in response.headers.get("set-cookie", "")


async def test_sign_in_needs_the_sign_in_forms_token(stack):
    http = stack.http
    response = await http.post("/ui/sign-in", data={"api_key": HO_KEY})
    _refused(response, "csrf-token")
    assert "baton_session" not in response.headers.get("set-cookie", "")
    await http.get("/ui/sign-in")  # a csrf cookie, but the token of another browser's form
    async with httpx.AsyncClient(transport=http._transport, base_url=http.base_url) as other_browser:
        other = csrf_token_in((await other_browser.get("/ui/sign-in")).text)
    _refused(await http.post("/ui/sign-in", data={"api_key": HO_KEY, "csrf_token": other}), "csrf-token")
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303


async def test_a_session_cookie_copied_before_sign_out_no_longer_signs_in(stack):
    http = stack.http
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    copied = http.cookies["baton_session"]
    thief = httpx.AsyncClient(transport=http._transport, base_url=http.base_url, cookies={"baton_session": copied})
    async with thief:
        assert (await thief.get("/ui/orders")).status_code == 200  # the copy works while the session lives
        response = await http.post("/ui/sign-out")  # the client sends the session's token, as the page's form does
        assert response.status_code == 303 and response.headers["location"] == "/ui/sign-in"
        response = await thief.get("/ui/orders")
        assert response.status_code == 303 and response.headers["location"].startswith("/ui/sign-in")
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303  # a new sign-in is a new session
    assert (await http.get("/ui/orders")).status_code == 200


async def test_every_answer_carries_the_security_headers(stack):
    http = stack.http
    answers = [
        await http.get("/ui/sign-in"),
        await http.get("/ui/static/htmx.min.js"),
        await http.get("/orders/999999", headers=HO),
        await http.post("/ui/sign-in", data={}),  # a refusal too
        await http.get("/health/live"),
    ]
    for response in answers:
        assert response.headers["x-frame-options"] == "DENY", response.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    csp = CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    docs = await http.get("/docs")  # the interactive API docs load their script from a CDN: no CSP there
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert docs.headers["x-frame-options"] == "DENY"


def test_no_template_evaluates_script_or_inlines_style():
    for template in TEMPLATES.glob("*.html"):
        text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # not the comments
        for forbidden in ("hx-on", "hx-vars", "js:", "javascript:", "<style", "style=", " on"):
            found = re.search(re.escape(forbidden) + (r"[a-z]+=" if forbidden == " on" else ""), text)
            assert found is None, f"{template.name}: {forbidden}"
        assert all(src for src in re.findall(r"<script( src=)?", text)), f"{template.name}: an inline script"
        assert not re.search(r"hx-trigger=\"[^\"]*\[", text), f"{template.name}: a trigger filter (needs eval)"


@pytest.mark.parametrize("secure", [True, False])
async def test_cookie_secure_marks_the_session_and_csrf_cookies(stack, secure: bool):
    settings = stack.settings.model_copy(update={"cookie_secure": secure})
    app = create_app(settings, temporal=stack.client)
    async with app.router.lifespan_context(app):
        # Plain http as behind a TLS proxy; a client sends a Secure cookie back only over https, so then https.
        transport = httpx.ASGITransport(app=app)
        base_url = "https://baton.test" if secure else "http://baton.test"
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            form = await http.get("/ui/sign-in")
            assert ("Secure" in form.headers["set-cookie"]) is secure
            assert "baton_csrf=" in form.headers["set-cookie"] and "HttpOnly" in form.headers["set-cookie"]
            response = await http.post("/ui/sign-in", data={"api_key": HO_KEY, "csrf_token": csrf_token_in(form.text)})
            assert response.status_code == 303
            cookie = response.headers["set-cookie"]
            assert cookie.startswith("baton_session=") and "HttpOnly" in cookie and ("Secure" in cookie) is secure


def test_cookie_secure_is_on_unless_set(monkeypatch):
    monkeypatch.delenv("BATON_COOKIE_SECURE", raising=False)
    assert Settings().cookie_secure is True
    monkeypatch.setenv("BATON_COOKIE_SECURE", "false")
    assert Settings().cookie_secure is False


def _other(token: str) -> str:
    """The token with its last character changed (to "0" unless it is one already: then it would be the token)."""
    return token[:-1] + ("1" if token.endswith("0") else "0")
