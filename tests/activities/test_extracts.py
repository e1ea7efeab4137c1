"""XML extracts in the outbox, on a real database, a real drop folder and a real HTTP receiver: the commit activity
keeps each extract once with the change that makes it (and never lets a document that cannot be built stop the
order); the extracts lane's relay delivers them whole, once, in order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.extracts import extract_documents, write_atomically
from activities.notifications import validate_extract
from activities.projection import ProjectionActivities
from models.db.tables import NotificationExtractRow, OrderEventRow, OrderRecordRow
from models.events import OrderEventType as E
from models.order import OrderStatus
from models.outbox import EXTRACTS_LANE
from models.transition import ExtractToMake, Transition
from models.views import for_extract
from tests.http_receiver import http_receiver
from tests.models.factories import at
from tests.outbox_support import change, event, new_order, outbox_settings, relay, rows


def _commit(db, transition: Transition) -> None:  # type: ignore[no-untyped-def]
    ActivityEnvironment().run(ProjectionActivities(db, outbox_settings(str(db.url))).commit_transition, transition)


def _ready(db, **updates) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """An order made ready for collection and committed: its number and its one extract's id."""
    state = new_order(OrderStatus.ready_for_collection, **updates)
    _commit(db, change(state, 1, [event(state, 1, E.ready_for_collection, at(5))]))
    return state.order_number, f"{state.order_number}:1:extract"


def _row(db, extract_id: str) -> NotificationExtractRow:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        row = session.get(NotificationExtractRow, extract_id)
        assert row is not None
        return row


def _settings(db, **destinations):  # type: ignore[no-untyped-def]
    return outbox_settings(str(db.url), **destinations)


# ---- kept with the change -------------------------------------------------------------------------------------


def test_extract_documents_are_valid_with_store_and_product_names(db):
    state = new_order()
    wanted = ExtractToMake(extract_id="x:1:extract", type="ready_for_collection", occurred_at=at(5))
    with Session(db) as session:
        [(made, payload)], problems = extract_documents(session, for_extract(state), [wanted])
    assert (made, problems) == (wanted, {})
    validate_extract(payload.encode())
    assert "<Name>London Oxford Street</Name>" in payload
    assert "<Description>Organic cotton tee</Description>" in payload and "Slim fit jeans" in payload


def test_an_extract_that_cannot_be_built_is_named_and_not_made(db):
    refund = ExtractToMake(extract_id="x:2:extract", type="refunded", occurred_at=at(5))  # nothing was refunded
    ready = ExtractToMake(extract_id="x:3:extract", type="ready_for_collection", occurred_at=at(5))
    with Session(db) as session:
        made, problems = extract_documents(session, for_extract(new_order()), [refund, ready])
    assert [extract.extract_id for extract, _ in made] == ["x:3:extract"]
    assert list(problems) == ["x:2:extract"] and "no refund" in problems["x:2:extract"]


def test_commit_keeps_the_extracts_of_its_events_and_a_retry_keeps_the_first_document(db):
    number, extract_id = _ready(db)
    first = _row(db, extract_id)
    assert (first.order_number, first.type, first.delivery_attempts, first.delivered_at) == (
        number, "ready_for_collection", 0, None)  # fmt: skip
    validate_extract(first.payload.encode())
    # The same change committed again, the order told differently meanwhile: the document first kept stays.
    state = new_order(OrderStatus.ready_for_collection, order_number=number, web_reference="WEB-CHANGED")
    _commit(db, change(state, 1, [event(state, 1, E.ready_for_collection, at(5))]))
    assert [r.payload for r in rows(db, NotificationExtractRow, order_number=number)] == [first.payload]


def test_an_extract_that_cannot_be_built_never_stops_the_order(db):
    state = new_order(OrderStatus.completed)  # "refunded", but no refund to announce
    events = [event(state, 1, E.refunded, at(9)), event(state, 2, E.collected, at(9))]
    _commit(db, change(state, 3, events))
    assert [r.version for r in rows(db, OrderRecordRow, order_number=state.order_number)] == [3]
    assert len(rows(db, OrderEventRow, order_number=state.order_number)) == 2
    [kept] = rows(db, NotificationExtractRow, order_number=state.order_number)
    assert (kept.extract_id, kept.type) == (f"{state.order_number}:2:extract", "collected")


# ---- delivered by the extracts lane --------------------------------------------------------------------------


def test_write_atomically_leaves_a_file_already_there_alone(tmp_path: Path):
    assert write_atomically(tmp_path, "a.xml", b"<first/>")
    assert not write_atomically(tmp_path, "a.xml", b"<second/>")
    assert (tmp_path / "a.xml").read_bytes() == b"<first/>"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xml"]


