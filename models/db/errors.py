"""How a failed database call is to be taken: transient (retry it) or a refusal of the data (retrying cannot cure
it). The exception classes are SQLAlchemy's, so they are named here, in the one package that imports it."""

from __future__ import annotations

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, StatementError

# A locked database, a lost or refused connection: the same call may well go through in a moment.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, DisconnectionError)
# The same data fails the same way on every attempt: a value out of range, a broken constraint, a statement the
# database refuses (StatementError is also the base of the transient ones: check those first). ValueError and
# TypeError come from serialising a value (a NUL in a PostgreSQL string, JSON that cannot be encoded), OverflowError
# from binding an integer past 64 bits.
DATA_ERRORS: tuple[type[Exception], ...] = (StatementError, OverflowError, ValueError, TypeError)
