"""B2B accounts (b2b_accounts, each buyer once in b2b_buyers) and the read model's B2B index (order_b2b: each order's
account and references, written with its projection) that `GET /orders` and the dashboard filter by. Each query
takes an open Session; the caller commits (put_account commits itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.b2b import B2BAccount, B2BOrder
from models.db.tables import OrderRecordRow
from models.db.types import utc_column


class B2BAccountRow(SQLModel, table=True):
    __tablename__ = "b2b_accounts"

    account_id: str = Field(primary_key=True, max_length=64)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())


class B2BBuyerRow(SQLModel, table=True):
    """A buyer orders for one account only: its orders are judged by that account's limits."""

    __tablename__ = "b2b_buyers"

    customer_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64, index=True)


class OrderB2BRow(SQLModel, table=True):
    __tablename__ = "order_b2b"

    order_number: str = Field(primary_key=True, max_length=32)
    account_id: str | None = Field(default=None, max_length=64, index=True)
    # Every reference, lower-cased, each between newlines: a LIKE '%\nref\n%' finds one exactly. (Not named
    # `references`: an SQL keyword.)
    search_references: str = Field(default="", sa_column=Column(Text, nullable=False))


def get_account(session: Session, account_id: str) -> B2BAccount | None:
    row = session.get(B2BAccountRow, account_id)
    return B2BAccount.model_validate(row.document) if row is not None else None


def buyers_elsewhere(session: Session, account_id: str, account: B2BAccount) -> dict[str, str]:
    """The account's buyers that already buy for another account, with that account."""
    rows = session.exec(
        select(B2BBuyerRow).where(
            col(B2BBuyerRow.customer_id).in_(account.buyers), col(B2BBuyerRow.account_id) != account_id
        )
    )
    return {row.customer_id: row.account_id for row in rows}


def put_account(session: Session, account_id: str, account: B2BAccount) -> bool:
    """Keep the account as given, its buyers replacing the ones it had (the caller checked `buyers_elsewhere`), and
    commit; False (rolled back) when a concurrent writer gave one of its buyers to another account first."""
    document, now = account.model_dump(mode="json"), datetime.now(UTC)
    row = session.get(B2BAccountRow, account_id) or B2BAccountRow(
        account_id=account_id, document=document, updated_at=now
    )
    row.document, row.updated_at = document, now
    session.add(row)
    session.exec(delete(B2BBuyerRow).where(col(B2BBuyerRow.account_id) == account_id))
    session.add_all(B2BBuyerRow(customer_id=buyer, account_id=account_id) for buyer in account.buyers)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def account_of_buyer(session: Session, customer_id: str) -> tuple[str, B2BAccount] | None:
    """The account the customer buys for, if any."""
    buyer = session.get(B2BBuyerRow, customer_id)
    if buyer is None:
        return None
    account = get_account(session, buyer.account_id)
    return (buyer.account_id, account) if account is not None else None


def write_b2b_index(session: Session, order_number: str, view: dict[str, Any]) -> None:
    """Index the order's account and references from its projected view (only orders that have any)."""
    row = session.get(OrderB2BRow, order_number)
    if view.get("b2b") is None:
        if row is not None:
            session.delete(row)
        return
    b2b = B2BOrder.model_validate(view["b2b"])
    references = "".join(f"\n{reference.lower()}\n" for reference in b2b.references())
    row = row or OrderB2BRow(order_number=order_number)
    row.account_id, row.search_references = b2b.account_id, references
    session.add(row)


def with_reference(reference: str) -> ColumnElement[bool]:
    """Orders one of whose references (customer reference, PO number, third-party invoice) is `reference`."""
    escaped = reference.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = select(OrderB2BRow.order_number).where(
        col(OrderB2BRow.search_references).like(f"%\n{escaped}\n%", escape="\\")
    )
    return col(OrderRecordRow.order_number).in_(found)


def with_account(account_id: str) -> ColumnElement[bool]:
    found = select(OrderB2BRow.order_number).where(col(OrderB2BRow.account_id) == account_id)
    return col(OrderRecordRow.order_number).in_(found)
