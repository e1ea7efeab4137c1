"""B2B on the order itself: what placement keeps of a buyer's account and of the references given
(`b2b_at_placement`), who may approve as the account's contact (`contact_approval_problem`), and Head Office's
`add_third_party_invoice` action (`POST /orders/{n}/third-party-invoices`), audited in the order's history."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from models.b2b import B2BAccount, B2BOrder, Reference, ThirdPartyInvoice, approval_reason, block_problem
from models.delivery_placement import FieldProblem
from models.effects import Effects, Refusal
from models.intervention_commands import _Command
from models.interventions import record
from models.order import OrderState, OrderStatus
from models.placing import PlaceOrder
from models.text import Line

ADDED = "third_party_invoice_added"  # the history entry's action
MAX_INVOICES = 50


def placement_problems(order: PlaceOrder, currency: str, account: tuple[str, B2BAccount] | None) -> list[FieldProblem]:
    """What refuses a B2B order at placement: an item cost in another currency, or a buyer's order the account
    blocks (above its block limit, naming it)."""
    problems = [
        FieldProblem(f"lines[{i}].unit_cost.currency", f"every amount must be in {currency}")
        for i, line in enumerate(order.lines)
        if line.unit_cost is not None and line.unit_cost.currency != currency
    ]
    if account is not None:
        account_id, found = account
        if (blocked := block_problem(account_id, found, order.gross(), currency)) is not None:
            problems.append(FieldProblem(*blocked))
    return problems


def b2b_at_placement(state: OrderState, order: PlaceOrder, account: tuple[str, B2BAccount] | None) -> None:
    """Keep the account (the customer is one of its buyers), the references and item costs on the newborn order; a
    buyer's order the account's limit holds waits for its approver, unless Head Office's own policy holds it
    already (then Head Office approves it)."""
    for line, given in zip(state.lines, order.lines, strict=True):
        line.unit_cost = given.unit_cost
    account_id = account[0] if account is not None else None
    if account_id is None and order.customer_reference is None and order.purchase_order_number is None:
        return
    state.b2b = B2BOrder(
        account_id=account_id,
        customer_reference=order.customer_reference,
        purchase_order_number=order.purchase_order_number,
    )
    if account is not None and state.approval_reason is None:
        state.approval_reason = approval_reason(account[0], account[1], order.gross())


def contact_approval_problem(
    state_b2b: B2BOrder | None, approval: str | None, approver_id: str, account: B2BAccount | None
) -> tuple[int, str] | None:
    """(status, message) when `approver_id` may not approve this order as its account's contact: 422 when the order
    waits for no account approver, 403 when the approver is not one of the account's."""
    if state_b2b is None or state_b2b.account_id is None or account is None:
        return 422, "the order was not placed for a B2B account"
    if approval is None or not approval.startswith(f"needs approval by account {state_b2b.account_id}"):
        return 422, "the order does not wait for its account's approver"
    if approver_id not in account.approvers:
        return 403, f"{approver_id} is not an approver of account {state_b2b.account_id}"
    return None


def approver_actor(account_id: str, approver_id: str) -> str:
    """How the history names an account's approver (a contact, not a Head Office user)."""
    return f"approver:{approver_id} (account {account_id})"


class AddThirdPartyInvoice(_Command):
    """An invoice number another system (ERP, accounting) gave the order; found by `reference=`."""

    number: Reference = Field(description="The invoice number")
    system: Line = Field(default="", max_length=64, description="The system that issued it (ERP, accounting)")


def refusal_for_add_third_party_invoice(state: OrderState, command: AddThirdPartyInvoice) -> Refusal | None:
    if state.b2b is None:
        return Refusal("not_a_b2b_order", "only a B2B order (placed for an account, or with a reference) is invoiced")
    known = state.b2b.third_party_invoices
    if any(invoice.number == command.number for invoice in known):
        return Refusal("invoice_known", f"invoice {command.number} is already on the order")
    if len(known) >= MAX_INVOICES:
        return Refusal("too_many_invoices", f"an order keeps up to {MAX_INVOICES} third-party invoice numbers")
    if state.status is OrderStatus.cancelled:
        return Refusal("order_cancelled", "a cancelled order is invoiced by no one")
    if state.status is OrderStatus.awaiting_approval:
        return Refusal("order_not_approved", "an order awaiting approval is invoiced once it is approved")
    return None


def apply_add_third_party_invoice(state: OrderState, command: AddThirdPartyInvoice, now: datetime) -> Effects:
    assert state.b2b is not None  # the refusal said so
    state.b2b.third_party_invoices.append(ThirdPartyInvoice(number=command.number, system=command.system))
    record(state, now, command, ADDED, f"{command.system or 'invoice'} {command.number}")
    return Effects()
