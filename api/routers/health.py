"""Liveness and readiness for load balancers and orchestrators; no credentials needed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from api.deps import EngineDep, SettingsDep, TemporalDep
from api.problems import PROBLEM_JSON, Unavailable
from models.db import ping

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "live"}


async def _database(engine: Engine) -> None:
    await asyncio.to_thread(ping, engine)


async def _temporal(client: Client, timeout: float) -> None:
    await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=timeout))


async def _check(probe: Coroutine[Any, Any, None], timeout: float) -> str:
    """'ok', or why the dependency is not usable within `timeout` seconds."""
    try:
        await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as error:  # any failure means not ready; say which and why
        return f"{type(error).__name__}: {error}"[:300]
    return "ok"


@router.get(
    "/ready",
    responses={503: {"description": "the database or Temporal is not reachable", "content": {PROBLEM_JSON: {}}}},
)
async def ready(engine: EngineDep, temporal: TemporalDep, settings: SettingsDep) -> dict[str, Any]:
    """200 when a `SELECT 1` on the database and a call to Temporal both succeed within a short timeout, naming
    the environment and the payment gateway that is live; otherwise 503 problem+json naming what failed."""
    timeout = settings.health_check_timeout_seconds
    database, temporal_ = await asyncio.gather(
        _check(_database(engine), timeout),
        _check(_temporal(temporal, timeout), timeout),
    )
    checks = {"database": database, "temporal": temporal_}
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    if failed:
        raise Unavailable(f"not reachable: {', '.join(failed)}", type_="not-ready", checks=checks, failed=failed)
    return {"status": "ready", "checks": checks, "environment": settings.environment,
            "payment_gateway": settings.payment_gateway}
