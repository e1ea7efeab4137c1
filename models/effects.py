"""What a decided message asks the order workflow to carry out.

Every message that reaches an order (a Head Office action, a store event, a gateway answer, a deadline) is
decided by a pure rule that changes the order state and returns `Effects`. Before anything changes, a rule may
state `Needs`: stock to reserve or to send on its way, which can still be refused by the stock ledger. The shell
carries the effects out and then commits the transition once: stock releases, the projection, outbound events
and store messages in one database transaction. Money needs no effect: rules queue gateway operations on the
state (`state.operations`), and the shell runs whatever is queued after each message, never inside one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.catalogue import DispatchTransfer, LineReservation


@dataclass(frozen=True)
class StoreMessage:
    type: str  # order_created | order_updated | order_cancelled | order_prompt | transfer_incoming | delivery_created
    store_id: str | None = None  # whom to tell, when not the order's store (a store the order moved away from)


@dataclass(frozen=True)
class Release:
    """Set each line's reservation to a target quantity (0 releases it), at one location or everywhere."""

    targets: dict[str, int]
    location_id: str | None = None


@dataclass
class Needs:
    """Stock ledger work done before the order changes: a reservation or a transfer's dispatch (either can be
    refused: 409 stock_shortage), or a transfer's receipt (the stock the order is then reserved from)."""

    reserve: list[LineReservation] = field(default_factory=list)
    reserve_at: str | None = None
    dispatch: DispatchTransfer | None = None
    receive_transfer: str | None = None

    def __bool__(self) -> bool:
        return bool(self.reserve) or self.dispatch is not None or self.receive_transfer is not None


@dataclass
class Effects:
    releases: list[Release] = field(default_factory=list)
    commit_at: str | None = None  # the goods left this location with the customer: consume its reservations
    commit_lines: list[str] | None = None  # only these lines' reservations there (None: every line's)
    store_messages: list[StoreMessage] = field(default_factory=list)
    send_to_store: bool = False  # reserve every open line at the store, then send the order to it

    def tell_store(self, message_type: str, store_id: str | None = None) -> Effects:
        self.store_messages.append(StoreMessage(message_type, store_id))
        return self

    def release(self, targets: dict[str, int], location_id: str | None = None) -> Effects:
        if targets:
            self.releases.append(Release(targets, location_id))
        return self

    def then(self, more: Effects | None) -> Effects:
        """These effects followed by `more` (a later rule's, in the same change)."""
        if more is not None:
            self.releases += more.releases
            if more.commit_at:
                self.commit_at, self.commit_lines = more.commit_at, more.commit_lines
            self.store_messages += more.store_messages
            self.send_to_store = self.send_to_store or more.send_to_store
        return self

    @property
    def touches_stock(self) -> bool:
        return bool(self.releases) or self.commit_at is not None


@dataclass(frozen=True)
class Refusal:
    """Why a message does not apply; `rule` is what the API answers 409 with."""

    rule: str
    message: str


class Refused(Exception):
    """Raised by a rule that finds, while applying, that it cannot (kept for the checks only `apply` can make)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
