"""Automatic re-sourcing rules (models/resourcing.py): only a rejected delivery Baton sourced, once per location; the
move keeps why the first location lost; with no location it stays rejected for Head Office."""

from __future__ import annotations

from models import journey, resourcing
from models.catalogue import LocationKind
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus
from models.order import AlertType
from models.resourcing import Resourced
from models.sourcing import CandidateVerdict, SourcingDecision, SourcingStrategy
from tests.models.factories import T0, make_state


def _decision(location_id: str | None) -> SourcingDecision:
    assignments = {location_id: ["L2"]} if location_id else {}
    verdicts = [CandidateVerdict(location_id=location_id or "", kind=LocationKind.store, chosen=True, reason="chosen")]
    return SourcingDecision(
        decided_at=T0,
        strategy=SourcingStrategy.nearest_store,
        assignments=assignments,
        unsourced=[] if location_id else ["L2"],
        candidates=verdicts if location_id else [],
    )


def _rejected(sourced: bool = True):
    state = make_state()
    state.deliveries = [
        Delivery(delivery_id="D1", method=DeliveryMethod.click_and_collect, location_id="S001", line_ids=["L1"]),
        Delivery(
            delivery_id="D2",
            method=DeliveryMethod.home_delivery,
            location_id="W001",
            line_ids=[state.lines[-1].line_id],
            sourcing=_decision("W001") if sourced else None,
            status=DeliveryStatus.rejected,
            status_since=T0,
        ),
    ]

    journey.raise_alert(state, AlertType.delivery_rejected, T0, "D2 at W001: short pick", "D2")
    return state


def test_only_a_rejected_delivery_baton_sourced_is_sourced_again_once_per_location() -> None:
    assert resourcing.wanted(_rejected(sourced=False), T0) is None
    state = _rejected()
    request = resourcing.wanted(state, T0)
    assert request is not None and (request.delivery_id, request.excluded) == ("D2", ["W001"])
    resourcing.apply(state, request, Resourced(decision=_decision(None)), T0)
    assert state.deliveries[1].status is DeliveryStatus.rejected and resourcing.wanted(state, T0) is None
    assert state.history[-1].action == "delivery_not_resourced"
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.delivery_rejected]


def test_the_move_releases_the_old_stock_tells_both_locations_and_says_why_the_first_lost() -> None:
    state = _rejected()
    request = resourcing.wanted(state, T0)
    assert request is not None
    effects = resourcing.apply(state, request, Resourced(decision=_decision("S002"), reserved=True), T0)
    delivery = state.deliveries[1]
    assert (delivery.location_id, delivery.status, delivery.rejected_by) == ("S002", DeliveryStatus.allocated, ["W001"])
    assert delivery.sourcing is not None
    assert {v.location_id: v.reason for v in delivery.sourcing.candidates}["W001"] == "could not fulfil it: short pick"
    assert [(r.location_id, r.targets) for r in effects.releases] == [("W001", {line: 0 for line in delivery.line_ids})]
    assert [(m.store_id, m.type) for m in effects.store_messages] == [
        ("W001", "delivery_cancelled"),
        ("S002", "delivery_created"),
    ]
    assert not [a for a in state.alerts if a.is_open]
