"""Alembic environment for Baton's SQL tables.

The database URL comes from the Alembic config's `sqlalchemy.url` when a caller sets it programmatically
(`models.db.run_migrations(url)`), otherwise from BATON_DATABASE_URL (`models.settings`). A caller may also
hand over an open connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine, make_url, pool
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from models.db import (
    custom_fields,  # noqa: F401  (the read model's custom field values)
    invoices,  # noqa: F401  (invoices, numbered once per order and key)
    mail,  # noqa: F401  (the mail lane's tables)
    requests,  # noqa: F401  (customer requests as the API lists them)
    returns,  # noqa: F401  (returns as the API lists them)
    staff,  # noqa: F401  (staff accounts)
    stock_ledger,  # noqa: F401  (the stock ledger and feed messages)
    tables,  # noqa: F401  (registers the tables on SQLModel.metadata)
    ui_sessions,  # noqa: F401  (revoked page sessions)
)
from models.db.types import UtcDateTime
from models.settings import get_settings

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render sqlmodel's AutoString as a plain sa.String and Baton's UtcDateTime as what it stores,
    sa.DateTime(timezone=True), so revisions depend on neither."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length is not None else "sa.String()"
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    url = kwargs.pop("url", None) or kwargs["connection"].engine.url
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        render_as_batch=make_url(url).get_backend_name() == "sqlite",  # SQLite cannot ALTER most things
        **kwargs,
    )


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    url = database_url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
