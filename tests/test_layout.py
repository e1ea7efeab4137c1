"""The house layout, checked on the source (DESIGN rule 13): SQL lives in models/db/, the rest of models/ is pure,
and lxml stays in activities/notifications.py. Every production .py file is parsed with `ast`."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"tests", "var", "build", "dist", "node_modules", "__pycache__"}
SQL_PACKAGES = {"sqlalchemy", "sqlmodel"}
# Outside models/db/ (and migrations/) code may hold an engine and open sessions, never build a query.
SQL_NAMES_ALLOWED_OUTSIDE = {"Engine", "Session"}
LXML_HOME = "activities/notifications.py"


def _skipped(folder: str) -> bool:
    return folder in SKIPPED_DIRS or folder.startswith(".") or folder.endswith(".egg-info")


def _production_files() -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder, name)


def _imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None for `import module`, line) of every import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.module, alias.name, node.lineno


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _spelled(module: str, name: str | None) -> str:
    return f"import {module}" if name is None else f"from {module} import {name}"


def _where(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _in(where: str, *folders: str) -> bool:
    return any(where.startswith(f"{folder}/") for folder in folders)


def test_production_files_are_found() -> None:
    found = {_where(path) for path in _production_files()}
    assert {"models/order.py", "models/db/tables.py", "activities/inventory.py", "worker.py"} <= found
    assert not any(_in(where, "tests") for where in found)


def test_models_outside_models_db_import_no_sql_and_no_lxml() -> None:
    offences = [
        f"{where}:{line}: {_spelled(module, name)}"
        for path in _production_files()
        if _in(where := _where(path), "models") and not _in(where, "models/db")
        for module, name, line in _imports(path)
        if _top(module) in SQL_PACKAGES | {"lxml"}
        or module == "models.db"
        or module.startswith("models.db.")
        or (module == "models" and name == "db")
    ]
    assert offences == [], "models/ outside models/db/ must stay pure:\n" + "\n".join(offences)


def test_no_queries_are_built_outside_models_db() -> None:
    offences = [
        f"{where}:{line}: {_spelled(module, name)}"
        for path in _production_files()
        if not _in(where := _where(path), "models/db", "migrations")
        for module, name, line in _imports(path)
        if _top(module) in SQL_PACKAGES and (module not in SQL_PACKAGES or name not in SQL_NAMES_ALLOWED_OUTSIDE)
    ]
    assert offences == [], (
        "build queries in models/db/ (elsewhere only Engine and Session may be imported from sqlalchemy/sqlmodel):\n"
        + "\n".join(offences)
    )


def test_no_table_objects_are_used_outside_models_db() -> None:
    # `SomeRow.__table__.delete()` builds a query without importing one.
    offences = [
        f"{where}:{node.lineno}: .__table__"
        for path in _production_files()
        if not _in(where := _where(path), "models/db", "migrations")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute) and node.attr == "__table__"
    ]
    assert offences == [], "use the table objects in models/db/ only:\n" + "\n".join(offences)


def test_lxml_stays_inside_notifications() -> None:
    offences = [
        f"{where}:{line}: {_spelled(module, name)}"
        for path in _production_files()
        if (where := _where(path)) != LXML_HOME
        for module, name, line in _imports(path)
        if _top(module) == "lxml"
    ]
    assert offences == [], f"lxml is used in {LXML_HOME} only:\n" + "\n".join(offences)
