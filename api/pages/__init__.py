"""Web pages served by the API: the Head Office dashboard, the order page and the store's Pick Manager.

Server-rendered Jinja2 templates (api/templates) with htmx (vendored in api/static, no CDN). `session` signs
people in; `dashboard`, `order` and `store` are the pages; `forms` builds the order page's action forms from the
one list of actions; `shared` holds the templates and their filters; `security` refuses cross-site requests and
sets the headers every answer carries. Head Office actions run the same code as the
API's action endpoints; store buttons signal the order's workflow exactly as the store webhooks do."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pages import (
    analytics,
    bulk,
    calendars,
    customers,
    dashboard,
    mail,
    marketplace,
    order,
    order_after_sales,
    quotes,
    session,
    store,
    store_returns,
    subscriptions,
)
from api.pages.security import CrossSiteRefused, SecurityHeaders, refuse_cross_site
from api.pages.session import Redirect, SignInRequired
from api.pages.shared import API_DIR, templates
from api.problems import Problem


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their redirects and error pages on `app`."""

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, error: Redirect) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=200, headers={"HX-Redirect": error.url})
        url = f"{error.url}?{urlencode({'next': request.url.path})}" if isinstance(error, SignInRequired) else error.url
        return RedirectResponse(url, status_code=303)

    # /ui/orders/live before /ui/orders/{order_number}: the dashboard's routes come first.
    # Every page route, present and future, is guarded against other sites: the guard is added here, not per route.
    for module in (
        session,
        dashboard,
        bulk,
        order,
        order_after_sales,
        store,
        store_returns,
        mail,
        customers,
        analytics,
        calendars,
        subscriptions,
        marketplace,
        quotes,
    ):
        app.include_router(module.router, dependencies=[Depends(refuse_cross_site)])
    app.mount("/ui/static", StaticFiles(directory=API_DIR / "static"), name="ui-static")

    # Under /ui errors are pages, not problem+json: wrap the API's handlers for these paths only.
    for error_type in (Problem, StarletteHTTPException):
        api_handler = app.exception_handlers[error_type]

        async def _page_error(request: Request, error: Exception, api_handler: Any = api_handler) -> Response:
            path = request.url.path
            if (
                (path != "/ui" and not path.startswith("/ui/"))
                or path.startswith("/ui/static/")
                or (isinstance(error, CrossSiteRefused) and not _navigation(request))
            ):
                response: Response = await api_handler(request, error)
                return response
            if isinstance(error, Problem):
                status, title, detail = error.status, error.title, error.detail
            else:
                assert isinstance(error, StarletteHTTPException)  # the only other type this handles
                status = error.status_code
                title = detail = "Not found" if status == 404 else str(error.detail)
            context = {"user": None, "title": title, "detail": detail}
            return HTMLResponse(templates.get_template("error.html").render(context), status_code=status)

        app.add_exception_handler(error_type, _page_error)

    # Last added, so outermost: the headers go on every answer, the pages' and the API's.
    docs = frozenset(url for url in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if url)
    app.add_middleware(SecurityHeaders, csp_exempt=docs)


def _navigation(request: Request) -> bool:
    """A browser loading a page (a refusal is shown as a page), not htmx or a script (answered problem+json)."""
    if request.headers.get("HX-Request"):
        return False
    mode = request.headers.get("sec-fetch-mode")
    return mode == "navigate" if mode else "text/html" in request.headers.get("accept", "")
