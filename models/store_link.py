"""A store's link to Baton: heartbeats, when a silent store goes offline, what each change records, and what
an offline store means for click & collect and for its open orders. Pure rules: `now` is an argument."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from models import journey
from models.order import AlertType, OrderState, OrderStatus, store_link_workflow_id

DEFAULT_TIMEOUT = timedelta(minutes=10)
# Continue-as-new well before Temporal's own limits; a heartbeat costs about five history events.
DEFAULT_HISTORY_CAP = 2000


class LinkState(StrEnum):
    unmonitored = "unmonitored"  # never heard from: accepts click & collect orders as before
    online = "online"
    offline = "offline"


class Heartbeat(BaseModel):
    """A store's heartbeat as the link workflow receives it (already authenticated by the API)."""

    event_id: str
    store_id: str
    occurred_at: datetime  # the store's clock: kept for the record, never used to judge the link
    timeout: timedelta = Field(default=DEFAULT_TIMEOUT, gt=timedelta(0))  # the API's setting when it was sent


class LinkChange(BaseModel):
    """A store going offline or coming back online; `change_id` de-duplicates it everywhere."""

    change_id: str
    store_id: str
    state: LinkState
    previous: LinkState
    at: datetime
    detail: str = ""

    @property
    def concerns_orders(self) -> bool:
        """Open orders hear of a store going offline and of it coming back, not of its first heartbeat."""
        return self.state is LinkState.offline or self.previous is LinkState.offline


class StoreLink(BaseModel):
    """Everything the link workflow knows about one store; carried over continue-as-new."""

    store_id: str
    state: LinkState = LinkState.unmonitored
    since: datetime | None = None
    last_heartbeat_at: datetime | None = None
    timeout: timedelta = DEFAULT_TIMEOUT
    changes: int = 0  # how many changes were recorded, so change ids keep counting across runs


class StoreLinkInput(BaseModel):
    """Starts (or continues) a store's link workflow. Without `link` it loads the last known one from SQL."""

    store_id: str
    link: StoreLink | None = None
    history_cap: int = Field(default=DEFAULT_HISTORY_CAP, ge=10)


class StoreLinkRecord(BaseModel):
    """What the link workflow writes to SQL: the link as it is now, and the change that made it so, if any."""

    link: StoreLink
    change: LinkChange | None = None


class StoreLinkView(BaseModel):
    """One store's link as Head Office sees it."""

    store_id: str
    name: str
    kind: str
    state: LinkState
    since: datetime | None = None
    last_heartbeat_at: datetime | None = None


class StoreLinkDetail(StoreLinkView):
    changes: list[LinkChange]


def _change(link: StoreLink, state: LinkState, now: datetime, detail: str) -> LinkChange:
    link.changes += 1
    change = LinkChange(
        change_id=f"{store_link_workflow_id(link.store_id)}:change:{link.changes}",
        store_id=link.store_id,
        state=state,
        previous=link.state,
        at=now,
        detail=detail,
    )
    link.state, link.since = state, now
    return change


def _moment(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def record_heartbeat(link: StoreLink, heartbeat: Heartbeat, now: datetime) -> LinkChange | None:
    """The store was heard from at `now`; returns the change when this brings it online."""
    link.last_heartbeat_at = max(now, link.last_heartbeat_at or now)
    link.timeout = heartbeat.timeout
    if link.state is LinkState.online:
        return None
    if link.state is LinkState.unmonitored:
        return _change(link, LinkState.online, now, "first heartbeat: the link is monitored from now on")
    offline_for = now - link.since if link.since else timedelta(0)
    return _change(link, LinkState.online, now, f"heartbeat received after {_duration(offline_for)} offline")


def offline_deadline(link: StoreLink) -> datetime | None:
    """When an online store counts as offline unless it is heard from again; None when it is not online."""
    if link.state is not LinkState.online or link.last_heartbeat_at is None:
        return None
    return link.last_heartbeat_at + link.timeout


def go_offline_if_silent(link: StoreLink, now: datetime) -> LinkChange | None:
    deadline = offline_deadline(link)
    if deadline is None or now < deadline or link.last_heartbeat_at is None:
        return None
    return _change(
        link,
        LinkState.offline,
        now,
        f"no heartbeat since {_moment(link.last_heartbeat_at)} (link timeout {_duration(link.timeout)})",
    )


def click_and_collect_refusal(store_id: str, state: LinkState | None, since: datetime | None) -> str | None:
    """Why a store takes no new click & collect orders now, or None. Unmonitored stores take them."""
    if state is not LinkState.offline:
        return None
    when = f" since {_moment(since)}" if since else ""
    return (
        f"store {store_id} is offline{when} (no heartbeat within its link timeout); "
        "click & collect resumes when it is back online"
    )


def apply_to_order(state: OrderState, change: LinkChange, now: datetime) -> bool:
    """An order hears that a store went offline or came back; True when the order changed (project it)."""
    if change.change_id in state.seen_link_change_ids:
        return False
    state.seen_link_change_ids.append(change.change_id)
    if change.state is LinkState.offline:
        at_store = change.store_id == state.store_id and state.status != OrderStatus.awaiting_dispatch
        if state.is_final or not at_store:
            return False
        state.offline_store_id = change.store_id
        if any(a.type is AlertType.store_offline and a.is_open for a in state.alerts):
            return False
        journey.raise_alert(state, AlertType.store_offline, now, f"store {change.store_id}: {change.detail}")
        return True
    if state.offline_store_id != change.store_id:
        return False
    state.offline_store_id = None
    journey.record(state, now, journey.SYSTEM, "store_back_online", f"store {change.store_id}: {change.detail}")
    journey.settle_alerts(state, now)
    return True


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{seconds}s" if seconds else ""]
    return "".join(parts) or "0s"
