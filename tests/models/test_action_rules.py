"""Every rule that refuses a Head Office action on an order's lines, store or fulfilment (models/interventions.py,
through models.actions.BY_NAME): the condition that makes it refuse, naming its rule, and the same action applying
once the condition is gone. Money actions: test_action_rules_money.py; store events: test_store_event_rules.py.

The last test keeps it so: every `Refusal("<rule>", ...)` in models/ must be named by some test in tests/models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models import fulfilment_actions as fulfilment
from models import interventions as lines
from models import payment_actions as money
from models.actions import ACTIONS, BY_NAME
from models.money import MAX_AMOUNT
from models.order import HoldReason, LineFulfilment, OrderState, OrderStatus, Transfer
from tests.models.factories import (
    OTHER_STORE,
    STORE,
    T0,
    VALID_FIELDS,
    WAREHOUSE_ID,
    applied,
    at,
    card,
    cleared_state,
    make_line,
    order_command,
    refused_by,
)

S = OrderStatus
# The actions that change lines, store or fulfilment (or charge more): none once the order is collected or closed.
LINE_ACTIONS = [
    "cancel_lines", "change_variant", "add_item", "buy_in_store", "move_to_store", "switch_to_home_delivery",
    "redirect_stock", "prompt_store", "take_payment",
]


def _picked(status: OrderStatus = S.acknowledged) -> OrderState:
    state = cleared_state(status)
    for line in state.lines:
        line.picked_quantity = line.quantity
    return state


def _transfer(to: str = STORE) -> Transfer:
    return Transfer(transfer_id="T1", sku="TEE-WHI-M", quantity=1, from_location=WAREHOUSE_ID, to_location=to,
                    requested_at=T0, requested_by="ho:alice")


def test_every_action_has_a_valid_command_here() -> None:
    assert set(VALID_FIELDS) == set(BY_NAME) and len(ACTIONS) == len(BY_NAME)


@pytest.mark.parametrize(
    ("name", "refusal", "apply"),
    [
        ("release_hold", lines.refusal_for_release_hold, lines.apply_release_hold),
        ("cancel_order", lines.refusal_for_cancel_order, lines.apply_cancel_order),
        ("cancel_lines", lines.refusal_for_cancel_lines, lines.apply_cancel_lines),
        ("change_variant", lines.refusal_for_change_variant, lines.apply_change_variant),
        ("add_item", lines.refusal_for_add_item, lines.apply_add_item),
        ("buy_in_store", fulfilment.refusal_for_buy_in_store, fulfilment.apply_buy_in_store),
        ("move_to_store", fulfilment.refusal_for_move_to_store, fulfilment.apply_move_to_store),
        ("switch_to_home_delivery", fulfilment.refusal_for_home_delivery, fulfilment.apply_home_delivery),
        ("redirect_stock", fulfilment.refusal_for_redirect_stock, fulfilment.apply_redirect_stock),
        ("prompt_store", lines.refusal_for_prompt_store, lines.apply_prompt_store),
        ("add_note", lines.refusal_for_add_note, lines.apply_add_note),
        ("take_payment", money.refusal_for_take_payment, money.apply_take_payment),
        ("refund", money.refusal_for_refund, money.apply_refund),
        ("approve_order", money.refusal_for_approval, money.apply_approve_order),
        ("reject_order", money.refusal_for_approval, money.apply_reject_order),
        ("confirm_payment", money.refusal_for_confirm_payment, money.apply_confirm_payment),
        ("retry_payment", money.refusal_for_retry_payment, money.apply_retry_payment),
        ("override_payment", money.refusal_for_override_payment, money.apply_override_payment),
    ],
)
def test_actions_tie_each_name_to_its_rules(name: str, refusal: object, apply: object) -> None:
    assert (BY_NAME[name].refusal, BY_NAME[name].apply) == (refusal, apply)


def test_cancel_lines_refused_through_the_function_as_through_its_name() -> None:
    state = cleared_state()
    command = order_command("cancel_lines", lines=[{"line_id": "L1", "quantity": 3}])
    refusal = lines.refusal_for_cancel_lines(state, command)  # type: ignore[arg-type]
    assert refusal is not None and refusal.rule == "quantity_exceeds_line"
    assert refusal.message == "line L1 has 2, not 3"


# ---- closed: order_not_cleared, order_collected, order_closed ----------------------------------------------------


@pytest.mark.parametrize("name", LINE_ACTIONS)
@pytest.mark.parametrize("status", [S.awaiting_approval, S.awaiting_payment])
def test_line_actions_refused_when_order_not_cleared(name: str, status: OrderStatus) -> None:
    assert refused_by(name, cleared_state(status, store_update_pending_since=at(1))) == "order_not_cleared"


@pytest.mark.parametrize("name", LINE_ACTIONS)
@pytest.mark.parametrize("reason", [HoldReason.payment_declined, HoldReason.payment_unknown])
def test_line_actions_refused_when_held_for_payment(name: str, reason: HoldReason) -> None:
    state = cleared_state(S.on_hold, hold_reason=reason, store_update_pending_since=at(1))
    assert refused_by(name, state) == "order_not_cleared"


@pytest.mark.parametrize("name", LINE_ACTIONS)
@pytest.mark.parametrize("status", [S.collected, S.completed])
def test_line_actions_refused_when_order_collected(name: str, status: OrderStatus) -> None:
    assert refused_by(name, cleared_state(status)) == "order_collected"


@pytest.mark.parametrize("name", [*LINE_ACTIONS, "cancel_order"])
@pytest.mark.parametrize("status", [S.cancelled, S.awaiting_dispatch])
def test_line_actions_refused_when_order_closed(name: str, status: OrderStatus) -> None:
    assert refused_by(name, cleared_state(status)) == "order_closed"


@pytest.mark.parametrize("name", [*LINE_ACTIONS, "cancel_order"])
def test_line_actions_apply_to_an_acknowledged_order(name: str) -> None:
    applied(name, cleared_state(S.acknowledged))


# ---- cancel order ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.awaiting_approval, S.awaiting_payment])
def test_cancel_order_applies_to_an_order_waiting_for_head_office(status: OrderStatus) -> None:
    state = cleared_state(status, cleared_at=None)
    applied("cancel_order", state)
    assert state.status is S.cancelled


@pytest.mark.parametrize("reason", [HoldReason.payment_declined, HoldReason.payment_unknown])
def test_cancel_order_applies_to_an_order_held_for_payment(reason: HoldReason) -> None:
    state = cleared_state(S.on_hold, hold_reason=reason, cleared_at=None)
    applied("cancel_order", state)
    assert state.status is S.cancelled


# ---- cancel lines ------------------------------------------------------------------------------------------------


def test_cancel_lines_refused_when_a_line_appears_twice() -> None:
    lines = [{"line_id": "L1", "quantity": 1}, {"line_id": "L1", "quantity": 1}]
    assert refused_by("cancel_lines", cleared_state(), lines=lines) == "duplicate_line"


def test_cancel_lines_applies_to_distinct_lines() -> None:
    applied("cancel_lines", cleared_state(), lines=[{"line_id": "L1", "quantity": 1}, {"line_id": "L2", "quantity": 1}])


def test_cancel_lines_refused_when_line_unknown() -> None:
    assert refused_by("cancel_lines", cleared_state(), lines=[{"line_id": "L9", "quantity": 1}]) == "unknown_line"


def test_cancel_lines_refused_when_line_already_cancelled() -> None:
    state = cleared_state()
    state.lines.append(make_line("L3", 0))
    assert refused_by("cancel_lines", state, lines=[{"line_id": "L3", "quantity": 1}]) == "line_not_open"


def test_cancel_lines_refused_when_line_held_to_buy_in_store() -> None:
    state = cleared_state()
    state.line("L1").fulfilment = LineFulfilment.buy_in_store
    assert refused_by("cancel_lines", state) == "line_not_open"


def test_cancel_lines_refused_when_quantity_exceeds_line() -> None:
    assert refused_by("cancel_lines", cleared_state(), lines=[{"line_id": "L1", "quantity": 3}]) == (
        "quantity_exceeds_line"
    )


def test_cancel_lines_applies_to_the_whole_line() -> None:
    applied("cancel_lines", cleared_state(), lines=[{"line_id": "L1", "quantity": 2}])


def test_cancel_lines_refused_below_picked_quantity() -> None:
    state = cleared_state()
    state.line("L1").picked_quantity = 2
    assert refused_by("cancel_lines", state) == "below_picked_quantity"


def test_cancel_lines_applies_down_to_picked_quantity() -> None:
    state = cleared_state()
    state.line("L1").picked_quantity = 1
    applied("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 1}])


# ---- change variant ----------------------------------------------------------------------------------------------


def _variant(**changes: object) -> dict:
    return {**VALID_FIELDS["change_variant"]["variant"], **changes}


def test_change_variant_refused_when_line_unknown() -> None:
    assert refused_by("change_variant", cleared_state(), line_id="L9") == "unknown_line"


def test_change_variant_refused_when_line_already_picked() -> None:
    state = cleared_state()
    state.line("L1").picked_quantity = 1
    assert refused_by("change_variant", state) == "line_already_picked"


def test_change_variant_applies_to_a_line_picked_as_nothing_yet() -> None:
    state = cleared_state()
    state.line("L1").picked_quantity = 0
    applied("change_variant", state)


def test_change_variant_refused_when_same_variant() -> None:
    assert refused_by("change_variant", cleared_state(), variant=_variant(sku="TEE-WHI-M")) == "same_variant"


def test_change_variant_refused_when_not_a_sibling_variant() -> None:
    variant = _variant(sku="JEAN-IND-34", style="JEAN")
    assert refused_by("change_variant", cleared_state(), variant=variant) == "not_a_sibling_variant"


def test_change_variant_refused_when_currency_differs() -> None:
    variant = _variant(unit_price={"amount": 1800, "currency": "EUR"})
    assert refused_by("change_variant", cleared_state(), variant=variant) == "currency_mismatch"


def test_change_variant_refused_when_amount_too_large() -> None:
    variant = _variant(unit_price={"amount": MAX_AMOUNT // 2, "currency": "GBP"})  # two of them
    assert refused_by("change_variant", cleared_state(), variant=variant) == "amount_too_large"


def test_change_variant_applies_up_to_the_largest_amount() -> None:
    variant = _variant(unit_price={"amount": (MAX_AMOUNT - 7500) // 2, "currency": "GBP"})
    applied("change_variant", cleared_state(), variant=variant)


# ---- add item ----------------------------------------------------------------------------------------------------


def _item(amount: int, currency: str = "GBP") -> dict:
    return {**VALID_FIELDS["add_item"]["item"], "unit_price": {"amount": amount, "currency": currency}}


def test_add_item_refused_when_currency_differs() -> None:
    assert refused_by("add_item", cleared_state(), item=_item(1800, "EUR")) == "currency_mismatch"


def test_add_item_refused_when_amount_too_large() -> None:
    assert refused_by("add_item", cleared_state(), item=_item(MAX_AMOUNT - 7500 + 1)) == "amount_too_large"


def test_add_item_applies_up_to_the_largest_amount() -> None:
    applied("add_item", cleared_state(), item=_item(MAX_AMOUNT - 7500))


def test_add_item_refused_when_too_many_lines() -> None:
    state = cleared_state(lines=[make_line(f"L{n}", 1, 1) for n in range(1, 201)])
    assert refused_by("add_item", state) == "too_many_lines"


def test_add_item_applies_as_the_200th_line() -> None:
    state = cleared_state(lines=[make_line(f"L{n}", 1, 1) for n in range(1, 200)])
    applied("add_item", state)
    assert len(state.lines) == 200


# ---- buy in store ------------------------------------------------------------------------------------------------


def test_buy_in_store_refused_when_line_unknown() -> None:
    assert refused_by("buy_in_store", cleared_state(), line_ids=["L1", "L9"]) == "unknown_line"


def test_buy_in_store_refused_when_line_already_held_to_buy_in_store() -> None:
    state = cleared_state()
    state.line("L2").fulfilment = LineFulfilment.buy_in_store
    assert refused_by("buy_in_store", state, line_ids=["L2"]) == "line_not_open"


# ---- move to store -----------------------------------------------------------------------------------------------


def test_move_to_store_refused_when_same_store() -> None:
    assert refused_by("move_to_store", cleared_state(), store_id=STORE) == "same_store"


def test_move_to_store_refused_when_already_picked() -> None:
    assert refused_by("move_to_store", _picked()) == "already_picked"


def test_move_to_store_refused_when_ready_for_collection() -> None:
    assert refused_by("move_to_store", cleared_state(S.ready_for_collection)) == "already_picked"


def test_move_to_store_refused_when_transfer_in_progress() -> None:
    assert refused_by("move_to_store", cleared_state(transfers=[_transfer()])) == "transfer_in_progress"


def test_move_to_store_applies_once_the_transfer_is_received() -> None:
    transfer = _transfer()
    transfer.received_at = at(5)
    applied("move_to_store", cleared_state(transfers=[transfer]))


# ---- switch to home delivery -------------------------------------------------------------------------------------


def test_switch_to_home_delivery_refused_when_already_picked_elsewhere() -> None:
    assert refused_by("switch_to_home_delivery", _picked()) == "already_picked"


def test_switch_to_home_delivery_refused_when_transfer_in_progress() -> None:
    state = cleared_state(transfers=[_transfer()])
    assert refused_by("switch_to_home_delivery", state) == "transfer_in_progress"


def test_switch_to_home_delivery_refused_when_split_fulfilment() -> None:
    state = cleared_state()
    state.line("L2").fulfilment = LineFulfilment.buy_in_store
    assert refused_by("switch_to_home_delivery", state) == "split_fulfilment"


def test_switch_to_home_delivery_applies_from_the_collection_store_itself() -> None:
    state = _picked()
    applied("switch_to_home_delivery", state, from_location=STORE)
    assert (state.status, state.dispatch_location) == (S.awaiting_dispatch, STORE)


def test_switch_to_home_delivery_from_the_store_when_ready_for_collection_refused_or_applies() -> None:
    state = _picked(S.ready_for_collection)
    rule = refused_by("switch_to_home_delivery", state, from_location=STORE)
    if rule is None:
        applied("switch_to_home_delivery", state, from_location=STORE)
        assert state.status is S.awaiting_dispatch
    else:
        assert rule == "already_picked"


# ---- redirect stock ----------------------------------------------------------------------------------------------


def test_redirect_stock_refused_when_ready_for_collection() -> None:
    assert refused_by("redirect_stock", cleared_state(S.ready_for_collection)) == "already_picked"


def test_redirect_stock_refused_when_same_location() -> None:
    assert refused_by("redirect_stock", cleared_state(), from_location=STORE) == "same_location"


def test_redirect_stock_applies_from_another_store() -> None:
    applied("redirect_stock", cleared_state(), from_location=OTHER_STORE)


def test_redirect_stock_refused_when_sku_not_on_order() -> None:
    assert refused_by("redirect_stock", cleared_state(), sku="SOCK-1") == "sku_not_on_order"


def test_redirect_stock_refused_when_its_line_is_cancelled() -> None:
    state = cleared_state()
    state.line("L1").quantity = 0
    assert refused_by("redirect_stock", state) == "sku_not_on_order"


# ---- prompt store, add note --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.on_hold, S.ready_for_collection, S.awaiting_transfer])
def test_prompt_store_refused_when_store_not_expected_to_act(status: OrderStatus) -> None:
    assert refused_by("prompt_store", cleared_state(status)) == "store_not_expected_to_act"


def test_prompt_store_applies_while_an_update_waits_for_the_store() -> None:
    applied("prompt_store", cleared_state(S.ready_for_collection, store_update_pending_since=at(1)))


@pytest.mark.parametrize("status", list(OrderStatus))
def test_add_note_applies_in_every_status(status: OrderStatus) -> None:
    applied("add_note", cleared_state(status))


# ---- release hold ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not S.on_hold])
def test_release_hold_refused_when_order_not_on_hold(status: OrderStatus) -> None:
    assert refused_by("release_hold", cleared_state(status)) == "order_not_on_hold"


@pytest.mark.parametrize("reason", [HoldReason.payment_declined, HoldReason.payment_unknown])
def test_release_hold_refused_when_held_for_payment(reason: HoldReason) -> None:
    state = cleared_state(S.on_hold, hold_reason=reason, payments=[card("declined")])
    assert refused_by("release_hold", state) == "order_not_on_hold"


@pytest.mark.parametrize("reason", [HoldReason.stock_shortage, HoldReason.short_pick])
def test_release_hold_applies_when_held_for_stock(reason: HoldReason) -> None:
    applied("release_hold", cleared_state(S.on_hold, hold_reason=reason))


# ---- every rule has a test ---------------------------------------------------------------------------------------

_MODELS = Path(__file__).resolve().parents[2] / "models"
_RULE = re.compile(r'\b(?:Refusal|TransitionRefused)\(\s*"([a-z0-9_]+)"')


def test_every_refusal_rule_is_named_by_a_test() -> None:
    rules = {rule for path in _MODELS.rglob("*.py") for rule in _RULE.findall(path.read_text())}
    tests = "\n".join(path.read_text() for path in Path(__file__).parent.glob("*.py"))
    untested = sorted(rule for rule in rules if f'"{rule}"' not in tests)
    assert len(rules) > 25, "the pattern no longer finds the rules"
    assert untested == [], f"refusal rules no test in tests/models names: {', '.join(untested)}"


def test_every_refusal_rule_is_found_also_across_lines() -> None:
    assert _RULE.findall('return Refusal(\n    "below_picked_quantity",\n    "message")') == ["below_picked_quantity"]
