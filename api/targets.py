"""Outbound URLs checked when they are registered (a subscriber's url, a store's webhook_url): 422 naming the field
when the host is, or resolves to, an address Baton does not call (models/targets.py). The lanes check again when
they send (activities/targets.py), since a name may resolve elsewhere by then."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from api.problems import field_error
from models.settings import Settings
from models.targets import address_problem, host_problem, literal_address, refusal, url_host

RESOLVE_TIMEOUT_SECONDS = 5.0


async def check_target(url: str, field: str, settings: Settings) -> None:
    """Nothing, if `url` may be called; a 422 naming `field` otherwise. A name that does not resolve (yet) is
    accepted: it cannot reach anything, and the send-time check applies when it does."""
    if settings.allow_private_targets:
        return
    why = _problem(url)
    if why is None and literal_address(host := url_host(url)) is None:
        why = await _resolved_problem(host)
    if why is not None:
        raise field_error(field, why)


def _problem(url: str) -> str | None:
    host = url_host(url)
    if not host:
        return f"{url} has no host"
    why = host_problem(host)
    return refusal(url, host, why) if why else None


async def _resolved_problem(host: str) -> str | None:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError):
        return None
    for info in infos:
        address = str(info[4][0])
        why = address_problem(ipaddress.ip_address(address.split("%", 1)[0]))
        if why is not None:
            return f"{host} resolves to {address}, {why} (BATON_ALLOW_PRIVATE_TARGETS allows such targets)"
    return None
