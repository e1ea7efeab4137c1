"""What every outbox lane shares: one step's tally, a database call off the event loop, and a POST whose answer is
read the same way for every receiver (models/outbox.py: classify)."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.targets import RefusedTarget
from models.outbox import Answer, classify

T = TypeVar("T")


@dataclass
class Step:
    """What one pass over a lane's head did."""

    delivered: int = 0
    given_up: int = 0  # refused, failed past the horizon, or nowhere to deliver it
    skipped: int = 0
    failing: str | None = None  # the head delivery failed and is to be retried: the lane waits for it
    more: bool = False  # a full batch was taken: more may be waiting
    retired: bool = False  # the lane has nothing to do any more (its subscriber deactivated, its exporter gone)


class Lane(Protocol):
    async def step(self, deadline: float) -> Step:
        """Deliver what is at the head of the lane, up to a batch, stopping (`more`) at `deadline` (loop time)."""
        ...


def out_of_time(deadline: float) -> bool:
    return asyncio.get_running_loop().time() >= deadline


async def in_db(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run `work` with its own Session in a thread, so the event loop (and heartbeats) never wait on SQL."""
    activity.heartbeat()

    def run() -> T:
        with Session(engine) as session:
            return work(session)

    return await asyncio.to_thread(run)


@dataclass(frozen=True)
class Posted:
    answer: Answer
    status_code: int | None
    detail: str  # "" when delivered


async def post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Posted:
    """POST once and read the answer: delivered (2xx), retry (no answer, 5xx, 408, 429) or refused (any other, and a
    target Baton does not call). The detail starts with an error class, never a socket's own words: the log is read
    by whoever registered the URL, and must not tell them what answered on an address they could not reach."""
    activity.heartbeat()
    try:
        response = await http.post(url, content=body, headers=headers, timeout=timeout)
    except RefusedTarget:
        return Posted(Answer.refused, None, f"{REFUSED_TARGET}: not a public address")
    except httpx.HTTPError as error:
        return Posted(Answer.retry, None, f"unreachable: {error_class(error)}")
    code = response.status_code
    answer = classify(code)
    kind = f"http_{code // 100}xx"
    detail = {
        Answer.delivered: "",
        Answer.retry: f"{kind}: answered {code}",
        Answer.refused: f"{kind}: refused with {code}",
    }[answer]
    return Posted(answer, code, detail)


REFUSED_TARGET = "refused_target"


def error_class(error: httpx.HTTPError) -> str:
    """The kind of a failed request, for logs and alerts: timeout, tls, connect_refused, connect_failed, ..."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "tls"
        if isinstance(cause, socket.gaierror):
            return "dns"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "connect_refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, httpx.ConnectError):
        return "tls" if "ssl" in str(error).lower() or "certificate" in str(error).lower() else "connect_failed"
    if isinstance(error, httpx.RemoteProtocolError):
        return "protocol"
    if isinstance(error, httpx.NetworkError):
        return "connection_lost"
    return "request_failed"
