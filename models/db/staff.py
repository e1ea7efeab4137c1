"""Staff accounts (models/staff.py): their table and every query on it. Each function takes an open Session.

The table lives here, not in tables.py, because nothing else joins it; models/db/engine.py and migrations/env.py
import this module so it is registered on SQLModel.metadata with the others."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from models.db.types import utc_column
from models.staff import StaffRole, StaffUser, hash_password, verify_password


class StaffUserRow(SQLModel, table=True):
    """A named person who signs in to the pages with a password."""

    __tablename__ = "staff_users"

    username: str = Field(primary_key=True, max_length=32)
    display_name: str = Field(max_length=120)
    role: str = Field(max_length=16)
    store_id: str | None = Field(default=None, max_length=32)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(sa_column=utc_column())
    password_changed_at: datetime = Field(sa_column=utc_column())


class StaffAccountError(ValueError):
    """A staff account that cannot be created or changed as asked (the message says why)."""


def _user(row: StaffUserRow) -> StaffUser:
    return StaffUser(
        username=row.username,
        display_name=row.display_name,
        role=StaffRole(row.role),
        store_id=row.store_id,
        active=row.active,
    )


def session_stamp(row: StaffUserRow) -> str:
    """A mark of the account's current password: a new password (or disabling) ends every session signed in
    before it, because the session's stamp no longer matches."""
    return hashlib.sha256(f"baton-staff:{row.password_hash}:{row.active}".encode()).hexdigest()[:24]


def create_staff_user(session: Session, user: StaffUser, password: str, now: datetime) -> StaffUser:
    if session.get(StaffUserRow, user.username) is not None:
        raise StaffAccountError(f"user {user.username} already exists")
    row = StaffUserRow(
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        store_id=user.store_id,
        password_hash=hash_password(password),
        active=user.active,
        created_at=now,
        password_changed_at=now,
    )
    session.add(row)
    session.commit()
    return _user(row)


def set_password(session: Session, username: str, password: str, now: datetime) -> None:
    """A new password; every session signed in with the old one ends."""
    row = session.get(StaffUserRow, username)
    if row is None:
        raise StaffAccountError(f"no user {username}")
    row.password_hash, row.password_changed_at = hash_password(password), now
    session.add(row)
    session.commit()


def set_active(session: Session, username: str, active: bool) -> None:
    """Disable (or enable again) an account; disabling ends its sessions."""
    row = session.get(StaffUserRow, username)
    if row is None:
        raise StaffAccountError(f"no user {username}")
    row.active = active
    session.add(row)
    session.commit()


def list_staff_users(session: Session) -> list[StaffUser]:
    return [_user(row) for row in session.exec(select(StaffUserRow).order_by(col(StaffUserRow.username)))]


def authenticate(session: Session, username: str, password: str) -> tuple[StaffUser, str] | None:
    """The active user with this name and password, and their session stamp; None otherwise (after the same work
    for an unknown name as for a wrong password)."""
    row = session.get(StaffUserRow, username.strip().lower()) if username else None
    if not verify_password(password, row.password_hash if row is not None else None) or row is None:
        return None
    return (_user(row), session_stamp(row)) if row.active else None


def signed_in_user(session: Session, username: str, stamp: str) -> StaffUser | None:
    """The user a session names, if the account is still active and its password unchanged since sign-in."""
    row = session.get(StaffUserRow, username)
    if row is None or not row.active or not hmac.compare_digest(session_stamp(row), stamp):
        return None
    return _user(row)
