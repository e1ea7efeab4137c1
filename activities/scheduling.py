"""Sourcing a scheduled order on its date (models/scheduling.py): each home delivery Baton sourced at placement is
sourced again against today's stock. Nothing is reserved here: the order's one reservation, all or nothing, follows
in the ordinary way (projection's commit_if_reserved), so a failed day leaves no stray reservation."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from models.db import policies
from models.db import sourcing as sourcing_db
from models.scheduling import SourceOnTheDay
from models.sourcing import SourcingDecision, source


class SchedulingActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def source_on_the_day(self, request: SourceOnTheDay) -> dict[str, SourcingDecision]:
        """Sourcing's decision for each delivery, by delivery id (read only: safe to repeat)."""
        with Session(self._engine) as session:
            policy = policies.get_sourcing_policy(session)
            decisions = {}
            for delivery in request.deliveries:
                candidates = sourcing_db.candidates(session, {line.sku for line in delivery.lines}, request.at)
                decisions[delivery.delivery_id] = source(
                    delivery.lines, candidates, policy, delivery.postcode, request.at
                )
            return decisions
