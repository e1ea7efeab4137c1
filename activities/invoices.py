"""Issuing an order's invoices (a local activity: Baton's own database) and writing each as an XML extract of
models/schemas/invoice.xsd. Issuing is idempotent by order and key (models/db/invoices.py): a retried activity gets
the invoices it issued before, with their numbers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources

from lxml import etree
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.notifications import utc_timestamp
from activities.write_errors import uncurable_writes_are_final
from models.db import invoices
from models.extracts import ExtractInvalid
from models.invoice_documents import Invoice, InvoiceDraft, InvoiceLine
from models.money import Money

INVOICE_NAMESPACE = "urn:baton:invoice:1"
INVOICE_SCHEMA_VERSION = "1.0"
INVOICE_SCHEMA_FILE = "invoice.xsd"
_NS = f"{{{INVOICE_NAMESPACE}}}"


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


def invoice_xml(invoice: Invoice) -> bytes:
    """The invoice as a document of models/schemas/invoice.xsd (UTF-8 XML), validated before it leaves."""
    root = etree.Element(_NS + "Invoice", nsmap={None: INVOICE_NAMESPACE})
    root.set("schemaVersion", INVOICE_SCHEMA_VERSION)
    _text(root, "Number", str(invoice.number))
    _text(root, "OrderNumber", invoice.order_number)
    _text(root, "Kind", invoice.kind.value)
    if invoice.stage:
        _text(root, "Stage", invoice.stage)
    _text(root, "IssuedAt", utc_timestamp(invoice.issued_at))
    _text(root, "Currency", invoice.currency)
    lines = etree.SubElement(root, _NS + "Lines")
    for line in invoice.lines:
        _line(etree.SubElement(lines, _NS + "Line"), line, invoice.currency)
    totals = etree.SubElement(root, _NS + "Totals")
    _amounts(totals, invoice.net, invoice.tax, invoice.gross, invoice.currency)
    payload = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_invoice_xml(payload)
    return payload


def validate_invoice_xml(payload: bytes) -> None:
    """Raise ExtractInvalid unless `payload` is a well-formed document of the invoice schema."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        document = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as error:
        raise ExtractInvalid(f"not well-formed XML: {error}") from None
    schema = _schema()
    if not schema.validate(document):
        problems = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
        raise ExtractInvalid(f"invoice does not match {INVOICE_SCHEMA_FILE}: {problems}")


def invoice_schema_text() -> bytes:
    return resources.files("models").joinpath("schemas", INVOICE_SCHEMA_FILE).read_bytes()


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(invoice_schema_text()))


def _line(element: etree._Element, line: InvoiceLine, currency: str) -> None:
    _text(element, "Description", line.description)
    if line.line_id:
        _text(element, "LineId", line.line_id)
    _text(element, "Quantity", str(line.quantity))
    _text(element, "TaxRateBp", str(line.tax_rate_bp))
    _amounts(element, line.net, line.tax, line.gross, currency)
    if line.credits_invoice is not None:
        _text(element, "Credits", str(line.credits_invoice))


def _amounts(element: etree._Element, net: int, tax: int, gross: int, currency: str) -> None:
    for name, amount in (("Net", net), ("Tax", tax), ("Gross", gross)):
        child = _text(element, name, str(amount))
        sign = "-" if amount < 0 else ""
        child.set("display", sign + str(Money(amount=abs(amount), currency=currency)).split(" ")[0])


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, _NS + name)
    child.text = value
    return child
