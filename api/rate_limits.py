"""Rate limits (the `limits` library, a moving window): sign-in attempts per client address, store webhooks per
store, order placements per key holder. Counted in this process's memory, or in a shared store named by
BATON_RATE_LIMIT_STORAGE (Redis) so that several API processes count together. A request over its limit is answered
429 problem+json with Retry-After, before any work is done for it."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from api.deps import OrderPlacer
from api.problems import PROBLEM_JSON, Problem
from models.settings import ApiKeyHolder, Settings


class RateLimited(Problem):
    status, title = 429, "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, type_="rate-limited", retry_after=retry_after)
        self.retry_after = retry_after


class RateLimits:
    """The app's limiter and its three limits, parsed once from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.storage = _storage(settings.rate_limit_storage)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.sign_in = parse_many(settings.rate_limit_sign_in)
        self.webhooks = parse_many(settings.rate_limit_webhooks)
        self.placement = parse_many(settings.rate_limit_placement)

    async def check(self, items: list[RateLimitItem], what: str, *identifiers: str) -> None:
        """Count one request against every limit in `items`; RateLimited when one of them is spent."""
        for item in items:
            if not await self.limiter.hit(item, what, *identifiers):
                stats = await self.limiter.get_window_stats(item, what, *identifiers)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(f"{what}: more than {item} (try again in {retry_after} s)", retry_after)


def _storage(uri: str) -> Storage:
    """The async flavour of a storage URI: "memory://" or "redis://host:port" as BATON_RATE_LIMIT_STORAGE says."""
    uri = uri.removeprefix("async+")
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        storage = storage_from_string(f"async+{uri}", implementation="redispy")
    else:
        storage = storage_from_string(f"async+{uri}")
    if not isinstance(storage, Storage):  # (storage_from_string is typed for both flavours)
        raise ValueError(f"BATON_RATE_LIMIT_STORAGE {uri!r} has no async storage")
    return storage


def rate_limits(request: Request) -> RateLimits:
    """The app's limits, made on first use from its settings."""
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        limits = request.app.state.rate_limits = RateLimits(request.app.state.settings)
    return limits


def install_rate_limits(app: FastAPI) -> None:
    @app.exception_handler(RateLimited)
    async def _limited(request: Request, error: RateLimited) -> JSONResponse:
        body = {
            "type": f"https://baton.dev/problems/{error.type}",
            "title": error.title,
            "status": error.status,
            "detail": error.detail,
            "instance": request.url.path,
            "retry_after": error.retry_after,
        }
        headers = {"Retry-After": str(error.retry_after)}
        return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


async def _sign_in_limit(request: Request) -> None:
    # Per client address: guessing keys is what this slows down, and a guesser has no key to be counted by.
    address = request.client.host if request.client else "unknown"
    await rate_limits(request).check(rate_limits(request).sign_in, "sign-in", address)


async def _webhook_limit(request: Request, store_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]) -> None:
    # Counted before the body is read or its signature checked, so a flood costs Baton nothing past this point; per
    # store AND sending address, so a flood of unsigned requests from elsewhere cannot use up the store's own allowance.
    address = request.client.host if request.client else "unknown"
    await rate_limits(request).check(rate_limits(request).webhooks, "store webhooks", store_id, address)


async def _placement_limit(request: Request, caller: OrderPlacer) -> ApiKeyHolder:
    await rate_limits(request).check(rate_limits(request).placement, "order placement", caller.name)
    return caller


# The dependencies that may answer 429: api/openapi.py documents it on every route using one.
LIMITS = (_sign_in_limit, _webhook_limit, _placement_limit)
SignInLimit = Depends(_sign_in_limit)
WebhookLimit = Depends(_webhook_limit)
PlacementLimited = Annotated[ApiKeyHolder, Depends(_placement_limit)]
