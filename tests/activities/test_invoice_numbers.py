"""Invoice numbers (models/db/invoices.py through the issuing activity): one gapless sequence across orders, each
invoice issued once per order and key even when the activity is retried or orders issue at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlmodel import Session

from activities.invoices import InvoiceActivities, IssueInvoices
from models.db import invoices
from models.invoice_documents import InvoiceDraft, InvoiceKind, InvoiceLine

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _draft(order_number: str, key: str = "upfront", gross: int = 1200) -> InvoiceDraft:
    line = InvoiceLine(description="TEE", line_id="L1", quantity=1, tax_rate_bp=2000, net=1000, tax=200, gross=gross)
    return InvoiceDraft(order_number=order_number, key=key, kind=InvoiceKind.upfront, currency="GBP", lines=[line])


def test_a_retried_issue_returns_the_same_invoice_and_numbers_follow_on(db):
    issuing = InvoiceActivities(db)
    first = issuing.issue_invoices(IssueInvoices(drafts=[_draft("900001")], issued_at=NOW))
    again = issuing.issue_invoices(IssueInvoices(drafts=[_draft("900001")], issued_at=NOW))  # a retry
    assert again == first and len(first) == 1
    both = issuing.issue_invoices(IssueInvoices(drafts=[_draft("900001", "final", 0), _draft("900002")], issued_at=NOW))
    assert [invoice.number for invoice in both] == [first[0].number + 1, first[0].number + 2]
    with Session(db) as session:
        assert [i.key for i in invoices.for_order(session, "900001")] == ["upfront", "final"]
        assert invoices.get(session, "900002", both[1].number) == both[1]
        assert invoices.get(session, "900001", both[1].number) is None  # another order's invoice


def test_orders_issuing_at_once_get_distinct_gapless_numbers(db):
    issuing = InvoiceActivities(db)
    start = issuing.issue_invoices(IssueInvoices(drafts=[_draft("910000")], issued_at=NOW))[0].number
    orders = [f"91{index:04d}" for index in range(1, 25)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        issued = list(
            pool.map(lambda n: issuing.issue_invoices(IssueInvoices(drafts=[_draft(n)], issued_at=NOW))[0], orders)
        )
    numbers = sorted(invoice.number for invoice in issued)
    assert numbers == list(range(start + 1, start + 1 + len(orders)))