async def test_relay_writes_each_extract_whole_once_to_the_drop_folder_in_order(db, tmp_path: Path):
    folder = tmp_path / "drop"
    made = [_ready(db) for _ in range(3)]
    settings = _settings(db, extract_drop_folder=str(folder))
    report = await relay(db, settings, EXTRACTS_LANE)
    again = await relay(db, settings, EXTRACTS_LANE)
    assert (report.delivered, again.delivered) == (3, 0)
    names = [f"{number}-ready_for_collection-{number}_1_extract.xml" for number, _ in made]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # no temporary file left behind
    for (_number, extract_id), name in zip(made, names, strict=True):
        row = _row(db, extract_id)
        assert (folder / name).read_text() == row.payload
        assert (row.delivered_to, row.delivery_attempts, row.last_error) == ([str(folder / name)], 1, None)
    rows_in_order = sorted((_row(db, extract_id) for _, extract_id in made), key=lambda r: r.delivered_at)
    assert [r.extract_id for r in rows_in_order] == [extract_id for _, extract_id in made]


async def test_relay_posts_the_xml_to_the_endpoint_with_its_ids(db):
    number, extract_id = _ready(db)
    with http_receiver(200) as receiver:
        report = await relay(db, _settings(db, extract_http_url=receiver.url), EXTRACTS_LANE)
    assert report.delivered == 1
    [request] = receiver.requests
    assert request.headers["content-type"].startswith("application/xml")
    assert request.headers["idempotency-key"] == request.headers["baton-extract-id"] == extract_id
    assert (request.headers["baton-extract-type"], request.headers["baton-order-number"]) == (
        "ready_for_collection", number)  # fmt: skip
    assert request.body == _row(db, extract_id).payload.encode()
    assert _row(db, extract_id).delivered_to == [receiver.url]


async def test_an_unwritable_drop_folder_records_the_attempt_and_the_relay_fails_for_a_retry(db, tmp_path: Path):
    not_a_folder = tmp_path / "taken"
    not_a_folder.write_text("a file where the folder should be")
    _number, extract_id = _ready(db)
    with pytest.raises(ApplicationError) as failed:
        await relay(db, _settings(db, extract_drop_folder=str(not_a_folder)), EXTRACTS_LANE)
    assert (failed.value.type, failed.value.non_retryable) == ("delivery_failing", False)
    row = _row(db, extract_id)
    assert (row.delivery_attempts, row.delivered_at, row.failed_at) == (1, None, None)
    assert "drop folder" in (row.last_error or "")


async def test_folder_and_endpoint_the_file_is_written_once_across_retries(db, tmp_path: Path):
    _number, extract_id = _ready(db)
    with http_receiver(503, 200) as receiver:
        settings = _settings(db, extract_drop_folder=str(tmp_path), extract_http_url=receiver.url)
        with pytest.raises(ApplicationError):
            await relay(db, settings, EXTRACTS_LANE)
        [written] = tmp_path.iterdir()
        first_write = written.stat().st_mtime_ns, written.stat().st_ino
        assert (await relay(db, settings, EXTRACTS_LANE)).delivered == 1
    assert (written.stat().st_mtime_ns, written.stat().st_ino) == first_write
    row = _row(db, extract_id)
    assert row.delivery_attempts == 2 and sorted(row.delivered_to) == sorted([str(written), receiver.url])
    assert [r.status for r in receiver.requests] == [503, 200]


async def test_an_extract_refused_by_the_endpoint_is_failed_and_the_next_one_follows(db):
    (_n1, refused), (_n2, next_one) = _ready(db), _ready(db)
    with http_receiver(422, 200) as receiver:
        report = await relay(db, _settings(db, extract_http_url=receiver.url), EXTRACTS_LANE)
    assert (report.delivered, report.given_up) == (1, 1)
    failed = _row(db, refused)
    assert failed.failed_at is not None and failed.delivered_at is None and "422" in (failed.last_error or "")
    assert _row(db, next_one).delivered_at is not None
    assert len(receiver.requests) == 2  # the refused one is not tried again


async def test_an_extract_failing_past_its_horizon_is_given_up(db):
    _number, extract_id = _ready(db)
    time.sleep(0.05)
    with http_receiver(503) as receiver:
        settings = _settings(db, extract_http_url=receiver.url, extract_delivery_horizon_seconds=0.01)
        report = await relay(db, settings, EXTRACTS_LANE)
    assert (report.delivered, report.given_up) == (0, 1)
    row = _row(db, extract_id)
    assert row.failed_at is not None and "gave up" in (row.last_error or "")


async def test_without_destinations_the_lane_retires_and_the_extracts_wait_for_the_api(db):
    _number, extract_id = _ready(db)
    report = await relay(db, _settings(db), EXTRACTS_LANE)
    assert report.retired and report.delivered == 0
    assert _row(db, extract_id).delivery_attempts == 0
