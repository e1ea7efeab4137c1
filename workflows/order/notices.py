"""The order's notice signals: what other workflows and services tell an order (its store's link, a failed store
message, a short stock count, a customer request, a return received, the stuck-order sweep). Each goes through the
order's one funnel (`_decide`) under its lock, as a Head Office action does; kept here so the shell stays readable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models import requests, returns, stock_counts, store_events, stuck
    from models.effects import Effects
    from models.feeds import CountShortfall
    from models.order import OrderState, StoreMessageFailed
    from models.store_link import LinkChange, apply_to_order


class NoticeSignals:
    """Mixed into OrderWorkflow, which provides the state, the lock and the funnel."""

    _state: OrderState
    _lock: asyncio.Lock

    # OrderWorkflow's funnel: declared, not defined, so the mixin has no body of its own to call by mistake.
    _decide: Callable[[Callable[[datetime], Effects | None]], Awaitable[None]]

    @workflow.signal
    async def store_link_changed(self, change: LinkChange) -> None:
        """The order's store went offline (store_offline alert) or came back online (alert cleared)."""
        async with self._lock:
            await self._decide(lambda now: Effects() if apply_to_order(self._state, change, now) else None)

    @workflow.signal
    async def store_message_failed(self, failure: StoreMessageFailed) -> None:
        """The store outbox gave up on a message to the store's webhook: a store_unreachable alert."""
        async with self._lock:
            await self._decide(lambda now: store_events.message_failed(self._state, failure, now))

    @workflow.signal
    async def stock_count_short(self, shortfall: CountShortfall) -> None:
        """A stock count found less on the shelf than is reserved where the order holds stock (the feeds API):
        a stock_count_short alert, once while it is open."""
        async with self._lock:
            await self._decide(lambda now: stock_counts.on_count_short(self._state, shortfall, now))

    @workflow.signal
    async def customer_request(self, notice: requests.RequestNotice) -> None:
        """A customer request was filed, went unanswered too long, or was answered (workflows/requests.py)."""
        async with self._lock:
            await self._decide(lambda now: requests.on_notice(self._state, notice, now))

    @workflow.signal
    async def return_received(self, notice: returns.ReturnNotice) -> None:
        """A return of the order's goods arrived at its location (workflows/returns.py): recorded once."""
        async with self._lock:
            await self._decide(lambda now: returns.on_return_received(self._state, notice, now))

    @workflow.signal
    async def stuck_found(self, report: stuck.StuckReport) -> None:
        """The stuck-order sweep found the order making no progress: a stuck alert with what it waits for."""
        async with self._lock:
            await self._decide(lambda now: stuck.on_stuck(self._state, report, now))
