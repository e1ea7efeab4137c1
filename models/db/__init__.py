"""Baton's one impure corner of models/: every SQL table (tables.py), the UTC column type (types.py), every
query (one module per subject, each function taking an open Session) and the demo data (demo.py).

Nothing here crosses Temporal or leaves the API: the query modules hand back the pydantic types of models/ (or
rows, for the API's own views)."""

from models.db.engine import (
    alembic_config,
    analyze,
    commit_unless_taken,
    create_tables,
    make_engine,
    ping,
    run_migrations,
)

__all__ = [
    "alembic_config",
    "analyze",
    "commit_unless_taken",
    "create_tables",
    "make_engine",
    "ping",
    "run_migrations",
]
