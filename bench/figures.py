"""What a run measured, and how it is printed: one table per concurrency level, a summary line per level."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from histories import EventCounts


@dataclass
class RunFigures:
    requested: int = 0
    started: int = 0  # orders placed (Baton) / workflows started (bare): the "per order" denominator
    completed: int = 0
    wall_seconds: float = 0.0
    start_ms: list[float] = field(default_factory=list)
    signal_ms: list[float] = field(default_factory=list)
    journey_s: list[float] = field(default_factory=list)
    polls: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    completed_ids: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # Baton: the order numbers placed
    events: EventCounts = field(default_factory=EventCounts)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # role -> CPU ms over the run (see bench/cpu.py)
    cpu_wall_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.completed / self.wall_seconds if self.wall_seconds else 0.0

    def cpu_per_order(self, role: str) -> float | None:
        if role not in self.cpu_ms or not self.started:
            return None
        return self.cpu_ms[role] / self.started

    def cpu_per_request(self, role: str) -> float | None:
        """Per HTTP request the driver made: POST /orders, webhooks and GET polls."""
        requests = len(self.start_ms) + len(self.signal_ms) + self.polls
        return self.cpu_ms[role] / requests if role in self.cpu_ms and requests else None

    def cpu_total_per_order(self, roles: tuple[str, ...]) -> float | None:
        parts = [self.cpu_per_order(role) for role in roles]
        return None if any(part is None for part in parts) else sum(parts)  # type: ignore[misc]

    def cpu_cores(self, roles: tuple[str, ...]) -> float | None:
        """How many cores the measured processes kept busy on average over the run."""
        if not self.cpu_wall_s or any(role not in self.cpu_ms for role in roles):
            return None
        return sum(self.cpu_ms[role] for role in roles) / 1000 / self.cpu_wall_s


BATON_ROLES = ("temporal", "worker", "api", "driver")
BARE_ROLES = ("temporal", "worker")  # the bare "worker" is the benchmark process: bare worker + driver


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def mean(values: list[int] | list[float]) -> float | None:
    return statistics.fmean(values) if values else None


async def run_pool(count: int, concurrency: int, journey: Callable[[int], Awaitable[None]]) -> float:
    """Run journey(0..count-1) with at most `concurrency` at once; returns the wall time in seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def runner() -> None:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await journey(index)

    started = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


# ---- output ----------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(baton: float | None, bare: float | None) -> str:
    if baton is None or bare is None or bare == 0:
        return "-"
    return f"{baton / bare:.2f}x"


def print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print(" | ".join(cells))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


Getter = Callable[[RunFigures], float | None]
# (label, getter for baton, getter for bare (None: not applicable), digits, show the ratio)
ROWS: list[tuple[str, Getter, Getter | None, int, bool]] = [
    ("orders completed", lambda f: f.completed, lambda f: f.completed, 0, False),
    ("orders failed", lambda f: f.requested - f.completed, lambda f: f.requested - f.completed, 0, False),
    ("wall time (s)", lambda f: f.wall_seconds, lambda f: f.wall_seconds, 2, True),
    ("orders/s", lambda f: f.per_second, lambda f: f.per_second, 2, True),
    ("start p50 (ms)", lambda f: percentile(f.start_ms, 50), lambda f: percentile(f.start_ms, 50), 1, True),
    ("start p99 (ms)", lambda f: percentile(f.start_ms, 99), lambda f: percentile(f.start_ms, 99), 1, True),
    ("signal p50 (ms)", lambda f: percentile(f.signal_ms, 50), lambda f: percentile(f.signal_ms, 50), 1, True),
    ("signal p99 (ms)", lambda f: percentile(f.signal_ms, 99), lambda f: percentile(f.signal_ms, 99), 1, True),
    ("journey p50 (s)", lambda f: percentile(f.journey_s, 50), lambda f: percentile(f.journey_s, 50), 2, True),
    ("journey p99 (s)", lambda f: percentile(f.journey_s, 99), lambda f: percentile(f.journey_s, 99), 2, True),
    ("events/order, own", lambda f: f.events.own_per_order, lambda f: f.events.own_per_order, 1, True),
    ("events/order, shared (amortized)", lambda f: f.events.shared_per_order, None, 1, False),
    ("events/order, total", lambda f: f.events.total_per_order, lambda f: f.events.total_per_order, 1, True),
    ("orders sampled for events", lambda f: f.events.sampled_orders, lambda f: f.events.sampled_orders, 0, False),
    (
        "own workflows/order",
        lambda f: f.events.own_workflows / f.events.sampled_orders if f.events.sampled_orders else None,
        lambda f: f.events.own_workflows / f.events.sampled_orders if f.events.sampled_orders else None,
        1,
        False,
    ),
    ("  of them still open (total)", lambda f: f.events.own_open, lambda f: f.events.own_open, 0, False),
    ("shared workflows that grew", lambda f: f.events.shared_workflows, None, 0, False),
    ("CPU temporal (ms/order)", lambda f: f.cpu_per_order("temporal"), lambda f: f.cpu_per_order("temporal"), 1, True),
    ("CPU worker (ms/order)", lambda f: f.cpu_per_order("worker"), lambda f: f.cpu_per_order("worker"), 1, True),
    ("CPU api (ms/order)", lambda f: f.cpu_per_order("api"), None, 1, False),
    ("CPU api (ms/request)", lambda f: f.cpu_per_request("api"), None, 1, False),
    ("CPU bench driver (ms/order)", lambda f: f.cpu_per_order("driver"), None, 1, False),
    (
        "CPU total (ms/order)",
        lambda f: f.cpu_total_per_order(BATON_ROLES),
        lambda f: f.cpu_total_per_order(BARE_ROLES),
        1,
        True,
    ),
    ("CPU busy (cores)", lambda f: f.cpu_cores(BATON_ROLES), lambda f: f.cpu_cores(BARE_ROLES), 2, False),
    ("GET polls/order", lambda f: f.polls / f.requested if f.requested else None, None, 1, False),
]


