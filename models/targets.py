"""Which addresses Baton's outbound requests (webhook subscribers, store webhooks, exporters, extracts) may reach.

An outbound URL is chosen by whoever registers it; without these rules a Head Office key, or a leaked one, could
make Baton call its own loopback services, the private network behind it or the cloud metadata endpoint, and read
what answered in the delivery log. Pure: the caller resolves names (activities/targets.py, api/targets.py) and asks
about each address.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS over IPv6: fd00:ec2::254). Both are
# inside ranges refused anyway; named so the refusal says what they are.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
# Names that are loopback by definition (RFC 6761), refused before any lookup.
LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")

_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): private to the provider


def address_problem(address: Address) -> str | None:
    """Why Baton must not connect to `address`, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:  # ::ffff:127.0.0.1 reaches 127.0.0.1
            return address_problem(mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a shared (carrier-grade NAT) address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


def literal_address(host: str) -> Address | None:
    """The host as an IP address when it is written as one ("10.0.0.1", "[::1]"), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_problem(host: str) -> str | None:
    """Why a URL's host is refused without looking it up: a literal non-public address or a loopback name."""
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return "a loopback name"
    address = literal_address(host)
    return address_problem(address) if address is not None else None


def url_host(url: str) -> str:
    """The host of an http(s) URL ("" if it has none)."""
    return urlsplit(url).hostname or ""


def refusal(url: str, host: str, why: str) -> str:
    return f"{url} is refused: {host} is {why} (BATON_ALLOW_PRIVATE_TARGETS allows such targets)"
