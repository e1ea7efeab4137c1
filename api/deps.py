"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.problems import Forbidden, Unauthorized
from models.keys import holder_of
from models.settings import ApiKeyHolder, Role, Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from BATON_API_KEYS")

# The dependencies are `async def` although none of them awaits: FastAPI runs a plain `def` dependency in its
# thread pool, and a thread hop per dependency per request cost more CPU than the requests' own work.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _session(engine: Annotated[Engine, Depends(_engine)]) -> AsyncIterator[Session]:
    """A session that has not touched the database yet: work with it in the thread pool (`in_threadpool`)."""
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()


async def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


temporal_dependency = _temporal  # api/openapi.py documents 503 for the routes that depend on it
SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SessionDep = Annotated[Session, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]


async def _caller(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKeyHolder:
    if credentials is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", type_="missing-credentials")
    holder = holder_of(settings.api_keys, credentials.credentials)
    if holder is None:
        raise Unauthorized("unknown API key", type_="invalid-credentials")
    return holder


caller_dependency = _caller  # api/openapi.py documents 401 (and 403 for role checks) by it


# ---- who may do what: every role check, by bearer key or by the pages' session, goes through require_role ----

HEAD_OFFICE = frozenset({Role.head_office})
ORDER_PLACERS = frozenset({Role.head_office, Role.channel})
PAGE_USERS = frozenset({Role.head_office, Role.store})  # who may sign in to the web pages
STORE_STAFF = frozenset({Role.store})


def has_role(holder: ApiKeyHolder, roles: Collection[Role]) -> bool:
    return holder.role in roles


def require_role(holder: ApiKeyHolder, roles: Collection[Role], refusal: Callable[[], Exception]) -> ApiKeyHolder:
    """The holder, if its role is one of `roles`; otherwise the refusal of the path that asks (the API answers
    403 problem+json, a page its own 404 or a redirect to sign in)."""
    if not has_role(holder, roles):
        raise refusal()
    return holder


def holder_with(
    identify: Callable[..., ApiKeyHolder], roles: Collection[Role], refusal: Callable[[], Exception]
) -> Any:
    """A dependency: whoever `identify` finds (a bearer key, the page's session), if their role is in `roles`."""

    # A default, not Annotated: with postponed annotations FastAPI could not see `identify` (a local).
    async def dependency(holder: ApiKeyHolder = Depends(identify)) -> ApiKeyHolder:  # noqa: B008
        return require_role(holder, roles, refusal)

    return Depends(dependency)


Caller = Annotated[ApiKeyHolder, Depends(_caller)]
OrderPlacer = Annotated[
    ApiKeyHolder,
    holder_with(
        _caller,
        ORDER_PLACERS,
        lambda: Forbidden(
            "store keys read their own store's orders; place orders with a channel key", type_="forbidden"
        ),
    ),
]
HeadOffice = Annotated[
    ApiKeyHolder,
    holder_with(
        _caller, HEAD_OFFICE, lambda: Forbidden("this action needs a Head Office key", type_="head-office-only")
    ),
]


def visible_store(caller: ApiKeyHolder) -> str | None:
    """The only store whose orders the caller may see, or None for all."""
    return caller.store_id if has_role(caller, STORE_STAFF) else None


def visible_channels(caller: ApiKeyHolder) -> list[str] | None:
    """The only channels whose orders the caller may see, or None for all. A channel key bound to channels sees
    those channels' orders; an unbound one (it may place orders for any channel) sees every channel's."""
    return list(caller.channels) if caller.role is Role.channel and caller.channels is not None else None


T = TypeVar("T")


async def in_threadpool(session: Session, function: Callable[..., T], *args: Any) -> T:
    """Run database work off the event loop and give the connection back before the next await."""

    def work() -> T:
        try:
            return function(*args)
        finally:
            session.close()

    return await run_in_threadpool(work)
