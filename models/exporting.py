"""Chained exporters: export-eligibility states, and which exporter runs when (pure rules).

Export-eligibility states are milestones for exports, apart from the order's status (after YesCart's order
export API). Built in:

- INITPAID  payment is confirmed for the order (the initial payment confirmation)
- DELIVERY  a delivery or collection completed (the customer collected, or the dispatch location shipped it: once
            per delivery, when it is shipped, or dispatched in one step). The order's own journey (D1) reaches
            `DELIVERY`; each further delivery reaches it scoped to itself, `DELIVERY@D2`, so an exporter bound to
            DELIVERY runs once per delivery. A state a scoped run sets is scoped the same way.
- CANCELLED the whole order was cancelled
- RETURNED  everything the customer received has come back (returns received at their location). A refund
            alone (goodwill, a price match) is not a return
- PARTIALLY_RETURNED  a return arrived and the customer keeps the rest (the first such; a state is reached once)

An exporter is bound to one state and runs once per order when the order reaches it. When it succeeds it
may set a custom state of its own (`sets_state`, e.g. ERP_COMPLETED) that the next exporter is bound to,
so exporters chain to any length. Cycles are refused when the configuration is read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from models.events import OrderEvent, OrderEventType

INITPAID = "INITPAID"
DELIVERY = "DELIVERY"
CANCELLED = "CANCELLED"
RETURNED = "RETURNED"
PARTIALLY_RETURNED = "PARTIALLY_RETURNED"
BUILT_IN_STATES = frozenset({INITPAID, DELIVERY, CANCELLED, RETURNED, PARTIALLY_RETURNED})

# Exporter kinds, each run by its own activity (workflows/notifications.py holds the registry).
ExporterKind = Literal["webhook", "xml_extract"]


class ExporterRef(BaseModel):
    """What the notifications workflow knows of an exporter: no URL or secret ever enters its history."""

    name: str
    kind: ExporterKind
    on_state: str
    sets_state: str | None = None
    extract_type: str | None = None  # xml_extract: the extract type to create


class ExporterConfig(BaseModel):
    """One exporter as configured in BATON_EXPORTERS."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    kind: ExporterKind
    on_state: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")
    sets_state: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$")
    url: str | None = Field(default=None, description="webhook: where the signed order document is POSTed")
    secret: SecretStr | None = Field(default=None, description="webhook: signs the body (Baton-Signature)")
    extract_type: str | None = Field(default=None, description="xml_extract: the extract type to create")

    @model_validator(mode="after")
    def _kind_has_its_settings(self) -> ExporterConfig:
        if self.kind == "webhook" and not self.url:
            raise ValueError(f"exporter {self.name}: a webhook exporter needs url")
        if self.sets_state in BUILT_IN_STATES:
            raise ValueError(f"exporter {self.name}: sets_state {self.sets_state} is a built-in state")
        return self

    def ref(self) -> ExporterRef:
        return ExporterRef(
            name=self.name,
            kind=self.kind,
            on_state=self.on_state,
            sets_state=self.sets_state,
            extract_type=self.extract_type,
        )


def chain_problem(exporters: list[ExporterConfig]) -> str | None:
    """Why these exporters cannot run together (a duplicate name or a cycle of states), or None."""
    names = [exporter.name for exporter in exporters]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"exporter names must be unique: {', '.join(duplicates)}"
    leads_to: dict[str, set[str]] = {}
    for exporter in exporters:
        if exporter.sets_state:
            leads_to.setdefault(exporter.on_state, set()).add(exporter.sets_state)

    def cycle_from(state: str, path: list[str]) -> list[str] | None:
        if state in path:
            return path[path.index(state) :] + [state]
        for following in sorted(leads_to.get(state, ())):
            found = cycle_from(following, path + [state])
            if found:
                return found
        return None

    for start in sorted(leads_to):
        cycle = cycle_from(start, [])
        if cycle:
            return f"exporters form a cycle of states: {' → '.join(cycle)}"
    return None


class ExportProgress(BaseModel):
    """The export-eligibility states an order has reached so far."""

    reached: list[str] = Field(default_factory=list)
    completed: bool = False


# The order's own journey: its DELIVERY state is unscoped (so orders without further deliveries export as before).
OWN_DELIVERY = "D1"


def scoped(state: str, delivery_id: str | None) -> str:
    """The key a state is reached under: per further delivery (`DELIVERY@D2`), else the state itself."""
    return state if delivery_id in (None, OWN_DELIVERY) else f"{state}@{delivery_id}"


def base_state(key: str) -> str:
    """The state an exporter is bound to, of a key `scoped` made."""
    return key.split("@", 1)[0]


def scope_of(key: str) -> str | None:
    """The further delivery a key is scoped to, or None."""
    return key.split("@", 1)[1] if "@" in key else None


def delivery_of(key: str) -> str | None:
    """The delivery a DELIVERY key is about (the order's own journey when unscoped); None for other states."""
    return scope_of(key) or (OWN_DELIVERY if key == DELIVERY else None)


def reach_states(progress: ExportProgress, event: OrderEvent) -> list[str]:
    """The built-in states this event reaches for the first time, recorded in `progress` (DELIVERY once per
    delivery: see `scoped`)."""
    candidates: list[str] = []
    if event.type is OrderEventType.payment_confirmed:
        candidates.append(INITPAID)
    elif event.type in (OrderEventType.collected, OrderEventType.dispatched, OrderEventType.shipped):
        candidates.append(scoped(DELIVERY, event.delivery_id))
    elif event.type is OrderEventType.cancelled:
        candidates.append(CANCELLED)
    elif event.type is OrderEventType.returned:
        candidates.append(RETURNED)
    elif event.type is OrderEventType.partially_returned:
        candidates.append(PARTIALLY_RETURNED)
    if event.type is OrderEventType.completed:
        progress.completed = True
    return [state for state in candidates if reach(progress, state)]


def reach(progress: ExportProgress, state: str) -> bool:
    """Record `state` as reached; False when it already was (an exporter runs once per state)."""
    if state in progress.reached:
        return False
    progress.reached.append(state)
    return True


def exporters_on(state: str, exporters: list[ExporterRef]) -> list[ExporterRef]:
    """The exporters bound to a state (or to the state a scoped key is of)."""
    return [exporter for exporter in exporters if exporter.on_state == base_state(state)]
