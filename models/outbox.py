"""The outbox contract: what leaves an order is written to outbox tables in the same transaction as the change
(activities/projection.py), and a few long-lived dispatcher workflows deliver it, one per lane
(workflows/outbox.py). This module names the lanes and their workflow ids, says what one relay reports, how a
receiver's answer is read and when a delivery gives up. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

OUTBOX_LANE_WORKFLOW = "OutboxLaneWorkflow"
# The order workflow's signal when a store message fails for good (models.order.StoreMessageFailed).
STORE_MESSAGE_FAILED_SIGNAL = "store_message_failed"


class LaneKind(StrEnum):
    subscriber = "subscriber"  # order events to one webhook subscriber, in outbox order
    store = "store"  # messages to one store's webhook, in outbox order
    extracts = "extracts"  # XML notification extracts to the drop folder and/or HTTP endpoint
    exporter = "exporter"  # one exporter's queued runs
    mail = "mail"  # e-mail about order events (customers, mailing lists, Head Office)
    availability = "availability"  # stock_changed batches to one webhook subscriber, from the stock ledger


EXTRACTS_LANE = LaneKind.extracts.value
MAIL_LANE = LaneKind.mail.value


def subscriber_lane(subscriber_id: str) -> str:
    return f"{LaneKind.subscriber}:{subscriber_id}"


def availability_lane(subscriber_id: str) -> str:
    return f"{LaneKind.availability}:{subscriber_id}"


def store_lane(store_id: str) -> str:
    return f"{LaneKind.store}:{store_id}"


def exporter_lane(name: str) -> str:
    return f"{LaneKind.exporter}:{name}"


def lane_workflow_id(lane: str) -> str:
    """A business id, the same in every process and test: "outbox-store:S001", "outbox-extracts"."""
    return f"outbox-{lane}"


def parse_lane(lane: str) -> tuple[LaneKind, str]:
    """(kind, key) of a lane name; ValueError for a name no lane has."""
    kind, _, key = lane.partition(":")
    try:
        parsed = LaneKind(kind)
    except ValueError:
        raise ValueError(f"unknown outbox lane {lane!r}") from None
    if (parsed in (LaneKind.extracts, LaneKind.mail)) != (key == ""):
        raise ValueError(f"unknown outbox lane {lane!r}")
    return parsed, key


class LaneRetry(BaseModel):
    """How the lane's relay activity backs off while its head delivery keeps failing (from settings)."""

    initial_seconds: float
    max_interval_seconds: float


# Relays per run of a lane's workflow before it continues as new (~6 history events each).
LOOPS_PER_RUN = 300


class LaneInput(BaseModel):
    lane: str
    retry: LaneRetry
    loops_per_run: int = LOOPS_PER_RUN


class RelayReport(BaseModel):
    """What one relay activity did: counts by outcome, and why it stopped early."""

    lane: str
    delivered: int = 0
    given_up: int = 0  # refused, failed past the horizon, or a store without an endpoint
    skipped: int = 0  # events of types the subscriber did not subscribe to
    blocked: str | None = None  # the head delivery is failing (after progress in this run); the next run retries
    retired: bool = False  # the lane should not run: its subscriber is deactivated, its exporter gone
    retry: LaneRetry  # the settings now, for the next relay

    @property
    def moved(self) -> int:
        return self.delivered + self.given_up + self.skipped


class Answer(StrEnum):
    delivered = "delivered"
    retry = "retry"  # no answer, 5xx, 408 or 429: try again later
    refused = "refused"  # any other answer: the receiver refused this message; sending it again will not help


def classify(status_code: int | None) -> Answer:
    """How a receiver answered a POST (None: it did not answer)."""
    if status_code is None or status_code >= 500 or status_code in (408, 429):
        return Answer.retry
    if 200 <= status_code < 300:
        return Answer.delivered
    return Answer.refused


def expired(entered_at: datetime, now: datetime, horizon_seconds: float) -> bool:
    """A delivery still failing this long after it entered the outbox is given up."""
    return (now - entered_at).total_seconds() > horizon_seconds
