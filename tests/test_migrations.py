"""Schema migrations: an empty database upgraded to head matches the SQLModel tables, on PostgreSQL and
SQLite; downgrade to base removes everything and upgrade again restores it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, create_engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from models.db import alembic_config, run_migrations

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1/postgres"
STOCK_CHECKS = {"reserved_not_negative", "reserved_within_on_hand"}


def _postgres_admin_url() -> str:
    """The server of BATON_TEST_DATABASE_URL when that is PostgreSQL, else the local one."""
    test_url = os.environ.get("BATON_TEST_DATABASE_URL", "")
    if test_url.startswith("postgresql"):
        return make_url(test_url).set(database="postgres").render_as_string(hide_password=False)
    return DEFAULT_POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    admin_url = _postgres_admin_url()
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    name = f"baton_migr_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {make_url(admin_url)!r}: {str(error).splitlines()[0]}")
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'migrated.db'}"


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def _assert_matches_models(url: str) -> None:
    """The database is at head, has every table, column, type, index, key and CHECK constraint of the models."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert context.get_current_revision() == head
            differences = compare_metadata(context, SQLModel.metadata)
            assert differences == [], f"migrated schema differs from the models: {differences}"
            inspector = inspect(conn)
            assert set(inspector.get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
            # Alembic compares neither primary keys nor CHECK constraints: compare them here.
            for table in SQLModel.metadata.sorted_tables:
                primary_key = inspector.get_pk_constraint(table.name)["constrained_columns"]
                assert primary_key == [c.name for c in table.primary_key.columns], f"primary key of {table.name}"
                checks = {check["name"] for check in inspector.get_check_constraints(table.name)}
                wanted = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
                assert wanted <= checks, f"{table.name} lacks CHECK constraints {wanted - checks}"
            checks = {check["name"] for check in inspector.get_check_constraints("stock_levels")}
            assert STOCK_CHECKS <= checks, f"stock_levels lacks CHECK constraints: {STOCK_CHECKS - checks}"
        # ... and they refuse negative stock.
        for on_hand, reserved in ((5, -1), (2, 3)):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO locations (store_id, name, kind, click_and_collect_enabled, sla_overrides) "
                        "VALUES ('S1', 'Store', 'store', true, '{}')"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO products (sku, style, name, size, colour, price_amount, currency) "
                        "VALUES ('SKU-1', 'TEE', 'Tee', 'M', 'white', 1500, 'GBP')"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO stock_levels (location_id, sku, on_hand, reserved) "
                        "VALUES ('S1', 'SKU-1', :on_hand, :reserved)"
                    ),
                    {"on_hand": on_hand, "reserved": reserved},
                )
    finally:
        engine.dispose()


def _assert_empty(url: str) -> None:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() is None
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def _upgrade_downgrade_upgrade(url: str) -> None:
    run_migrations(url)
    _assert_matches_models(url)
    command.downgrade(alembic_config(url), "base")
    _assert_empty(url)
    run_migrations(url)
    _assert_matches_models(url)
    run_migrations(url)  # already at head: nothing to do
    _assert_matches_models(url)


def test_postgres_upgrade_matches_models(postgres_url: str) -> None:
    _upgrade_downgrade_upgrade(postgres_url)


def test_sqlite_upgrade_matches_models(sqlite_url: str) -> None:
    _upgrade_downgrade_upgrade(sqlite_url)


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have several heads, merge them: {heads}"


def _upgrade_keeps_data(url: str) -> None:
    """0008 on a database in use: seen event ids move out of the view, old Idempotency-Keys belong to holder ''
    and stay unique per holder."""
    run_migrations(url, "0007")
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (order_number, version, status, store_id, channel, web_reference, customer_id, "
                    "customer_name, customer_email, has_alert, created_at, updated_at, view) VALUES "
                    "(:n, 1, 'received', 'S1', 'web', 'W', 'C', 'Ada', 'a@b.c', false, :at, :at, :view)"
                ),
                [
                    {"n": "100001", "at": "2026-11-01 10:00:00+00:00", "view": '{"seen_event_ids": ["e1", "e2"]}'},
                    {"n": "100002", "at": "2026-11-01 10:00:00+00:00", "view": '{"status": "received"}'},
                ],
            )
            conn.execute(
                text(
                    "INSERT INTO order_placements (idempotency_key, request_hash, created_at) "
                    "VALUES ('key-1', 'h', '2026-11-01 10:00:00+00:00')"
                )
            )
        run_migrations(url)
        with engine.begin() as conn:
            seen = dict(conn.execute(text("SELECT order_number, seen_event_ids FROM orders")).all())
            assert {number: json.loads(v) if isinstance(v, str) else v for number, v in seen.items()} == {
                "100001": ["e1", "e2"],
                "100002": [],
            }
            assert conn.execute(text("SELECT holder FROM order_placements")).scalar_one() == ""
            conn.execute(
                text(
                    "INSERT INTO order_placements (holder, idempotency_key, request_hash, created_at) "
                    "VALUES ('webstore', 'key-1', 'h', '2026-11-02 10:00:00+00:00')"
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO order_placements (holder, idempotency_key, request_hash, created_at) "
                    "VALUES ('webstore', 'key-1', 'h', '2026-11-02 10:00:00+00:00')"
                )
            )
        _assert_matches_models(url)
    finally:
        engine.dispose()


def test_postgres_upgrade_keeps_data(postgres_url: str) -> None:
    _upgrade_keeps_data(postgres_url)


def test_sqlite_upgrade_keeps_data(sqlite_url: str) -> None:
    _upgrade_keeps_data(sqlite_url)
