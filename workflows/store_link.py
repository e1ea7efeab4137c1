"""StoreLinkWorkflow: one store's link monitor, id "store-link-<store_id>", long-lived.

Signals: heartbeat (sent with signal-with-start by the store webhook). Queries: link.
Online, it sleeps until the last heartbeat plus the link timeout — one timer per timeout, not one per
heartbeat — and re-arms when a later heartbeat moved the deadline. A store that stays silent goes offline;
its next heartbeat brings it back online. Each change is written to SQL (local activity: placement refuses
click & collect orders for an offline store) and told to the store's open orders (store_offline alert).
Continues as new when Temporal suggests it or the history passes `history_cap`, carrying the link over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.store_links import StoreLinkActivities
    from models import store_link as rules
    from models.store_link import Heartbeat, LinkChange, StoreLink, StoreLinkInput, StoreLinkRecord

DATABASE_TIMEOUT = timedelta(seconds=30)
TELL_ORDERS_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1))


@workflow.defn
class StoreLinkWorkflow:
    @workflow.init
    def __init__(self, start: StoreLinkInput) -> None:
        self._store_id = start.store_id
        self._link: StoreLink | None = start.link
        self._history_cap = start.history_cap
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: StoreLinkInput) -> None:
        if self._link is None:
            # A fresh start (first heartbeat ever, or after the workflow was terminated): carry on from SQL.
            self._link = await workflow.execute_local_activity_method(
                StoreLinkActivities.load_store_link, self._store_id, start_to_close_timeout=DATABASE_TIMEOUT
            )
        while not self._continue_as_new_due():
            deadline = rules.offline_deadline(self._current)
            if deadline is None:  # offline or never heard from: wait for a heartbeat, with no timer
                await workflow.wait_condition(
                    lambda: rules.offline_deadline(self._current) is not None or self._continue_as_new_due()
                )
                continue
            if deadline > workflow.now():
                # Heartbeats do not wake it (no timer per heartbeat), except one with a shorter timeout.
                def woken(armed: datetime = deadline) -> bool:
                    return self._continue_as_new_due() or self._deadline_before(armed)

                try:
                    await workflow.wait_condition(woken, timeout=deadline - workflow.now())
                except TimeoutError:
                    pass
                continue  # heartbeats may have moved the deadline while it slept: re-arm
            async with self._lock:
                change = rules.go_offline_if_silent(self._current, workflow.now())
                if change is not None:
                    await self._record(change)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            StoreLinkInput(store_id=self._store_id, link=self._current, history_cap=self._history_cap)
        )

    @workflow.query
    def link(self) -> StoreLink:
        return self._link or StoreLink(store_id=self._store_id)

    @workflow.signal
    async def heartbeat(self, heartbeat: Heartbeat) -> None:
        # The lock first: the heartbeat that starts the workflow is applied before the run judges the link.
        async with self._lock:
            await workflow.wait_condition(lambda: self._link is not None)
            change = rules.record_heartbeat(self._current, heartbeat, workflow.now())
            await self._record(change)

    @property
    def _current(self) -> StoreLink:
        assert self._link is not None, "the link is loaded before anything reads it"
        return self._link

    async def _record(self, change: LinkChange | None) -> None:
        await workflow.execute_local_activity_method(
            StoreLinkActivities.record_store_link,
            StoreLinkRecord(link=self._current, change=change),
            start_to_close_timeout=DATABASE_TIMEOUT,
        )
        if change is not None and change.concerns_orders:
            await workflow.execute_activity_method(
                StoreLinkActivities.tell_open_orders,
                change,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=TELL_ORDERS_RETRY,
            )

    def _deadline_before(self, armed: datetime) -> bool:
        deadline = rules.offline_deadline(self._current)
        return deadline is not None and deadline < armed

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._history_cap
