"""Outbound requests stay outside: the address rules, the registration check (422 naming the field) and the lanes'
send-time check, with BATON_ALLOW_PRIVATE_TARGETS off, on the real API, worker, Temporal and database."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from activities import targets
from models.db import outbound
from models.events import OrderEventType
from models.outbox import subscriber_lane
from models.settings import Settings
from models.targets import address_problem, host_problem
from tests.http_receiver import http_receiver
from tests.support import HO, eventually, place
from workflows.outbox import start_lane


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"allow_private_targets": False, "outbox_poll_seconds": 0.05}


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "fc00::1",
     "fe80::1", "169.254.1.1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1", "100.64.0.1",
     "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_hosts_refused_without_a_lookup() -> None:
    assert host_problem("169.254.169.254") == "a cloud metadata address"
    assert host_problem("LOCALHOST") == "a loopback name" and host_problem("api.localhost") == "a loopback name"
    assert host_problem("[::1]") == "a loopback address"
    assert host_problem("erp.example.com") is None  # a name: judged by what it resolves to


def test_configured_exporter_on_a_private_address_is_refused_at_start() -> None:
    exporter = {"name": "erp", "kind": "webhook", "on_state": "INITPAID", "url": "http://10.0.0.7/hook"}
    with pytest.raises(ValueError, match=r"exporters\[erp\]\.url: .*a private address"):
        Settings(exporters=[exporter])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="extract_http_url: .*a cloud metadata address"):
        Settings(extract_http_url="http://169.254.169.254/latest")
    assert Settings(exporters=[exporter], allow_private_targets=True).exporters  # type: ignore[list-item]


async def _subscribe(stack: Any, url: str) -> Any:
    body = {"name": "probe", "url": url, "event_types": ["placed"]}
    return await stack.http.post("/webhook-subscribers", json=body, headers=HO)


async def test_subscriber_on_the_metadata_address_is_refused(stack) -> None:
    response = await _subscribe(stack, "http://169.254.169.254/latest/meta-data/")
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "url" and "cloud metadata" in error["message"]
    assert (await stack.http.get("/webhook-subscribers", headers=HO)).json() == []  # nothing registered


async def test_subscriber_on_a_name_resolving_to_loopback_is_refused(stack) -> None:
    for url in ("http://localhost:8080/hook", "http://[::1]:8080/", "http://0x7f000001/"):
        response = await _subscribe(stack, url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == "url"


async def test_public_looking_subscriber_is_accepted(stack) -> None:
    response = await _subscribe(stack, "https://erp.example.com/baton/events")
    assert response.status_code == 201, response.text


async def test_store_webhook_on_a_private_address_is_refused(stack) -> None:
    body = {"name": "Probe", "webhook_url": "http://192.168.0.10:9000/hook"}
    response = await stack.http.put("/stores/S077", json=body, headers=HO)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "webhook_url"
    assert (await stack.http.get("/stores/S077", headers=HO)).status_code == 404  # nothing changed


async def test_a_subscriber_that_now_resolves_to_loopback_is_refused_at_send_time(stack) -> None:
    """Registered earlier (or its name re-pointed since): the lane resolves it when it sends, refuses the address,
    and the delivery log says refused_target, not what a socket said."""
    with http_receiver(200, path="/hook") as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        with Session(stack.engine) as session:
            row = outbound.create_subscriber(session, "rebound", url, [OrderEventType.placed], datetime.now(UTC))
        await start_lane(stack.client, stack.settings, subscriber_lane(row.subscriber_id))
        number = await place(stack.http)

        async def refused() -> Any:
            path = f"/webhook-subscribers/{row.subscriber_id}/deliveries"
            items = (await stack.http.get(path, params={"order_number": number}, headers=HO)).json()["items"]
            return items if items and items[0]["status"] == "refused" else None

        [delivery] = await eventually(refused, timeout=30)
        assert delivery["last_error"] == "refused_target: not a public address"
        assert delivery["last_status_code"] is None
        assert receiver.requests == []  # nothing reached the loopback receiver


async def test_the_lanes_connect_to_the_address_they_checked_keeping_the_host(monkeypatch) -> None:
    """The pool asks `public_addresses` (resolve and vet) and connects to what it answered; the URL's host stays the
    Host header (and would be the TLS server name). Here the name is vetted to the loopback receiver's address."""
    asked: list[tuple[str, int]] = []

    async def vetted(host: str, port: int, timeout: float | None = None) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    monkeypatch.setattr(targets, "public_addresses", vetted)
    with http_receiver(200, path="/hook") as receiver:
        port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
        async with targets.outbound_client(Settings(allow_private_targets=False), 5.0) as http:
            response = await http.post(f"http://erp.example.com:{port}/hook", content=b"{}")
    assert response.status_code == 200 and asked == [("erp.example.com", port)]
    assert receiver.requests[0].headers["host"] == f"erp.example.com:{port}"
