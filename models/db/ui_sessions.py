"""Page sessions signed out before they expired (api/pages/session.py). The cookie itself is signed and carries
its session id; only revocations are stored, so a copied cookie stops working at sign-out on every API instance.
Each takes an open Session; the table is here."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, delete

from models.db.types import utc_column


class RevokedUiSessionRow(SQLModel, table=True):
    """A page session signed out: its cookie is refused until it would have expired anyway (then the row goes)."""

    __tablename__ = "revoked_ui_sessions"

    session_id: str = Field(primary_key=True, max_length=64)
    revoked_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())


def is_revoked(session: Session, session_id: str) -> bool:
    return session.get(RevokedUiSessionRow, session_id) is not None


def revoke(session: Session, session_id: str, now: datetime, expires_at: datetime) -> None:
    """Record the session as signed out, and forget revocations of sessions that have expired by now."""
    session.exec(delete(RevokedUiSessionRow).where(col(RevokedUiSessionRow.expires_at) < now))
    if session.get(RevokedUiSessionRow, session_id) is None:
        session.add(RevokedUiSessionRow(session_id=session_id, revoked_at=now, expires_at=expires_at))
    session.commit()
