"""Which failures of a write to Baton's own database retrying cannot cure.

A value the database refuses (an integer past 64 bits, a string PostgreSQL will not store, a broken constraint)
fails the same way on every attempt: retried, it would hold the order's workflow lock forever and every later
action on the order would time out. Such a failure ends the activity at once, as a non-retryable
`ApplicationError` of type `UNCURABLE_WRITE` naming the error's class; the order workflow turns it into an alert
and goes on. A locked database or a dropped connection is transient and stays retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.db.errors import DATA_ERRORS, TRANSIENT_ERRORS

UNCURABLE_WRITE = "uncurable_write"


@contextmanager
def uncurable_writes_are_final(what: str) -> Iterator[None]:
    """Run a database write; a data error ends the activity for good, anything else is raised as it is."""
    try:
        yield
    except TRANSIENT_ERRORS:
        raise
    except DATA_ERRORS as error:
        kind = type(error).__name__
        # The full error may quote the refused values (customer data): it goes to the worker's log, not the order.
        if activity.in_activity():
            activity.logger.error("%s refused by the database: %s", what, error)
        raise ApplicationError(
            f"{what} refused by the database: {kind}", kind, type=UNCURABLE_WRITE, non_retryable=True
        ) from None


def refused_class(error: ApplicationError) -> str:
    """The class of the database error behind an `UNCURABLE_WRITE` failure."""
    details = list(error.details)
    return str(details[0]) if details else "unknown"
