"""Engines, table creation, migrations and the readiness ping, shared by the API, the worker and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

from models.db import (
    b2b,  # noqa: F401  (B2B accounts and the read model's B2B references)
    balances,  # noqa: F401  (customers' balance ledger)
    closed_orders,  # noqa: F401  (closed orders' final state, for late refunds)
    custom_fields,  # noqa: F401  (the read model's custom field values)
    estimates,  # noqa: F401  (estimates kept for placement by their id)
    insight,  # noqa: F401  (the read model's analytics and customer tables)
    invoices,  # noqa: F401  (invoices, numbered once per order and key)
    mail,  # noqa: F401  (the mail lane's tables)
    merchants,  # noqa: F401  (merchants, marketplace orders and the merchant ledger)
    quotes,  # noqa: F401  (requests for quote)
    requests,  # noqa: F401  (customer requests as the API lists them)
    returns,  # noqa: F401  (returns as the API lists them)
    staff,  # noqa: F401  (staff accounts)
    stock_ledger,  # noqa: F401  (the stock ledger and feed messages)
    tables,  # noqa: F401  (registers the tables on SQLModel.metadata)
    ui_sessions,  # noqa: F401  (revoked page sessions)
)
from models.settings import ROOT


def commit_unless_taken(session: Session, row: SQLModel) -> bool:
    """Insert `row`; False (rolled back) when a concurrent writer took its key first. The one way Baton writes a
    row keyed by an idempotency key, so retried or duplicated work settles on whichever copy committed."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def dialect_insert(session: Session) -> Any:
    """The INSERT of the session's database, for its ON CONFLICT clauses (PostgreSQL's, or SQLite's)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns (an order's view, outbox bodies) are read and written on every request and commit: orjson does it
# several times faster than the standard library.
_JSON: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so the API and worker can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **_JSON)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database and survives a crashed process; only a power cut can
            # lose the last commits. Syncing every commit (FULL) doubled the embedded stack's cost per order.
            # Production runs on PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **_JSON)


def create_tables(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


def ping(engine: Engine) -> None:
    """`SELECT 1` on a connection of the pool: raises unless the database answers (GET /health/ready)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def analyze(session: Session) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (bench/); other databases need nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("ANALYZE"))
        session.commit()


def alembic_config(url: str) -> AlembicConfig:
    """The Alembic config of this checkout's migrations/, pointed at `url` (no alembic.ini needed)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates "%"
    return config


def run_migrations(url: str, revision: str = "head") -> None:
    """`alembic upgrade head` (or up to `revision`) against `url`, programmatically. Production runs this
    (`./baton migrate`) instead of creating tables on start."""
    alembic_command.upgrade(alembic_config(url), revision)
