"""Which database failures end an activity for good, and which stay retried."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from temporalio.exceptions import ApplicationError

from activities.write_errors import UNCURABLE_WRITE, refused_class, uncurable_writes_are_final


def _engine_with_a_constraint():
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
    return engine


@pytest.mark.parametrize(
    ("statement", "params", "error_class"),
    [
        ("INSERT INTO t (id, n) VALUES (1, NULL)", {}, "IntegrityError"),
        ("INSERT INTO t (id, n) VALUES (1, :n)", {"n": 2**63}, "OverflowError"),
    ],
)
def test_a_value_the_database_refuses_ends_the_activity_for_good(statement, params, error_class) -> None:
    engine = _engine_with_a_constraint()
    with pytest.raises(ApplicationError) as raised, uncurable_writes_are_final("a change"):
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    assert raised.value.type == UNCURABLE_WRITE
    assert raised.value.non_retryable
    assert refused_class(raised.value) == error_class


def test_a_locked_database_stays_retried() -> None:
    locked = OperationalError("INSERT ...", {}, Exception("database is locked"))
    with pytest.raises(OperationalError), uncurable_writes_are_final("a change"):
        raise locked
