"""What each Head Office action does once it applies (models/interventions.py, models/payment_actions.py, through
models.actions.BY_NAME): the stock it needs and releases, the store messages it asks for, and the money it queues
(`state.operations`) or records (due payments, instructed refunds)."""

from __future__ import annotations

from datetime import timedelta

from models import clearance, interventions, payment_actions
from models.actions import BY_NAME
from models.effects import Effects
from models.intervention_commands import CancelOrder
from models.order import HoldReason, LineFulfilment, OrderState, OrderStatus, StoreEventType
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind, PaymentRecord
from models.placement import new_order
from models.placing import PlaceOrder
from tests.models.factories import (
    ADDRESS,
    OTHER_STORE,
    PRODUCTS,
    STORE,
    T0,
    TOKEN,
    WAREHOUSE_ID,
    applied,
    at,
    captured,
    card,
    cleared_state,
    command,
    gbp,
    make_state,
    order_command,
    prepaid,
    store_event,
)
from tests.models.pure_shell import Books, FakeGateway, PureShell

S = OrderStatus
Kind = GatewayOperationKind


def _ops(state: OrderState) -> list[tuple[str, str, int]]:
    return [(op.payment_id, op.kind, op.amount.amount) for op in state.operations]


def _messages(effects: Effects) -> list[tuple[str, str | None]]:
    return [(m.type, m.store_id) for m in effects.store_messages]


def _releases(effects: Effects) -> list[tuple[dict[str, int], str | None]]:
    return [(r.targets, r.location_id) for r in effects.releases]


def _refunds(state: OrderState) -> list[tuple[str, int, str]]:
    return [(r.payment_id, r.amount.amount, r.status) for r in state.refunds]


# ---- cancel order ------------------------------------------------------------------------------------------------


def test_cancel_order_releases_everything_tells_the_store_and_instructs_a_prepaid_refund() -> None:
    state = cleared_state()
    effects = applied("cancel_order", state)
    assert state.status is S.cancelled and [line.quantity for line in state.lines] == [0, 0]
    assert _releases(effects) == [({"L1": 0, "L2": 0}, None)]
    assert _messages(effects) == [("order_cancelled", None)]
    assert _refunds(state) == [("P1", 7500, "instructed")] and state.refunds[0].reference == "PSP-1"


def test_cancel_order_of_auth_capture_queues_a_refund_operation() -> None:
    state = cleared_state(payments=[captured()])
    applied("cancel_order", state)
    assert _ops(state) == [("P1", Kind.refund, 7500)]
    assert state.operations[0].reference == "cap-P1" and _refunds(state) == [("P1", 7500, "requested")]


def test_cancel_order_of_an_authorised_order_voids_the_authorisation() -> None:
    state = cleared_state(payments=[card("authorised")])
    applied("cancel_order", state)
    assert _ops(state) == [("P1", Kind.void, 7500)] and state.refunds == []


def test_cancel_order_refunds_charges_taken_too() -> None:
    state = cleared_state(payments=[prepaid(7500)])
    applied("take_payment", state, amount={"amount": 500, "currency": "GBP"})
    applied("confirm_payment", state, payment_id="P2")
    applied("cancel_order", state)
    assert sorted(_refunds(state)) == [("P1", 7500, "instructed"), ("P2", 500, "instructed")]
    assert state.kept() == gbp(0)


def test_cancel_order_never_sent_to_the_store_tells_no_store() -> None:
    state = make_state(S.awaiting_approval, approval_reason="phone", payments=[prepaid()])
    effects = applied("cancel_order", state)
    assert effects.store_messages == [] and _refunds(state) == [("P1", 7500, "instructed")]


def test_cancel_order_through_the_function_is_the_same_rule() -> None:
    assert BY_NAME["cancel_order"].apply is interventions.apply_cancel_order
    state = cleared_state(payments=[captured()])
    interventions.apply_cancel_order(state, command(CancelOrder), at(1))
    assert _ops(state) == [("P1", Kind.refund, 7500)]


