"""Page sessions signed out before they expired (api/pages/session.py). The cookie itself is signed and carries
its session id; only revocations are stored, so a copied cookie stops working at sign-out on every API instance.
Each takes an open Session."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete

from models.db.tables import RevokedUiSessionRow


def is_revoked(session: Session, session_id: str) -> bool:
    return session.get(RevokedUiSessionRow, session_id) is not None


def revoke(session: Session, session_id: str, now: datetime, expires_at: datetime) -> None:
    """Record the session as signed out, and forget revocations of sessions that have expired by now."""
    session.exec(delete(RevokedUiSessionRow).where(col(RevokedUiSessionRow.expires_at) < now))
    if session.get(RevokedUiSessionRow, session_id) is None:
        session.add(RevokedUiSessionRow(session_id=session_id, revoked_at=now, expires_at=expires_at))
    session.commit()
