"""The stuck-order sweep's one activity: find the orders that have made no progress past every deadline, whose
workflow does not answer, or whose store push has failed again and again, and alert each (`stuck`, with what it
waits for). A sweep that finds nothing costs one indexed query (open orders unchanged for an hour) and one for
failing pushes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from models.db import orders, undelivered
from models.diagnosis import OrderDiagnosis
from models.order import order_workflow_id
from models.settings import Settings
from models.stuck import StuckReport, verdict

STUCK_FOUND_SIGNAL = "stuck_found"


class SweepReport(BaseModel):
    looked_at: int = 0
    stuck: list[str] = []  # order numbers alerted
    unreachable: list[str] = []  # stuck, but their workflow could not be told (closed)


class SweepActivities:
    def __init__(self, engine: Engine, client: Client, settings: Settings) -> None:
        self._engine, self._client, self._settings = engine, client, settings

    @activity.defn
    async def sweep_stuck_orders(self) -> SweepReport:
        settings, now = self._settings, datetime.now(UTC)
        before = now - timedelta(seconds=settings.stuck_after_seconds)

        def read() -> tuple[list[tuple[str, datetime]], list[tuple[str, str]]]:
            with Session(self._engine) as session:
                quiet = orders.quiet_orders(session, before, settings.sweep_batch_size)
                failing = undelivered.failing_store_pushes(
                    session, settings.stuck_failed_attempts, settings.sweep_batch_size
                )
                return (
                    [(o.order_number, o.updated_at) for o in quiet],
                    [
                        (m.order_number, f"{m.type} to {m.store_id}: {m.attempts} attempts, {m.last_error}")
                        for m in failing
                    ],
                )

        quiet, failing = await asyncio.to_thread(read)
        report = SweepReport(looked_at=len(quiet) + len(failing))
        found: dict[str, StuckReport] = {}
        grace = timedelta(seconds=settings.stuck_grace_seconds)
        for number, updated_at in quiet:
            activity.heartbeat(number)
            handle = self._client.get_workflow_handle(order_workflow_id(number))
            try:
                diagnosis = await handle.query("diagnosis", result_type=OrderDiagnosis)
            except RPCError as error:
                found[number] = StuckReport(
                    reason="not_answering", detail=f"its workflow does not answer: {error.status.name}"
                )
                continue
            except Exception as error:  # noqa: BLE001  (the query failed inside the workflow)
                found[number] = StuckReport(
                    reason="not_answering", detail=f"its workflow does not answer: {type(error).__name__}"
                )
                continue
            stuck = verdict(diagnosis, now - updated_at, now, grace)
            if stuck is not None:
                found[number] = stuck
        for number, detail in failing:
            found.setdefault(
                number, StuckReport(reason="delivery_failing", detail=f"a store message keeps failing: {detail}")
            )
        for number, stuck in found.items():
            try:
                await self._client.get_workflow_handle(order_workflow_id(number)).signal(STUCK_FOUND_SIGNAL, stuck)
                report.stuck.append(number)
            except RPCError:
                report.unreachable.append(number)
        return report
