"""History events per order, counted across every workflow an order started, plus the shared ones.

Before a Baton run, `snapshot_shared` records the history length of every running workflow NOT tied to an
order (long-lived ones: store links, dispatchers). After the run, `count_baton_events` lists the workflows
started since the run began (`StartTime >= '...'` visibility query) and sorts each into:

- own: tied to one order of this run. A workflow is tied to order n when its id is `order-<n>`, when one of
  its id's tokens (split on anything but letters and digits) is n (`notifications-<n>`, `return-<n>-1`,
  `extract-<n>:4:extract`), or when its parent (or root) workflow is tied to n (child workflows);
- another order's: tied to an order that is not this run's (an earlier run's order, which the same rule
  recognises because its `order-<n>` workflow is in the listing); left out;
- shared: tied to no order. Its whole history counts, as it began during the run (a new dispatcher, or a
  continue-as-new run of one that existed before).

Events appended during the run to the workflows of the snapshot (their length now minus their length then,
each run by its run id, so a run that continued-as-new counts up to its last event) are shared as well.
Shared events are divided by the orders of the run (amortized). Own events are counted on a sample of the
orders, fetching every history they own; workflows still open are counted as they are.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution

ORDER_ID = re.compile(r"^order-(\d+)$")
TOKEN = re.compile(r"[^0-9A-Za-z]+")
CLOSING_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}
Run = tuple[str, str]  # workflow id, run id


@dataclass
class Snapshot:
    """Before a run: the history length of each running workflow tied to no order, and the orders seen."""

    lengths: dict[Run, int] = field(default_factory=dict)
    known_orders: set[str] = field(default_factory=set)


@dataclass
class EventCounts:
    orders: int = 0  # orders of the run (the denominator of the shared events)
    sampled_orders: int = 0
    own_events: list[int] = field(default_factory=list)  # per sampled order, over all its workflows
    own_workflows: int = 0  # workflows of the sampled orders
    own_open: int = 0  # of them still open when counted
    own_types: Counter[str] = field(default_factory=Counter)  # events by type, summed over the sample
    own_kinds: Counter[str] = field(default_factory=Counter)  # events by workflow kind (`notifications-<n>`)
    shared_events: int = 0
    shared_kinds: Counter[str] = field(default_factory=Counter)
    shared_workflows: int = 0  # runs that grew or began during the run
    other_orders_workflows: int = 0  # started during the run, tied to an order that is not this run's
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def own_per_order(self) -> float | None:
        return sum(self.own_events) / len(self.own_events) if self.own_events else None

    @property
    def shared_per_order(self) -> float | None:
        return self.shared_events / self.orders if self.orders else None

    @property
    def total_per_order(self) -> float | None:
        own, shared = self.own_per_order, self.shared_per_order
        return None if own is None else own + (shared or 0.0)


def event_label(event: HistoryEvent) -> str:
    """The event type, with the marker's name for markers (local activity vs. patch/version marker)."""
    label = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    if event.HasField("marker_recorded_event_attributes"):
        label += f" ({event.marker_recorded_event_attributes.marker_name})"
    return label


def visibility_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kind_of(workflow_id: str, order_number: str | None = None) -> str:
    """The workflow's id with the order number as <n> and other numbers as #: `notifications-<n>`."""
    tokens = TOKEN.split(workflow_id)
    for token in tokens:
        if token == order_number:
            workflow_id = re.sub(rf"(?<![0-9A-Za-z]){token}(?![0-9A-Za-z])", "<n>", workflow_id)
    return re.sub(r"(?<![0-9A-Za-z<])\d+(?![0-9A-Za-z>])", "#", workflow_id)


class OrderTies:
    """Which order (if any) a workflow belongs to, knowing the order numbers seen in a listing."""

    def __init__(self, executions: Iterable[WorkflowExecution], extra_orders: Iterable[str] = ()) -> None:
        self.by_id = {execution.id: execution for execution in executions}
        self.orders = set(extra_orders) | {m.group(1) for i in self.by_id if (m := ORDER_ID.match(i))}

    def order_of(self, execution: WorkflowExecution, depth: int = 0) -> str | None:
        if match := ORDER_ID.match(execution.id):
            return match.group(1)
        for token in TOKEN.split(execution.id):
            if token in self.orders:
                return token
        for ancestor in (execution.parent_id, getattr(execution, "root_id", None)):
            if ancestor and ancestor != execution.id and depth < 10:
                if match := ORDER_ID.match(ancestor):
                    return match.group(1)
                if ancestor in self.by_id:
                    return self.order_of(self.by_id[ancestor], depth + 1)
        return None


