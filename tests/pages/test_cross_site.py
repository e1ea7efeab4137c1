"""Other sites against the pages, in a real Chromium: a page on another origin that posts a form to Baton for a
signed-in user is refused (403) and changes nothing, even when it knows the user's CSRF token; Baton's own forms
still work; the headers and the CSP hold with no violation; htmx runs without eval; a session cookie put back
after sign-out is refused."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from api.pages.security import CONTENT_SECURITY_POLICY
from tests.pages.conftest import Live, sign_in
from tests.pages.test_pages import open_action, send
from tests.support import CHANNEL, HO, HO_KEY, order_body, wait_for_status


@contextmanager
def other_site(pages: dict[str, str]) -> Iterator[int]:
    """A tiny web server of another origin on a loopback port, serving `pages` (path -> HTML); yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _auto_submitting_form(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    return (
        f'<!doctype html><form id="f" method="post" action="{escape(action)}">{inputs}</form>'
        '<script>document.getElementById("f").submit()</script>'
    )


async def _place(live: Live) -> str:
    response = await live.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    return number


async def _status_and_notes(live: Live, number: str) -> tuple[str, list[str]]:
    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    return view["status"], [n["text"] for n in view["notes"]]


async def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(page: Page, live: Live):
    number = await _place(live)
    await sign_in(page, HO_KEY)
    await page.goto(f"/ui/orders/{number}")
    token = json.loads(await page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    before = await _status_and_notes(live, number)
    cancel = f"{live.base_url}/ui/orders/{number}/actions/cancel"
    port = urlsplit(live.base_url).port
    attack = {"reason": "forged", "idempotency_key": "forged-1"}
    with other_site(
        {
            "/no-token": _auto_submitting_form(cancel, attack),
            # Even a page that somehow learnt the user's token is refused: the browser says where it comes from.
            "/stolen-token": _auto_submitting_form(cancel, {**attack, "csrf_token": token}),
        }
    ) as other_port:
        assert other_port != port
        # localhost is another site than 127.0.0.1; 127.0.0.1 on another port is the same site, another origin.
        for origin in (f"http://localhost:{other_port}", f"http://127.0.0.1:{other_port}"):
            for attacker in ("/no-token", "/stolen-token"):
                async with page.expect_response(lambda r: r.request.method == "POST") as posted:
                    await page.goto(origin + attacker)
                response = await posted.value
                assert response.url == cancel
                assert response.status == 403, (origin, attacker, await response.text())
                await expect(page.locator("h1")).to_have_text("Forbidden")
                assert await _status_and_notes(live, number) == before

    # Baton's own page still works: the same cancel from the order page, and a plain form (sign-out).
    await page.goto(f"/ui/orders/{number}")
    await open_action(page, "cancel")
    form = page.locator("#action-cancel")
    await form.locator("input[name=reason]").fill("customer changed their mind")
    await send(page, "cancel")
    await expect(page.locator("#order-status")).to_have_text("cancelled")
    assert (await _status_and_notes(live, number))[0] == "cancelled"


async def test_pages_carry_the_headers_and_break_no_rule_of_their_policy(page: Page, live: Live):
    number = await _place(live)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    await sign_in(page, HO_KEY)
    response = await page.goto(f"/ui/orders/{number}")
    assert response is not None and response.status == 200
    headers = await response.all_headers()
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"

    # htmx runs without eval, without its inline indicator style, and only towards Baton.
    config = await page.evaluate("({...htmx.config})")
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    assert config["selfRequestsOnly"] is True and config["allowScriptTags"] is False

    await open_action(page, "notes")  # an htmx action morphs the order in: its HTML obeys the policy too
    form = page.locator("#action-notes")
    await form.locator("textarea[name=text]").fill("rang the customer")
    await send(page, "notes")
    await expect(page.locator("#result.done")).to_contain_text("Note added")
    await page.goto("/ui/orders")
    await page.wait_for_timeout(2500)  # one poll of the live list
    assert violations == []


async def test_a_session_cookie_put_back_after_sign_out_is_refused(page: Page, live: Live):
    await sign_in(page, HO_KEY)
    await expect(page).to_have_url(re.compile(r"/ui/orders$"))
    copied = [c for c in await page.context.cookies() if c["name"] == "baton_session"]
    assert copied

    await page.click("text=Sign out")  # a plain form post, with its token
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    await page.context.add_cookies(copied)  # as someone who copied the cookie would
    await page.goto("/ui/orders")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in"))
