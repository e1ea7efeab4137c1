"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.problems import Forbidden, Unauthorized
from models.settings import ApiKeyHolder, Role, Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from BATON_API_KEYS")


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _session(engine: Annotated[Engine, Depends(_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SessionDep = Annotated[Session, Depends(_session)]
TemporalDep = Annotated[Client, Depends(_temporal)]


def _caller(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKeyHolder:
    if credentials is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", type_="missing-credentials")
    holder = settings.api_keys.get(credentials.credentials)
    if holder is None:
        raise Unauthorized("unknown API key", type_="invalid-credentials")
    return holder


def _head_office(caller: Annotated[ApiKeyHolder, Depends(_caller)]) -> ApiKeyHolder:
    if caller.role is not Role.head_office:
        raise Forbidden("this action needs a Head Office key", type_="head-office-only")
    return caller


def _order_placer(caller: Annotated[ApiKeyHolder, Depends(_caller)]) -> ApiKeyHolder:
    if caller.role is Role.store:
        raise Forbidden("store keys read their own store's orders; place orders with a channel key", type_="forbidden")
    return caller


Caller = Annotated[ApiKeyHolder, Depends(_caller)]
OrderPlacer = Annotated[ApiKeyHolder, Depends(_order_placer)]
HeadOffice = Annotated[ApiKeyHolder, Depends(_head_office)]


def visible_store(caller: ApiKeyHolder) -> str | None:
    """The only store whose orders the caller may see, or None for all."""
    return caller.store_id if caller.role is Role.store else None


T = TypeVar("T")


async def in_threadpool(session: Session, function: Callable[..., T], *args: Any) -> T:
    """Run database work off the event loop and give the connection back before the next await."""

    def work() -> T:
        try:
            return function(*args)
        finally:
            session.close()

    return await run_in_threadpool(work)
