"""Custom fields in SQL: their definitions (a Head Office settings document, `GET/PUT /settings/custom-fields`) and
the read model's index of every order's values (order_custom_fields), which the dashboard and `GET /orders`
filter by. The index is a child table of one row per value, written with the order's projection, so a filter is
an indexed equality on SQLite and PostgreSQL alike (no JSON operators that differ between them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Index, delete
from sqlmodel import Field, Session, SQLModel, col, select

from models.custom_fields import MAX_TEXT, CustomFieldSettings, as_text, filter_text
from models.db.policies import get_setting, put_setting
from models.db.tables import OrderRecordRow

CUSTOM_FIELDS_SETTING_KEY = "custom_fields"
ORDER = ""  # the line_id of the order's own values


class OrderCustomFieldRow(SQLModel, table=True):
    """One custom field value of an order ("" line_id) or of one of its lines, as text (models/custom_fields.py
    `as_text`)."""

    __tablename__ = "order_custom_fields"
    __table_args__ = (Index("ix_order_custom_fields_name_value", "name", "value"),)

    order_number: str = Field(primary_key=True, foreign_key="orders.order_number", max_length=32)
    line_id: str = Field(primary_key=True, max_length=16)
    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=MAX_TEXT)


def get_custom_fields(session: Session) -> CustomFieldSettings:
    return get_setting(session, CUSTOM_FIELDS_SETTING_KEY, CustomFieldSettings)


def put_custom_fields(session: Session, settings: CustomFieldSettings) -> CustomFieldSettings:
    return put_setting(session, CUSTOM_FIELDS_SETTING_KEY, settings)


def write_custom_field_index(session: Session, order_number: str, view: dict[str, Any]) -> None:
    """Replace the order's indexed values with those of its view (the projection being written). Leaves the commit
    to the caller."""
    session.exec(delete(OrderCustomFieldRow).where(col(OrderCustomFieldRow.order_number) == order_number))
    owners = [(ORDER, view.get("custom_fields") or {})]
    owners += [(line["line_id"], line.get("custom_fields") or {}) for line in view.get("lines", [])]
    for line_id, values in owners:
        for name, value in sorted(values.items()):
            row = OrderCustomFieldRow(order_number=order_number, line_id=line_id, name=name, value=as_text(value))
            session.add(row)


def forget_custom_field_index(session: Session) -> None:
    """Empty the index (scratch databases: models/db/orders.py `forget_all_orders`)."""
    session.exec(delete(OrderCustomFieldRow))


def parse_filter(text: str) -> tuple[str, str] | None:
    """`name:value` (the dashboard's and `GET /orders`' `field`), or None when it is not one."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    return (name, value) if colon and name and value else None


def filter_value(session: Session, name: str, value: str) -> str:
    """A filter's typed value as the field's definition reads it (3.0 finds 3, yes finds true): what
    `with_custom_field` compares."""
    return filter_text(get_custom_fields(session).named(name), value)


def with_custom_field(name: str, value: str) -> ColumnElement[bool]:
    """Orders whose own field `name`, or one of whose lines' field `name`, has `value` (as `as_text` writes it)."""
    having = select(OrderCustomFieldRow.order_number).where(
        OrderCustomFieldRow.name == name, OrderCustomFieldRow.value == value
    )
    return col(OrderRecordRow.order_number).in_(having)
