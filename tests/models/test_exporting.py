"""Export-eligibility states and exporter chains (models/exporting.py)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from models.events import OrderEvent, OrderEventType
from models.exporting import (
    CANCELLED,
    DELIVERY,
    INITPAID,
    RETURNED,
    ExporterConfig,
    ExportProgress,
    chain_problem,
    delivery_of,
    exporters_on,
    reach,
    reach_states,
    scope_of,
    scoped,
)
from models.money import Money
from models.order import OrderStatus
from models.placing import Channel
from models.settings import Settings
from models.views import OrderEventSummary
from tests.models.factories import T0

E = OrderEventType
GBP = Money(amount=0, currency="GBP")


def _event(event_type: OrderEventType, sequence: int = 1) -> OrderEvent:
    summary = OrderEventSummary(
        status=OrderStatus.received,
        store_id="S001",
        channel=Channel.web,
        web_reference="WEB-1",
        customer_id="C42",
        total=GBP,
        paid=GBP,
        refunded=GBP,
        line_count=1,
    )
    return OrderEvent(
        event_id=f"100001:{sequence}",
        sequence=sequence,
        type=event_type,
        occurred_at=T0,
        order_number="100001",
        actor="system",
        order=summary,
    )


def _states(types: list[OrderEventType]) -> list[list[str]]:
    progress = ExportProgress()
    return [reach_states(progress, _event(t, n)) for n, t in enumerate(types, start=1)]


def _exporter(name: str, on_state: str, sets_state: str | None = None, **extra) -> ExporterConfig:
    return ExporterConfig(
        name=name, kind="webhook", on_state=on_state, sets_state=sets_state, url="http://erp.test/x", **extra
    )


def test_built_in_states_follow_the_events():
    assert _states([E.placed, E.payment_confirmed, E.sent_to_store, E.collected, E.completed]) == [
        [],
        [INITPAID],
        [],
        [DELIVERY],
        [],
    ]
    assert _states([E.dispatched]) == [[DELIVERY]]
    assert _states([E.cancelled]) == [[CANCELLED]]


def test_each_state_is_reached_once():
    assert _states([E.payment_confirmed, E.payment_confirmed]) == [[INITPAID], []]


def test_returned_when_goods_come_back_not_for_a_refund_alone():
    # A goodwill refund after completion is not a return; the first return received is, once.
    assert _states([E.refunded, E.collected, E.completed, E.refunded, E.returned, E.returned]) == [
        [],
        [DELIVERY],
        [],
        [],
        [RETURNED],
        [],
    ]


def test_a_custom_state_is_reached_once():
    progress = ExportProgress()
    assert reach(progress, "ERP_COMPLETED") is True
    assert reach(progress, "ERP_COMPLETED") is False


def test_exporters_on_a_state():
    a, b = _exporter("a", DELIVERY, "A_COMPLETED"), _exporter("b", "A_COMPLETED")
    refs = [a.ref(), b.ref()]
    assert [e.name for e in exporters_on(DELIVERY, refs)] == ["a"]
    assert [e.name for e in exporters_on("A_COMPLETED", refs)] == ["b"]
    assert exporters_on(CANCELLED, refs) == []


def test_a_chain_of_any_length_is_accepted():
    chain = [_exporter(f"e{n}", "INITPAID" if n == 0 else f"S{n}", f"S{n + 1}") for n in range(6)]
    assert chain_problem(chain) is None


def test_a_cycle_of_states_is_refused():
    problem = chain_problem([_exporter("a", "A_DONE", "B_DONE"), _exporter("b", "B_DONE", "A_DONE")])
    assert problem is not None and "cycle" in problem and "A_DONE" in problem


def test_duplicate_exporter_names_are_refused():
    assert "unique" in (chain_problem([_exporter("a", INITPAID), _exporter("a", DELIVERY)]) or "")


def test_config_needs_url_for_a_webhook_and_no_built_in_sets_state():
    with pytest.raises(ValidationError, match="needs url"):
        ExporterConfig(name="a", kind="webhook", on_state=INITPAID)
    with pytest.raises(ValidationError, match="built-in"):
        _exporter("a", "A_DONE", INITPAID)
    with pytest.raises(ValidationError):
        _exporter("a", "lower_case_state")


def test_settings_refuse_a_cycle_from_the_environment(monkeypatch):
    exporters = [
        {"name": "a", "kind": "webhook", "on_state": "A_DONE", "sets_state": "B_DONE", "url": "http://x.test"},
        {"name": "b", "kind": "webhook", "on_state": "B_DONE", "sets_state": "A_DONE", "url": "http://x.test"},
    ]
    monkeypatch.setenv("BATON_EXPORTERS", json.dumps(exporters))
    with pytest.raises(ValidationError, match="cycle"):
        Settings()
    monkeypatch.setenv("BATON_EXPORTERS", json.dumps(exporters[:1]))
    assert [e.name for e in Settings().exporters] == ["a"]


def test_delivery_is_reached_once_per_delivery_and_a_chain_stays_with_it():
    progress = ExportProgress()
    own, d2, d2_again = _event(E.shipped, 1), _event(E.shipped, 2), _event(E.shipped, 3)
    d2.delivery_id = d2_again.delivery_id = "D2"
    own.delivery_id = "D1"
    assert [reach_states(progress, e) for e in (own, d2, d2_again)] == [[DELIVERY], ["DELIVERY@D2"], []]
    refs = [_exporter("wms", DELIVERY, "WMS_DONE").ref()]
    assert [e.name for e in exporters_on("DELIVERY@D2", refs)] == ["wms"]
    assert (scoped("WMS_DONE", scope_of("DELIVERY@D2")), delivery_of("DELIVERY"), delivery_of(INITPAID)) == (
        "WMS_DONE@D2",
        "D1",
        None,
    )
