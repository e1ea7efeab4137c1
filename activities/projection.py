"""The commit of one order change: stock, the read model, outbound events and store messages in one transaction."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from models.catalogue import CommitStock, ResizeReservations
from models.db import stock
from models.db.orders import save_projection
from models.db.policies import policy_for_store
from models.sla import SlaPolicy
from models.transition import Transition


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def commit_transition(self, transition: Transition) -> SlaPolicy:
        """Write one change of an order (a retry changes nothing twice). Returns the store's current SLA policy, so
        a running order picks up changed settings at its next step."""
        order_number = transition.order_number
        with Session(self._engine) as session:
            for targets, location_id in transition.stock.releases:
                stock.resize(
                    session, ResizeReservations(order_number=order_number, targets=targets, location_id=location_id)
                )
            if transition.stock.commit_at is not None:
                stock.commit(session, CommitStock(order_number=order_number, location_id=transition.stock.commit_at))
            save_projection(session, transition.projection)
            return policy_for_store(session, transition.projection.store_id)
