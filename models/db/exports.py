"""Chained exporters in SQL: the export-eligibility states each order has reached (`order_export_states`) and the
exporter runs queued for them (`order_exports`, also the export audit). The commit activity reaches states and
queues runs with the change (no commit here); an exporter's lane runs them in queue order and, when one that sets
a state succeeds, reaches that state and queues the next exporters in the same transaction. Each takes an open
Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models.db.engine import dialect_insert
from models.db.tables import OrderExportRow, OrderExportStateRow
from models.exporting import ExporterRef, ExportProgress, exporters_on, scope_of, scoped
from models.outbound import export_run_id

# Recorded beside the states: the order completed, so a later refund is a return (models/exporting.py). Never a
# state name: those are upper case.
COMPLETED_MARK = "(completed)"
ACTIVE = ("queued", "running")


def export_progress(session: Session, order_number: str) -> ExportProgress:
    states = session.exec(select(OrderExportStateRow.state).where(OrderExportStateRow.order_number == order_number))
    reached = set(states)
    return ExportProgress(reached=sorted(reached - {COMPLETED_MARK}), completed=COMPLETED_MARK in reached)


def reach(
    session: Session,
    order_number: str,
    state: str,
    occurred_at: datetime,
    snapshot: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Record that the order reached `state` (with the order as it was then); False when it already had."""
    statement = (
        dialect_insert(session)(OrderExportStateRow.__table__)  # type: ignore[attr-defined]
        .values(order_number=order_number, state=state, reached_at=now, occurred_at=occurred_at, snapshot=snapshot)
        .on_conflict_do_nothing(index_elements=["order_number", "state"])
    )
    return bool(session.exec(statement).rowcount)


def queue_runs(
    session: Session, order_number: str, state: str, exporters: list[ExporterRef], now: datetime
) -> list[str]:
    """Queue a run of each exporter bound to `state` (a key, maybe scoped to a delivery), once per order and key;
    returns the run ids queued."""
    queued = []
    for exporter in exporters_on(state, exporters):
        run_id = export_run_id(order_number, exporter.name, state)
        statement = (
            dialect_insert(session)(OrderExportRow.__table__)  # type: ignore[attr-defined]
            .values(
                run_id=run_id,
                order_number=order_number,
                exporter=exporter.name,
                kind=exporter.kind,
                state=state,
                sets_state=exporter.sets_state,
                outcome="queued",
                attempts=0,
                detail="",
                started_at=now,
                queued_at=now,
            )
            .on_conflict_do_nothing(index_elements=["run_id"])
        )
        if session.exec(statement).rowcount:
            queued.append(run_id)
    return queued


def next_runs(session: Session, exporter: str, limit: int) -> list[OrderExportRow]:
    """The exporter's runs still to finish, in the order they were queued."""
    query = (
        select(OrderExportRow)
        .where(OrderExportRow.exporter == exporter, col(OrderExportRow.outcome).in_(ACTIVE))
        .order_by(func.coalesce(OrderExportRow.queued_at, OrderExportRow.started_at), col(OrderExportRow.run_id))
        .limit(limit)
    )
    return list(session.exec(query))


def export_state(session: Session, order_number: str, state: str) -> OrderExportStateRow | None:
    return session.get(OrderExportStateRow, (order_number, state))


def begin_attempt(session: Session, run_id: str, now: datetime) -> OrderExportRow | None:
    """Count an attempt of a run still to finish; its first one starts it (started_at). Commits; None when the run
    finished meanwhile."""
    row = session.get(OrderExportRow, run_id)
    if row is None or row.outcome not in ACTIVE:
        return None
    if row.outcome == "queued":
        row.outcome, row.started_at = "running", now
    row.attempts += 1
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def note_failed_attempt(session: Session, run_id: str, detail: str) -> None:
    """The attempt failed and will be retried: the audit says why. Commits."""
    session.exec(
        update(OrderExportRow)
        .where(col(OrderExportRow.run_id) == run_id, col(OrderExportRow.outcome).in_(ACTIVE))
        .values(detail=detail[:1000])
    )
    session.commit()


def finish_run(
    session: Session, run_id: str, outcome: str, detail: str, now: datetime, exporters: list[ExporterRef]
) -> list[str]:
    """End a run (succeeded or failed). A succeeded run that sets a state reaches it for the order, with the same
    moment and snapshot as the state it ran for, and queues the exporters bound to it, in the same transaction.
    Commits; returns the run ids queued."""
    row = session.get(OrderExportRow, run_id)
    if row is None or row.outcome not in ACTIVE:
        return []
    row.outcome, row.detail, row.finished_at = outcome, detail[:1000], now
    session.add(row)
    queued: list[str] = []
    if outcome == "succeeded" and row.sets_state:
        source = export_state(session, row.order_number, row.state)
        occurred_at = source.occurred_at if source else now
        snapshot = source.snapshot if source else None
        sets = scoped(row.sets_state, scope_of(row.state))  # a chain run for one delivery stays with it
        if reach(session, row.order_number, sets, occurred_at, snapshot, now):
            queued = queue_runs(session, row.order_number, sets, exporters, now)
    session.commit()
    return queued


def export_states(session: Session, order_number: str) -> list[str]:
    query = select(OrderExportStateRow.state).where(OrderExportStateRow.order_number == order_number)
    return sorted(state for state in session.exec(query) if state != COMPLETED_MARK)
