"""Store links: record a store going offline or online in SQL, and tell the store's open orders."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from models.db.orders import open_order_numbers
from models.db.store_links import load_link, save_link
from models.order import order_workflow_id
from models.store_link import LinkChange, StoreLink, StoreLinkRecord

# The order workflow's signal (workflows/order_workflow.py); named here so activities never import workflows.
STORE_LINK_CHANGED_SIGNAL = "store_link_changed"


class StoreLinkActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def load_store_link(self, store_id: str) -> StoreLink:
        """The store's last recorded link, for a link workflow that starts afresh (not continued as new)."""
        with Session(self._engine) as session:
            return load_link(session, store_id)

    @activity.defn
    def record_store_link(self, record: StoreLinkRecord) -> None:
        """Write the store's link state and last heartbeat, and the change (once per change id)."""
        with Session(self._engine) as session:
            save_link(session, record)

    @activity.defn
    async def tell_open_orders(self, change: LinkChange) -> int:
        """Signal every open order at the store; each de-duplicates by change id, so a retry is harmless.

        Returns how many orders were told."""
        numbers = await asyncio.to_thread(self._open_orders, change.store_id)
        client = activity.client()
        told = 0
        for number in numbers:
            try:
                await client.get_workflow_handle(order_workflow_id(number)).signal(STORE_LINK_CHANGED_SIGNAL, change)
                told += 1
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:  # an order that closed since the read model saw it
                    raise
            activity.heartbeat(number)
        return told

    def _open_orders(self, store_id: str) -> list[str]:
        with Session(self._engine) as session:
            return open_order_numbers(session, store_id)
