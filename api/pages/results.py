"""What the order page says after a Head Office action, in plain words: what was done (and the money it set on its
way), why it was refused, what to correct, or that its outcome is not known yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from api.pages.forms import ActionForm
from api.pages.shared import money, words
from api.pages.wording import history_words
from api.problems import Conflict, InvalidInput, OutcomeUnknown, Problem
from models.views import OrderView

UNKNOWN = "We could not confirm this was applied. Press again to check — it will not be applied twice."
_REFUND = {
    "requested": "requested — money on its way",
    "refunded": "refunded",
    "instructed": "to be paid back by the channel",
    "declined": "declined by the gateway",
}


@dataclass
class Result:
    """The banner above the form that was sent. `kept_key`: the form keeps its Idempotency-Key (all but done)."""

    path: str
    kind: Literal["done", "refused", "invalid", "unknown"]
    headline: str
    details: list[str] = field(default_factory=list)
    rule: str | None = None

    @property
    def kept_key(self) -> bool:
        return self.kind != "done"

    @property
    def toast(self) -> str:
        """The headline, and where the order now stands if that changed: what the toast says."""
        moved = next((d for d in self.details if d.startswith("The order is now")), "")
        return f"{self.headline} {moved}".strip()


def done(form: ActionForm, actor: str, before: OrderView, after: OrderView) -> Result:
    """What the action did, read from what it changed: its history entries, new money, the order's status."""
    entries = [e for e in after.history[len(before.history) :] if e.actor == actor]
    details = [f"{history_words(e.action)}: {e.detail}" if e.detail else history_words(e.action) for e in entries]
    old_refunds = {r.refund_id for r in before.refunds}
    money_lines = [
        f"Refund of {money(r.amount)} to {r.payment_id} {_REFUND.get(r.status, r.status)}"
        for r in after.refunds
        if r.refund_id not in old_refunds
    ]
    old_charges = {c.charge_id for c in before.charges}
    money_lines += [
        f"Charge of {money(c.amount)} added: {c.reason}" for c in after.charges if c.charge_id not in old_charges
    ]
    old_payments = {p.payment_id: p.status for p in before.payments}
    money_lines += [
        f"Payment {p.payment_id} of {money(p.amount)}: {words(p.status)}"
        for p in after.payments
        if old_payments.get(p.payment_id) != p.status
    ]
    if len(after.adjustments) > len(before.adjustments):
        money_lines += [
            f"Goodwill of {money(a.amount)} given back" for a in after.adjustments[len(before.adjustments) :]
        ]
    if after.status != before.status:
        details.append(f"The order is now {words(after.status)}.")
    said = money_lines + details  # the money first: it is what a refused refund would have been confused with
    headline = _sentence(said[0]) if said else f"{form.action.title}: done."
    return Result(form.action.path, "done", headline, said[1:])


def failed(form: ActionForm, error: Problem | ValidationError) -> Result:
    """A refusal (nothing changed), input to correct (nothing sent), or an outcome not known yet."""
    path = form.action.path
    if isinstance(error, ValidationError):
        errors = [
            _plain(form, ".".join(str(p) for p in e["loc"] if not isinstance(p, int)), e["msg"]) for e in error.errors()
        ]
        return Result(path, "invalid", "Nothing was sent — please correct the form.", errors, "invalid-input")
    if isinstance(error, InvalidInput):
        errors = [_plain(form, e["field"], e["message"]) for e in error.extra.get("errors", [])]
        return Result(path, "invalid", "Nothing was sent — please correct the form.", errors, "invalid-input")
    if isinstance(error, OutcomeUnknown):
        return Result(path, "unknown", UNKNOWN, rule=error.type)
    rule = str(error.extra.get("rule") or error.type) if isinstance(error, Conflict) else error.type
    return Result(path, "refused", f"Not done: {_sentence(error.detail)} Nothing was changed.", rule=rule)


def _plain(form: ActionForm, path: str, message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{form.label_of(path)}: {message}" if path else _sentence(message)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""
