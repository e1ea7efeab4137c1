"""The outbox relay: one activity call delivers what is pending on one lane, in order and in batches, and then
watches the lane's table for a while before it returns, so a lane costs a few history events a minute however
much it delivers (workflows/outbox.py loops over it).

A delivery that fails transiently stops the lane (its order matters). If the relay moved nothing before that, it
raises, so Temporal retries it with backoff and the UI shows the pending activity with its last failure; otherwise
it returns, and the next relay tries the head again. The lanes themselves are in the modules of the systems they
deliver to: activities/outbound.py (subscribers, exporters), activities/stores.py, activities/extracts.py and
activities/mail.py.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.availability import AvailabilityLane
from activities.delivery import Lane
from activities.extracts import ExtractLane
from activities.mail import MailLane
from activities.outbound import ExporterLane, SubscriberLane
from activities.stores import StoreLane
from models.outbox import LaneKind, LaneRetry, RelayReport, parse_lane
from models.settings import Settings

# A relay stays well inside its start-to-close timeout (workflows/outbox.py), however much is waiting.
BUSY_LIMIT_SECONDS = 240.0


class OutboxActivities:
    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings) -> None:
        self._engine = engine
        self._http = http
        self._settings = settings

    @activity.defn
    async def relay(self, lane: str) -> RelayReport:
        """Deliver what is pending on the lane, in order and in batches; watch for more (heartbeating) until the
        lane has been idle for a while; report what moved. Raises when the head delivery fails before anything
        moved, so Temporal backs off."""
        worker = self._lane(lane)
        settings = self._settings
        report = RelayReport(
            lane=lane,
            retry=LaneRetry(
                initial_seconds=settings.outbound_retry_initial_seconds,
                max_interval_seconds=settings.outbound_retry_max_interval_seconds,
            ),
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            step = await worker.step(started + BUSY_LIMIT_SECONDS)
            report.delivered += step.delivered
            report.given_up += step.given_up
            report.skipped += step.skipped
            activity.heartbeat(report.moved)
            if step.retired:
                report.retired = True
                return report
            if step.failing is not None:
                if report.moved == 0:
                    raise ApplicationError(f"{lane}: {step.failing}", type="delivery_failing")
                report.blocked = step.failing
                return report
            elapsed = loop.time() - started
            if elapsed >= BUSY_LIMIT_SECONDS or (not step.more and elapsed >= settings.outbox_idle_seconds):
                return report
            if not step.more:
                await asyncio.sleep(settings.outbox_poll_seconds)

    def _lane(self, lane: str) -> Lane:
        try:
            kind, key = parse_lane(lane)
        except ValueError as error:
            raise ApplicationError(str(error), type="unknown_lane", non_retryable=True) from None
        engine, http, settings = self._engine, self._http, self._settings
        if kind is LaneKind.subscriber:
            return SubscriberLane(engine, http, settings, key)
        if kind is LaneKind.store:
            return StoreLane(engine, http, settings, key)
        if kind is LaneKind.exporter:
            return ExporterLane(engine, http, settings, key)
        if kind is LaneKind.availability:
            return AvailabilityLane(engine, http, settings, key)
        if kind is LaneKind.mail:
            return MailLane(engine, settings)
        return ExtractLane(engine, http, settings)
