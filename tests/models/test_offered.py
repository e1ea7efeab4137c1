"""The order page offers an action exactly when its rules would accept it (for a command valid on the order's
lines): models/offered.py agrees with every refusal of models/actions.py, for orders in every status."""

from __future__ import annotations

import itertools

import pytest

from models.actions import ACTIONS
from models.offered import offered_actions
from models.order import HoldReason, OrderState, OrderStatus
from models.views import for_api
from tests.models.factories import (
    STORE,
    T0,
    captured,
    card,
    cleared_state,
    due,
    gbp,
    make_state,
    prepaid,
    refund,
    refused_by,
)

PAYMENTS = {
    "prepaid": lambda: [prepaid()],
    "captured": lambda: [captured()],
    "authorised": lambda: [card("authorised")],
    "declined": lambda: [card("declined")],
    "capture_failed": lambda: [card("capture_failed")],
    "due": lambda: [due()],
    "refunded": lambda: [prepaid()],
}


def _states() -> list[tuple[str, OrderState]]:
    states = []
    for status, payments in itertools.product(OrderStatus, PAYMENTS):
        holds = [None]
        if status is OrderStatus.on_hold:
            holds = list(HoldReason)
        for hold in holds:
            extra = {"refunds": [refund(7500, status="instructed")]} if payments == "refunded" else {}
            state = cleared_state(status, payments=PAYMENTS[payments](), hold_reason=hold, **extra)
            states.append((f"{status.value}-{payments}-{hold}", state))
    state = cleared_state(OrderStatus.ready_for_collection, store_update_pending_since=T0)
    states.append(("ready-with-update-pending", state))
    picked = cleared_state(OrderStatus.acknowledged)
    picked.lines[0].picked_quantity = 1
    states.append(("acknowledged-partly-picked", picked))
    states.append(("awaiting-approval", make_state(OrderStatus.awaiting_approval, payments=[card("authorised")])))
    return states


# Where a form offers a choice that the rules judge differently, the action is valid if any choice is.
OTHER_TEE = {"sku": "TEE-BLA-M", "style": "TEE", "size": "M", "colour": "black", "unit_price": gbp(4500)}
CHOICES: dict[str, list[dict]] = {
    "switch_to_home_delivery": [{}, {"from_location": STORE}],
    "change_variant": [{}, {"line_id": "L2", "variant": OTHER_TEE}],
}


def _accepted(name: str, state: OrderState) -> bool:
    return any(refused_by(name, state, **fields) is None for fields in CHOICES.get(name, [{}]))


@pytest.mark.parametrize(("name", "state"), _states(), ids=[n for n, _ in _states()])
def test_an_action_is_offered_exactly_when_its_rules_accept_it(name: str, state: OrderState):
    offered = {action.name for action in offered_actions(for_api(state))}
    disagree = {
        action.name: refused_by(action.name, state)
        for action in ACTIONS
        if (action.name in offered) != _accepted(action.name, state)
    }
    assert not disagree, f"offered {sorted(offered)}; the rules disagree on {disagree}"


def test_a_completed_order_offers_only_a_note_and_a_refund():
    state = cleared_state(OrderStatus.completed, payments=[captured()])
    assert [a.name for a in offered_actions(for_api(state))] == ["add_note", "refund"]


def test_a_cancelled_order_still_offers_notes_and_refunds_of_money_kept():
    state = cleared_state(OrderStatus.cancelled, payments=[captured()])
    assert [a.name for a in offered_actions(for_api(state))] == ["add_note", "refund"]
    state.refunds.append(refund(7500))
    assert [a.name for a in offered_actions(for_api(state))] == ["add_note"]
