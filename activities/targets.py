"""The HTTP client of the outbox lanes, which connects only to public addresses (models/targets.py).

The check happens where the socket is opened: the lane's connection pool resolves the URL's host itself, refuses
the request if any address it resolves to is not public, and connects to the address it checked. A name that
answers a public address to a registration check and a private one a moment later (DNS rebinding) therefore
still cannot reach inside. The URL's host stays the Host header and the TLS server name, so certificates are
verified against it as usual.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from models.settings import Settings
from models.targets import address_problem, host_problem


class RefusedTarget(Exception):
    """The request was not sent: its host is, or resolves to, an address Baton does not call."""


async def public_addresses(host: str, port: int, timeout: float | None = None) -> list[str]:
    """Every address `host` resolves to, if all are public; RefusedTarget otherwise."""
    why = host_problem(host)
    if why is not None:
        raise RefusedTarget(f"{host} is {why}")
    loop = asyncio.get_running_loop()
    lookup = loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(lookup, timeout)
    except OSError as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror or error}") from error
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        why = address_problem(ipaddress.ip_address(address.split("%", 1)[0]))
        if why is not None:
            raise RefusedTarget(f"{host} resolves to {address}, {why}")
    return addresses


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the public addresses the host resolves to, at connect time."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await public_addresses(host, port, timeout)
        last: Exception | None = None
        for address in addresses:  # the vetted addresses, in the resolver's order
            try:
                return await self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None  # getaddrinfo answers at least one address or raises
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("unix sockets are not outbound targets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def outbound_transport(settings: Settings) -> httpx.AsyncHTTPTransport:
    """The lanes' transport: public targets only, unless BATON_ALLOW_PRIVATE_TARGETS (dev stack, tests)."""
    transport = httpx.AsyncHTTPTransport()
    if not settings.allow_private_targets:
        # httpx takes no network backend; its pool is replaced by one with the same defaults that has ours.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PublicOnlyBackend(),
        )
    return transport


def outbound_client(settings: Settings, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, transport=outbound_transport(settings))
