"""Read-model projection: write the order's view to SQL after each change."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from models.db.orders import save_projection
from models.db.policies import policy_for_store
from models.order import OrderState
from models.sla import SlaPolicy


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def project_order(self, state: OrderState) -> SlaPolicy:
        """Save the order's view (older versions never overwrite newer ones).

        Returns the store's current SLA policy, so a running order picks up changed settings at its
        next step without spending a separate action on reading them.
        """
        with Session(self._engine) as session:
            save_projection(session, state)
            return policy_for_store(session, state.store_id)
