"""Issuing an order's invoices (a local activity: Baton's own database). Issuing is idempotent by order and key
(models/db/invoices.py): a retried activity gets the invoices it issued before, with their numbers. Each invoice is
written as an XML extract of models/schemas/invoice.xsd by activities/notifications.py (`invoice_xml`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.write_errors import uncurable_writes_are_final
from models.db import invoices
from models.invoice_documents import Invoice, InvoiceDraft


class IssueInvoices(BaseModel):
    drafts: list[InvoiceDraft]
    issued_at: datetime


class InvoiceActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def issue_invoices(self, batch: IssueInvoices) -> list[Invoice]:
        """Number and keep each draft once; asked again, the same invoices."""
        drafts = batch.drafts
        with uncurable_writes_are_final(f"order {drafts[0].order_number}'s invoices"), Session(self._engine) as session:
            return [invoices.issue(session, draft, batch.issued_at) for draft in drafts]
