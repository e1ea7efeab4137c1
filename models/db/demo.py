"""Demo data for the dev stack and the tests: stores, a warehouse, 20 variants, stock everywhere; and, for the dev
stack only, two staff accounts whose passwords are written here (dev only: never on a real database)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlmodel import Session, select

from models.catalogue import LocationKind
from models.db.staff import StaffUserRow, create_staff_user
from models.db.tables import LocationRow, ProductRow, StockLevelRow
from models.staff import StaffRole, StaffUser

DEMO_STORES = [
    ("S001", "London Oxford Street", LocationKind.store, True),
    ("S002", "Manchester Arndale", LocationKind.store, True),
    ("S003", "Leeds Trinity", LocationKind.store, True),
    ("S004", "Bristol Cabot Circus (refit, no click & collect)", LocationKind.store, False),
    ("W001", "Northampton Distribution Centre", LocationKind.warehouse, False),
]

# style, name, price in pence, sizes, colours: 4 styles x variants = 20 SKUs.
DEMO_STYLES = [
    ("TEE", "Organic cotton tee", 1500, ["S", "M", "L"], ["white", "black"]),
    ("JEAN", "Slim fit jeans", 4500, ["30", "32", "34"], ["indigo"]),
    ("JKT", "Waxed jacket", 12000, ["M", "L"], ["olive", "navy"]),
    ("SNK", "Canvas sneaker", 5500, ["40", "41", "42", "43", "44"], ["white", "red"]),
]
STORE_STOCK = 10
WAREHOUSE_STOCK = 200


def demo_skus() -> list[tuple[str, str, str, str, int, str]]:
    """(sku, style, name, size, price, colour) for every demo variant."""
    return [
        (f"{style}-{colour[:3].upper()}-{size}", style, name, size, price, colour)
        for style, name, price, sizes, colours in DEMO_STYLES
        for colour in colours
        for size in sizes
    ]


def seed_demo(session: Session, webhook_secrets: dict[str, str] | None = None) -> bool:
    """Insert the demo data unless stores already exist; True when it seeded."""
    if session.exec(select(LocationRow)).first() is not None:
        return False
    webhook_secrets = webhook_secrets or {}
    for store_id, name, kind, click_and_collect in DEMO_STORES:
        session.add(
            LocationRow(
                store_id=store_id,
                name=name,
                kind=kind.value,
                click_and_collect_enabled=click_and_collect,
                webhook_secret=webhook_secrets.get(store_id) or secrets.token_hex(24),
            )
        )
    for sku, style, name, size, price, colour in demo_skus():
        session.add(
            ProductRow(sku=sku, style=style, name=name, size=size, colour=colour, price_amount=price, currency="GBP")
        )
    session.flush()
    for store_id, _name, kind, _cc in DEMO_STORES:
        quantity = WAREHOUSE_STOCK if kind is LocationKind.warehouse else STORE_STOCK
        for sku, *_ in demo_skus():
            session.add(StockLevelRow(location_id=store_id, sku=sku, on_hand=quantity, reserved=0))
    session.commit()
    return True


# (username, name, role, store, password): the README lists them as the dev stack's sign-ins.
DEMO_STAFF = [
    ("dana", "Dana (Head Office, demo)", StaffRole.ho_agent, None, "dana-dev-only-password"),
    ("sam", "Sam (Oxford Street, demo)", StaffRole.store_staff, "S001", "sam-dev-only-password"),
]


def seed_demo_staff(session: Session) -> bool:
    """The dev stack's staff accounts, unless any staff account exists; True when it seeded."""
    if session.exec(select(StaffUserRow)).first() is not None:
        return False
    for username, name, role, store_id, password in DEMO_STAFF:
        user = StaffUser(username=username, display_name=name, role=role, store_id=store_id)
        create_staff_user(session, user, password, datetime.now(UTC))
    return True