# ---- cancel lines ------------------------------------------------------------------------------------------------


def test_cancel_lines_on_a_prepaid_order_plans_an_instructed_refund() -> None:
    state = cleared_state()
    effects = applied("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 1}])
    assert _releases(effects) == [({"L1": 1}, None)]
    assert _messages(effects) == [("order_updated", None)]
    assert state.store_update_pending_since == at(10)
    assert _refunds(state) == [("P1", 1500, "instructed")]
    assert state.outstanding() == gbp(0)


def test_cancel_lines_on_an_authorised_order_moves_no_money_until_handover() -> None:
    state = cleared_state(payments=[card("authorised")])
    applied("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 1}])
    assert state.operations == [] and state.refunds == []


def test_cancel_lines_of_every_line_cancels_the_order_and_refunds_everything() -> None:
    state = cleared_state(payments=[captured()])
    effects = applied("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 2}, {"line_id": "L2", "quantity": 1}])
    assert state.status is S.cancelled and state.store_update_pending_since is None
    assert _messages(effects) == [("order_cancelled", None)]
    assert _ops(state) == [("P1", Kind.refund, 7500)]


def test_cancel_lines_of_every_line_refunds_charges_taken_too() -> None:
    state = cleared_state(payments=[prepaid(7500)])
    applied("take_payment", state, amount={"amount": 500, "currency": "GBP"})
    applied("confirm_payment", state, payment_id="P2")
    applied("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 2}, {"line_id": "L2", "quantity": 1}])
    assert state.status is S.cancelled
    assert state.kept() == gbp(0)


# ---- change variant, add item ------------------------------------------------------------------------------------


def test_change_variant_needs_the_new_variant_reserved_and_releases_the_old_line() -> None:
    state = cleared_state()
    needs = BY_NAME["change_variant"].decide_needs(state, order_command("change_variant"))
    assert [(r.line_id, r.sku, r.quantity) for r in needs.reserve] == [("L3", "TEE-WHI-L", 2)]
    assert needs.reserve_at == STORE
    effects = applied("change_variant", state)
    assert _releases(effects) == [({"L1": 0}, None)] and _messages(effects) == [("order_updated", None)]
    assert (state.line("L1").replaced_by, state.line("L3").quantity) == ("L3", 2)


def test_change_variant_to_a_dearer_one_on_a_prepaid_order_makes_the_difference_due() -> None:
    state = cleared_state()
    applied("change_variant", state)  # 2 x 18.00 instead of 2 x 15.00
    assert [(p.payment_id, p.status, p.amount) for p in state.payments[1:]] == [("P2", "due", gbp(600))]


def test_change_variant_to_a_cheaper_one_on_auth_capture_queues_a_refund() -> None:
    state = cleared_state(payments=[captured()])
    variant = {**order_command("change_variant").variant.model_dump(), "unit_price": gbp(1000)}
    applied("change_variant", state, variant=variant)
    assert _ops(state) == [("P1", Kind.refund, 1000)]


def test_add_item_needs_it_reserved_at_the_store() -> None:
    needs = BY_NAME["add_item"].decide_needs(cleared_state(), order_command("add_item", quantity=2))
    assert [(r.line_id, r.sku, r.quantity) for r in needs.reserve] == [("L3", "TEE-WHI-L", 2)]
    assert needs.reserve_at == STORE


def test_add_item_on_an_authorised_order_queues_an_authorise_on_the_stored_card() -> None:
    state = cleared_state(payments=[card("authorised")])
    effects = applied("add_item", state)
    charge = state.payments[-1]
    assert (charge.payment_id, charge.mode, charge.status, charge.token) == ("P2", "charge", "pending", TOKEN)
    assert _ops(state) == [("P2", Kind.authorise, 1800)]
    assert _messages(effects) == [("order_updated", None)]


def test_add_item_on_an_auth_capture_order_queues_a_sale_on_the_stored_card() -> None:
    state = cleared_state(payments=[captured()])
    applied("add_item", state)
    assert _ops(state) == [("P2", Kind.sale, 1800)]


def test_add_item_on_a_prepaid_order_creates_a_due_payment() -> None:
    state = cleared_state()
    applied("add_item", state)
    assert [(p.payment_id, p.method, p.status, p.amount) for p in state.payments[1:]] == [
        ("P2", "till", "due", gbp(1800))
    ]
    assert state.operations == [] and state.outstanding() == gbp(1800)


def test_add_item_after_picking_sends_the_order_back_to_the_pick_list() -> None:
    state = cleared_state(S.ready_for_collection)
    applied("add_item", state)
    assert state.status is S.acknowledged
    assert [e.action for e in state.history if e.to_status] == ["to_pick_again"]


# ---- buy in store, move, home delivery, redirect -----------------------------------------------------------------


def test_buy_in_store_refunds_the_line_and_keeps_its_stock_reserved() -> None:
    state = cleared_state(payments=[captured()])
    effects = applied("buy_in_store", state, line_ids=["L2"])
    assert state.line("L2").fulfilment is LineFulfilment.buy_in_store
    assert effects.releases == [] and _messages(effects) == [("order_updated", None)]
    assert _ops(state) == [("P1", Kind.refund, 4500)]


def test_move_to_store_reserves_there_releases_here_and_tells_both_stores() -> None:
    state = cleared_state(S.acknowledged)
    needs = BY_NAME["move_to_store"].decide_needs(state, order_command("move_to_store"))
    assert (needs.reserve_at, [r.line_id for r in needs.reserve]) == (OTHER_STORE, ["L1", "L2"])
    effects = applied("move_to_store", state)
    assert _releases(effects) == [({"L1": 0, "L2": 0}, STORE)]
    assert _messages(effects) == [("order_cancelled", STORE), ("order_created", None)]
    assert (state.store_id, state.status, state.status_since) == (OTHER_STORE, S.awaiting_acknowledgement, at(10))


def test_switch_to_home_delivery_from_a_warehouse_reserves_there_and_releases_the_store() -> None:
    state = cleared_state(S.acknowledged)
    needs = BY_NAME["switch_to_home_delivery"].decide_needs(state, order_command("switch_to_home_delivery"))
    assert (needs.reserve_at, [r.line_id for r in needs.reserve]) == (WAREHOUSE_ID, ["L1", "L2"])
    effects = applied("switch_to_home_delivery", state)
    assert _releases(effects) == [({"L1": 0, "L2": 0}, STORE)]
    assert _messages(effects) == [("order_cancelled", None), ("delivery_created", WAREHOUSE_ID)]
    assert (state.status, state.dispatch_location, state.delivery_address.city) == (
        S.awaiting_dispatch, WAREHOUSE_ID, ADDRESS["city"]
    )
    assert {line.fulfilment for line in state.lines} == {LineFulfilment.home_delivery}


def test_switch_to_home_delivery_from_the_store_keeps_its_reservation() -> None:
    state = cleared_state(S.acknowledged)
    assert not BY_NAME["switch_to_home_delivery"].decide_needs(
        state, order_command("switch_to_home_delivery", from_location=STORE)
    )
    effects = applied("switch_to_home_delivery", state, from_location=STORE)
    assert effects.releases == [] and _messages(effects) == [("order_cancelled", None), ("delivery_created", STORE)]


def test_redirect_stock_dispatches_a_transfer_and_tells_the_store() -> None:
    state = cleared_state(S.on_hold, hold_reason=HoldReason.stock_shortage)
    needs = BY_NAME["redirect_stock"].decide_needs(state, order_command("redirect_stock", quantity=2))
    assert needs.dispatch is not None
    assert (needs.dispatch.transfer_id, needs.dispatch.to_location, needs.dispatch.quantity) == (
        "order-100001:transfer:1", STORE, 2
    )
    effects = applied("redirect_stock", state, quantity=2)
    assert _messages(effects) == [("transfer_incoming", None)]
    assert state.status is S.awaiting_transfer and state.pending_transfers()[0].transfer_id == "order-100001:transfer:1"


def test_prompt_store_asks_for_an_order_prompt() -> None:
    assert _messages(applied("prompt_store", cleared_state(S.awaiting_acknowledgement))) == [("order_prompt", None)]


def test_add_note_changes_no_stock_money_or_store() -> None:
    state = cleared_state(S.completed)
    effects = applied("add_note", state, text="gift wrap", client_facing=True)
    assert not effects.touches_stock and effects.store_messages == [] and state.operations == []
    assert [(n.text, n.client_facing) for n in state.notes] == [("gift wrap", True)]


# ---- release hold ------------------------------------------------------------------------------------------------


def test_release_hold_of_a_short_pick_shrinks_the_lines_and_refunds_the_rest() -> None:
    state = cleared_state(S.on_hold, hold_reason=HoldReason.short_pick, payments=[captured()])
    state.line("L1").picked_quantity, state.line("L2").picked_quantity = 1, 1
    effects = applied("release_hold", state, client_note="one tee only")
    assert _releases(effects) == [({"L1": 1, "L2": 1}, None)] and _messages(effects) == [("order_updated", None)]
    assert state.status is S.ready_for_collection and _ops(state) == [("P1", Kind.refund, 1500)]
    assert [n.text for n in state.notes] == ["one tee only"]


def test_release_hold_of_a_stock_shortage_sends_the_order_to_the_store_again() -> None:
    state = cleared_state(S.on_hold, hold_reason=HoldReason.stock_shortage)
    assert applied("release_hold", state).send_to_store


# ---- money actions -----------------------------------------------------------------------------------------------


def test_take_payment_on_an_authorised_order_authorises_the_stored_card() -> None:
    state = cleared_state(payments=[card("authorised")])
    applied("take_payment", state)
    assert state.total() == gbp(8000) and [c.amount for c in state.charges] == [gbp(500)]
    assert _ops(state) == [("P2", Kind.authorise, 500)]


def test_take_payment_on_a_prepaid_order_is_due_at_the_till() -> None:
    state = cleared_state()
    applied("take_payment", state)
    assert [(p.status, p.amount) for p in state.payments[1:]] == [("due", gbp(500))]


def test_refund_of_captured_money_queues_a_refund_and_records_goodwill() -> None:
    state = cleared_state(S.completed, payments=[captured()])
    assert BY_NAME["refund"].apply is payment_actions.apply_refund
    applied("refund", state, amount={"amount": 1000, "currency": "GBP"})
    assert _ops(state) == [("P1", Kind.refund, 1000)]
    assert [a.amount for a in state.adjustments] == [gbp(1000)]
    assert state.total() == gbp(6500) and state.outstanding() == gbp(0)


def test_refund_of_prepaid_money_is_instructed_against_the_channels_reference() -> None:
    state = cleared_state(S.completed)
    applied("refund", state)
    assert _refunds(state) == [("P1", 500, "instructed")] and state.refunds[0].reference == "PSP-1"


def test_approve_order_lets_clearance_take_the_payments() -> None:
    state = make_state(S.awaiting_approval, approval_reason="phone", payments=[card("pending")])
    effects = applied("approve_order", state)
    assert state.approved_at == at(10) and not effects.send_to_store
    assert clearance.clear_for_store(state, at(11)) is None
    assert _ops(state) == [("P1", Kind.authorise, 7500)]


def test_reject_order_cancels_and_instructs_a_prepaid_refund_without_telling_a_store() -> None:
    state = make_state(S.awaiting_approval, approval_reason="phone", payments=[prepaid()])
    effects = applied("reject_order", state)
    assert state.status is S.cancelled and effects.store_messages == []
    assert [e.action for e in state.history if e.to_status] == ["order_rejected"]
    assert _refunds(state) == [("P1", 7500, "instructed")]


def test_confirm_payment_takes_an_offline_payment_and_clearance_sends_the_order() -> None:
    awaiting = PaymentRecord(payment_id="P1", mode="offline", method="bank", amount=gbp(7500), status="awaiting")
    state = make_state(S.awaiting_payment, payments=[awaiting])
    applied("confirm_payment", state)
    assert state.paid() == gbp(7500)
    assert clearance.clear_for_store(state, at(11)) == Effects(send_to_store=True)


def test_retry_payment_queues_the_payment_again_with_the_new_token() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.payment_declined, payments=[card("declined")])
    applied("retry_payment", state, token="tok_new")
    clearance.clear_for_store(state, at(11))
    assert _ops(state) == [("P1", Kind.authorise, 7500)] and state.payments[0].token == "tok_new"


def test_override_payment_of_a_declined_placement_payment_lets_the_order_go_ahead() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.payment_declined, payments=[card("declined")])
    applied("override_payment", state)
    assert clearance.clear_for_store(state, at(11)) == Effects(send_to_store=True)


# ---- end to end, through the workflow's funnel -------------------------------------------------------------------


def _placed(payment: dict, policy: PaymentPolicy | None = None) -> PureShell:
    order = PlaceOrder.model_validate({
        "web_reference": "W1", "channel": "web",
        "customer": {"id": "C1", "name": "Ada", "email": "ada@example.com"},
        "fulfilment": {"method": "click_and_collect", "store_id": STORE},
        "lines": [{"sku": "TEE-WHI-M", "quantity": 2, "unit_price": {"amount": 1500, "currency": "GBP"}},
                  {"sku": "JEAN-IND-32", "quantity": 1, "unit_price": {"amount": 4500, "currency": "GBP"}}],
        "payment": {"method": "card", "amount": {"amount": 7500, "currency": "GBP"}, **payment},
    })
    return PureShell(new_order("100001", order, PRODUCTS, T0, policy), FakeGateway(Books()), T0)


def test_cancel_order_of_auth_capture_refunds_through_the_gateway() -> None:
    shell = _placed({"mode": "auth_capture", "token": "tok"})
    assert shell.act("cancel_order", order_command("cancel_order")) is None
    assert (shell.books.gateway_in, shell.books.gateway_out) == (7500, 7500)
    assert shell.state.refunded() == gbp(7500) and shell.state.operations == []


def test_add_item_on_an_authorised_order_is_captured_at_collection() -> None:
    shell = _placed({"mode": "authorise", "token": "tok"})
    shell.act("add_item", order_command("add_item"))
    shell.store(store_event(StoreEventType.picked, picked={"L1": 2, "L2": 1, "L3": 1}, event_id="E1"))
    shell.store(store_event(StoreEventType.collected, event_id="E2"))
    assert shell.state.status is S.completed and shell.books.gateway_in == 7500 + 1800
    assert shell.state.paid() == gbp(9300) and shell.state.outstanding() == gbp(0)


def test_not_collected_refunds_everything_less_the_uncollected_fee() -> None:
    shell = _placed({"mode": "prepaid", "reference": "PSP-9"}, PaymentPolicy(uncollected_fee={"GBP": 300}))
    shell.store(store_event(StoreEventType.picked, picked={"L1": 2, "L2": 1}, event_id="E1"))
    shell.store(store_event(StoreEventType.not_collected, event_id="E2"))
    assert shell.state.status is S.cancelled
    assert _refunds(shell.state) == [("P1", 7200, "instructed")] and shell.state.kept() == gbp(300)


def test_collection_expiry_refunds_everything_less_the_uncollected_fee() -> None:
    shell = _placed({"mode": "auth_capture", "token": "tok"}, PaymentPolicy(uncollected_fee={"GBP": 300}))
    shell.store(store_event(StoreEventType.picked, picked={"L1": 2, "L2": 1}, event_id="E1"))
    shell.later(timedelta(days=8))
    assert shell.state.status is S.cancelled
    assert (shell.books.gateway_in, shell.books.gateway_out) == (7500, 7200)
