"""The extracts lane (workflow `outbox-extracts`) on the Temporal dev server, through the whole stack: real orders make
extracts, the lane delivers them to a drop folder and a real HTTP endpoint in the order they were made, retrying
with backoff what fails (the relay retried by Temporal), giving up at once what the endpoint refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.notifications import validate_extract
from models.outbox import EXTRACTS_LANE, lane_workflow_id
from tests.http_receiver import Receiver, http_receiver
from tests.support import HO, collect, eventually, make_ready, place

RETRY_INITIAL, RETRY_MAX = 0.5, 2.0


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    with http_receiver(200) as receiver:
        yield receiver


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    return tmp_path / "drop"


@pytest.fixture
def stack_settings(endpoint: Receiver, drop_folder: Path) -> dict[str, Any]:
    return {
        "extract_drop_folder": str(drop_folder),
        "extract_http_url": endpoint.url,
        "outbound_retry_initial_seconds": RETRY_INITIAL,
        "outbound_retry_max_interval_seconds": RETRY_MAX,
        "outbox_poll_seconds": 0.05,
        "outbox_idle_seconds": 1.0,  # relays return soon after the last delivery: their history is complete
    }


async def _extract(stack, extract_id: str, done: Any = lambda item: item["delivered_at"]) -> dict:
    async def listed() -> dict | None:
        response = await stack.http.get("/extracts", headers=HO)
        items = [item for item in response.json()["items"] if item["extract_id"] == extract_id]
        return items[0] if items and done(items[0]) else None

    return await eventually(listed, timeout=60)


async def test_an_endpoint_failing_twice_is_retried_with_backoff_and_the_file_written_once(
    stack, endpoint, drop_folder
):
    endpoint.answer(503, 500, 200)
    number = await place(stack.http)
    await make_ready(stack.http, number)
    extract_id = f"{number}:5:extract"

    item = await _extract(stack, extract_id)
    assert item["delivery_attempts"] == 3 and item["last_error"] is None
    [written] = drop_folder.iterdir()  # written on the first attempt, left alone on the retries
    assert sorted(item["delivered_to"]) == sorted([str(written), endpoint.url])
    assert [r.status for r in endpoint.requests] == [503, 500, 200]
    document = (await stack.http.get(item["href"], headers=HO)).content
    assert written.read_bytes() == document
    for received in endpoint.requests:
        assert received.body == document and received.headers["content-type"].startswith("application/xml")
        assert received.headers["idempotency-key"] == received.headers["baton-extract-id"] == extract_id
        assert (received.headers["baton-extract-type"], received.headers["baton-order-number"]) == (
            "ready_for_collection", number)  # fmt: skip
    validate_extract(document)

    # One relay failed twice and Temporal retried it, backing off from the configured interval.
    lane = stack.client.get_workflow_handle(lane_workflow_id(EXTRACTS_LANE))

    async def relay_attempts() -> list[int] | None:
        events = (await lane.fetch_history()).events
        attempts = [e.activity_task_started_event_attributes.attempt for e in events
                    if e.HasField("activity_task_started_event_attributes")]  # fmt: skip
        return attempts if 3 in attempts else None

    assert max(await eventually(relay_attempts, timeout=60)) == 3
    [policy, *_] = [
        e.activity_task_scheduled_event_attributes.retry_policy
        for e in (await lane.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert policy.initial_interval.ToTimedelta().total_seconds() == RETRY_INITIAL
    assert policy.maximum_interval.ToTimedelta().total_seconds() == RETRY_MAX
    assert policy.backoff_coefficient == 2.0


async def test_an_extract_the_endpoint_refuses_is_given_up_and_the_lane_moves_on(stack, endpoint):
    endpoint.answer(400, 200)
    number = await place(stack.http)
    await make_ready(stack.http, number)
    refused = await _extract(stack, f"{number}:5:extract", lambda item: item["last_error"])
    await collect(stack.http, number)
    delivered = await _extract(stack, f"{number}:6:extract")

    assert "refused with 400" in refused["last_error"]
    assert (refused["delivered_at"], refused["delivery_attempts"]) == (None, 1)  # not retried
    assert endpoint.url not in refused["delivered_to"] and len(refused["delivered_to"]) == 1  # the file is there
    assert (delivered["delivery_attempts"], delivered["last_error"]) == (1, None)
    assert [(r.headers["baton-extract-id"], r.status) for r in endpoint.requests] == [
        (refused["extract_id"], 400), (delivered["extract_id"], 200)]  # fmt: skip


async def test_a_drop_folder_that_cannot_be_written_is_retried_until_it_can(stack, endpoint, drop_folder):
    drop_folder.write_text("a file where the folder should be")
    number = await place(stack.http)
    await make_ready(stack.http, number)
    extract_id = f"{number}:5:extract"

    failing = await _extract(stack, extract_id, lambda item: item["delivery_attempts"] >= 2)
    assert failing["delivered_at"] is None and "drop folder" in failing["last_error"]
    assert failing["delivered_to"] == [endpoint.url]  # the endpoint has it: it is not sent again
    drop_folder.unlink()

    item = await _extract(stack, extract_id)
    assert item["last_error"] is None and item["delivery_attempts"] > failing["delivery_attempts"]
    assert [p.name for p in drop_folder.iterdir()] == [f"{number}-ready_for_collection-{number}_5_extract.xml"]
    assert [r.headers["baton-extract-id"] for r in endpoint.requests] == [extract_id]