async def _gather_limited(jobs: list[Callable[[], Awaitable[None]]], limit: int = 10) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with semaphore:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def _history_length(client: Client, run: Run) -> int:
    return (await client.get_workflow_handle(run[0], run_id=run[1]).describe()).history_length


async def snapshot_shared(client: Client) -> Snapshot:
    """History length of every running workflow not tied to an order (taken before a run)."""
    running = [execution async for execution in client.list_workflows("ExecutionStatus = 'Running'")]
    ties = OrderTies(running)
    snapshot = Snapshot(known_orders=ties.orders)

    async def one(run: Run) -> None:
        try:
            snapshot.lengths[run] = await _history_length(client, run)
        except Exception:  # noqa: BLE001  (it went away: nothing of it to count)
            pass

    shared = [(e.id, e.run_id) for e in running if ties.order_of(e) is None]
    await _gather_limited([lambda run=run: one(run) for run in shared])
    return snapshot


def sample_evenly(items: list[str], sample: int) -> list[str]:
    if sample <= 0 or not items:
        return []
    step = max(1, len(items) // sample)
    return items[::step][:sample]


async def count_baton_events(
    client: Client, since: datetime, numbers: list[str], snapshot: Snapshot, sample: int
) -> EventCounts:
    query = f"StartTime >= '{visibility_time(since)}'"
    started = [execution async for execution in client.list_workflows(query)]
    ties = OrderTies(started, {*numbers, *snapshot.known_orders})
    this_run = set(numbers) | {m.group(1) for e in started if (m := ORDER_ID.match(e.id))}
    counts = EventCounts(orders=len(this_run))
    own: dict[str, list[WorkflowExecution]] = {}
    new_shared: list[WorkflowExecution] = []
    for execution in started:
        order = ties.order_of(execution)
        if order is None:
            new_shared.append(execution)
        elif order in this_run:
            own.setdefault(order, []).append(execution)
        else:
            counts.other_orders_workflows += 1

    async def shared_run(run: Run, before: int) -> None:
        try:
            grown = await _history_length(client, run) - before
        except Exception as error:  # noqa: BLE001  (a figure we could not get is reported, not fatal)
            counts.errors[f"shared history {run[0]}: {type(error).__name__}"] += 1
            return
        if grown:
            counts.shared_events += grown
            counts.shared_kinds[kind_of(run[0])] += grown
            counts.shared_workflows += 1

    jobs: list[Callable[[], Awaitable[None]]] = [
        lambda run=run, before=before: shared_run(run, before) for run, before in snapshot.lengths.items()
    ]
    jobs += [lambda e=e: shared_run((e.id, e.run_id), 0) for e in new_shared]

    chosen = sample_evenly(sorted(own, key=int), sample)
    per_order: Counter[str] = Counter()

    async def own_run(order: str, execution: WorkflowExecution) -> None:
        try:
            history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        except Exception as error:  # noqa: BLE001
            counts.errors[f"history: {type(error).__name__}: {error}"[:160]] += 1
            return
        events = history.events
        per_order[order] += len(events)
        counts.own_workflows += 1
        counts.own_open += bool(events) and events[-1].event_type not in CLOSING_EVENTS
        counts.own_types.update(event_label(event) for event in events)
        in_id = order in TOKEN.split(execution.id)
        counts.own_kinds[kind_of(execution.id, order) if in_id else f"{execution.workflow_type} (child)"] += len(events)

    jobs += [lambda o=o, e=e: own_run(o, e) for o in chosen for e in own[o]]
    await _gather_limited(jobs)
    counts.sampled_orders = len(chosen)
    counts.own_events = [per_order[order] for order in chosen]
    return counts


async def count_bare_events(client: Client, workflow_ids: list[str], sample: int) -> EventCounts:
    """The bare run: one workflow per order, nothing shared."""
    chosen = sample_evenly(workflow_ids, sample)
    counts = EventCounts(orders=len(workflow_ids), sampled_orders=len(chosen))

    async def one(workflow_id: str) -> None:
        try:
            events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        except Exception as error:  # noqa: BLE001
            counts.errors[f"history: {type(error).__name__}: {error}"[:160]] += 1
            return
        counts.own_events.append(len(events))
        counts.own_workflows += 1
        counts.own_open += bool(events) and events[-1].event_type not in CLOSING_EVENTS
        counts.own_types.update(event_label(event) for event in events)
        counts.own_kinds["bare"] += len(events)

    await _gather_limited([lambda w=w: one(w) for w in chosen])
    return counts