def print_table(baton: RunFigures | None, bare: RunFigures | None) -> None:
    table = [("metric", "baton", "bare", "ratio")]
    for name, get_baton, get_bare, digits, with_ratio in ROWS:
        a = get_baton(baton) if baton else None
        b = get_bare(bare) if bare and get_bare else None
        table.append((name, fmt(a, digits), fmt(b, digits), ratio(a, b) if with_ratio else ""))
    print_rows(table)
    if bare is not None and bare.cpu_ms:
        print("(bare: the worker row is the benchmark process, which hosts the bare worker and its driver)")

    own = [(label, f.events) for label, f in (("baton", baton), ("bare", bare)) if f and f.events.own_events]
    types = sorted(set().union(*(counts.own_types for _label, counts in own))) if own else []
    if types:
        print("\nown history events by type (mean per order):")
        breakdown = [("event type", "baton", "bare")]
        for name in types:
            cells = []
            for figures in (baton, bare):
                counts = figures.events if figures else None
                sampled = len(counts.own_events) if counts else 0
                cells.append(fmt(counts.own_types[name] / sampled, 2) if counts and sampled else "-")
            breakdown.append((name, *cells))
        print_rows(breakdown)

    if baton and baton.events.own_events:
        sampled = len(baton.events.own_events)
        print("\nbaton events per order by workflow (mean per order; <n> is the order number):")
        rows = [("workflow", "events")]
        rows += [(kind, fmt(n / sampled, 2)) for kind, n in baton.events.own_kinds.most_common()]
        print_rows(rows)
    if baton and baton.events.shared_kinds:
        print(f"\nshared workflows: events appended during the run (over {baton.events.orders} orders):")
        rows = [("workflow", "events", "per order")]
        for kind, n in baton.events.shared_kinds.most_common(10):
            rows.append((kind, str(n), fmt(n / baton.events.orders if baton.events.orders else None, 2)))
        print_rows(rows)
    if baton and baton.events.other_orders_workflows:
        print(f"\n({baton.events.other_orders_workflows} workflows started during the run belong to other orders)")

    for label, figures in (("baton", baton), ("bare", bare)):
        errors = (figures.errors + figures.events.errors) if figures else Counter()
        if errors:
            print(f"\n{label} errors:")
            for message, count in errors.most_common(10):
                print(f"  {count:>5} x {message}")


def summary_line(concurrency: int, baton: RunFigures | None, bare: RunFigures | None) -> str:
    a, b = (baton.per_second if baton else None), (bare.per_second if bare else None)
    segments = [f"orders/s baton {fmt(a, 2)}, bare {fmt(b, 2)}, baton/bare {ratio(a, b)}"]
    events = []
    if baton:
        e = baton.events
        events.append(f"baton {fmt(e.total_per_order)} (own {fmt(e.own_per_order)} + shared {fmt(e.shared_per_order)})")
    if bare:
        events.append(f"bare {fmt(bare.events.total_per_order)}")
    segments.append("events/order " + ", ".join(events))
    cpu_a = baton.cpu_total_per_order(BATON_ROLES) if baton else None
    cpu_b = bare.cpu_total_per_order(BARE_ROLES) if bare else None
    segments.append(f"CPU ms/order baton {fmt(cpu_a)}, bare {fmt(cpu_b)}")
    return f"concurrency {concurrency:>3}: " + " | ".join(segments)
