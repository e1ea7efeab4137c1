"""Placement rules for how lines reach the customer: what each fulfilment needs for its method, how many
deliveries an order may have, and whether the locations the lines name may take them. Pure: the caller looks the
locations and their links up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from models.catalogue import LocationKind, Store
from models.deliveries import DeliveryMethod, LineGroup, group_lines, own_group_first
from models.placing import Channel, PlaceOrder
from models.store_link import LinkState, click_and_collect_refusal

Location = tuple[Store | None, tuple[LinkState, datetime | None]]  # a location (None: unknown) and its link


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def fulfilment_problems(order: PlaceOrder) -> list[FieldProblem]:
    """What each fulfilment lacks for its method; an order has at most one collection store."""
    problems: list[FieldProblem] = []
    given = [("fulfilment", order.fulfilment)]
    given += [(f"lines[{i}].fulfilment", line.fulfilment) for i, line in enumerate(order.lines) if line.fulfilment]
    for path, fulfilment in given:
        home = fulfilment.method == DeliveryMethod.home_delivery
        if not home and fulfilment.store_id is None:
            problems.append(FieldProblem(f"{path}.store_id", f"{fulfilment.method} needs the store"))
        if home and fulfilment.address is None:
            problems.append(FieldProblem(f"{path}.address", "home_delivery needs the delivery address"))
        if home and fulfilment.store_id is not None:
            problems.append(FieldProblem(f"{path}.store_id", "home_delivery names its location_id, not a store_id"))
        if not home and (fulfilment.address is not None or fulfilment.location_id is not None):
            problems.append(
                FieldProblem(path, f"address and location_id are for home_delivery, not {fulfilment.method}")
            )
        if fulfilment.method == DeliveryMethod.direct_sale and order.channel not in (Channel.store, Channel.phone):
            problems.append(FieldProblem(f"{path}.method", "a direct sale is for the store and phone channels"))
    groups = group_lines(order)
    at_till = any(g.method is DeliveryMethod.direct_sale for g in groups)
    for field, waits in (("release_at", order.release_at), ("backorder_for", order.backorder_for)):
        if at_till and waits is not None:
            problems.append(FieldProblem(field, "a direct sale is handed over at once: it cannot wait for stock"))
    own = own_group_first(groups)[0][1]
    for index, line in enumerate(order.lines):
        if line.release_at is None:
            continue
        field = f"lines[{index}].release_at"
        if line.fulfilled_by(order.fulfilment).method != DeliveryMethod.home_delivery:
            problems.append(FieldProblem(field, "only a home delivery's lines are preordered on their own"))
        elif index in own.line_indexes:
            problems.append(FieldProblem(field, "the order's own delivery waits with the order: give its release_at"))
    collections = [g for g in groups if g.method is DeliveryMethod.click_and_collect]
    if not problems and len(groups) > 1 and any(g.method is DeliveryMethod.direct_sale for g in groups):
        problems.append(FieldProblem("lines", "a direct sale is the whole order: every line handed over at the till"))
    if not problems and len(collections) > 1:
        stores = ", ".join(str(g.location_id) for g in collections)
        problems.append(FieldProblem("lines", f"an order is collected at one store, not {len(collections)} ({stores})"))
    return problems


def group_path(order: PlaceOrder, group: LineGroup) -> str:
    """Where a group's fulfilment was given: its first line's own fulfilment, else the order's."""
    first = group.line_indexes[0]
    return f"lines[{first}].fulfilment" if order.lines[first].fulfilment else "fulfilment"


def location_problems(order: PlaceOrder, locations: Mapping[str, Location]) -> list[FieldProblem]:
    """Whether each location the lines name may take them: a known store enabled for click & collect, or a known
    location that ships; not offline. Locations left to sourcing are chosen among enabled, online ones."""
    problems: list[FieldProblem] = []
    for group in group_lines(order):
        if group.location_id is None:
            continue
        store, link = locations.get(group.location_id, (None, (LinkState.unmonitored, None)))
        problems.extend(_problems(group, group_path(order, group), store, link))
    return problems


def _problems(
    group: LineGroup, path: str, store: Store | None, link: tuple[LinkState, datetime | None]
) -> list[FieldProblem]:
    if group.method is DeliveryMethod.home_delivery:
        field = f"{path}.location_id"
        if store is None:
            return [FieldProblem(field, f"unknown location {group.location_id!r}")]
        if offline := click_and_collect_refusal(store.store_id, *link):
            return [FieldProblem(field, offline.replace("click & collect", "shipping"))]
        return []
    field = f"{path}.store_id"
    if store is None or store.kind != LocationKind.store:
        return [FieldProblem(field, f"unknown store {group.location_id!r}")]
    if group.method is DeliveryMethod.direct_sale:
        return []  # sold at its till: the store is there, whatever its link says
    if not store.click_and_collect_enabled:
        return [FieldProblem(field, f"store {store.store_id} is not enabled for click & collect")]
    if offline := click_and_collect_refusal(store.store_id, *link):
        return [FieldProblem(field, offline)]
    return []
