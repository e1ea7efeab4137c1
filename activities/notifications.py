"""XML notification extracts, the document: `build_extract` turns an order (`views.ExtractOrder`, what an extract
may say of it) into a document of models/schemas/order-notification.xsd and `validate_extract` checks a document
against that schema; `invoice_xml` writes an invoice as a document of models/schemas/invoice.xsd.

Only fields named here reach a document, so card data (tokens, gateway references, payment methods) can never
leak into one, whatever the order carries. lxml is used here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources

from lxml import etree

from models.extracts import NAMESPACE, SCHEMA_FILE, SCHEMA_VERSION, ExtractInvalid, ExtractType
from models.invoice_documents import Invoice, InvoiceLine
from models.money import Money
from models.return_extracts import ReturnExtract
from models.views import ExtractLine, ExtractOrder

_NS = f"{{{NAMESPACE}}}"


def build_extract(
    extract_id: str,
    extract_type: ExtractType,
    order: ExtractOrder,
    occurred_at: datetime,
    *,
    store_name: str | None = None,
    descriptions: Mapping[str, str] | None = None,
    reason: str | None = None,
    returned: ReturnExtract | None = None,
) -> bytes:
    """The extract document (UTF-8 XML) of `order` as it was when the event occurred (views.for_extract).
    `descriptions` maps SKUs to product names (else the style is used)."""
    root = etree.Element(_NS + "OrderNotification", nsmap={None: NAMESPACE})
    root.set("schemaVersion", SCHEMA_VERSION)
    _text(root, "ExtractId", extract_id)
    _text(root, "Type", extract_type.value)
    _text(root, "OccurredAt", utc_timestamp(occurred_at))
    reason = reason or (order.cancelled_by if extract_type is ExtractType.cancelled else None)
    if reason:
        _text(root, "Reason", reason)
    refund = order.last_refund
    if extract_type is ExtractType.refunded and refund is None:
        raise ValueError(f"order {order.order_number} has no refund to announce")
    # A return's refund is announced when the order shows it paid (an unanswered gateway call is not announced).
    if refund is not None and extract_type in (ExtractType.refunded, ExtractType.return_refunded):
        element = _child(root, "Refund")
        _amount(element, "Amount", refund.amount)
        _text(element, "RefundedAt", utc_timestamp(refund.at))
        _text(element, "How", refund.how)
        if refund.how == "instructed" and refund.payment_reference:
            _text(element, "PaymentReference", refund.payment_reference)
    if returned is not None:
        _return(_child(root, "Return"), returned)
    _order(_child(root, "Order"), order, store_name, descriptions or {})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate_extract(payload: bytes) -> None:
    """Raise ExtractInvalid unless `payload` is a well-formed document of the extract schema."""
    _validate(payload, _schema(), f"extract does not match {SCHEMA_FILE}")


def _validate(payload: bytes, schema: etree.XMLSchema, mismatch: str) -> None:
    """Parse without entities or network, then check against `schema`; ExtractInvalid saying the first problems."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        document = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as error:
        raise ExtractInvalid(f"not well-formed XML: {error}") from None
    if not schema.validate(document):
        errors = list(schema.error_log)
        problems = "; ".join(f"line {e.line}: {e.message}" for e in errors[:5])
        if len(errors) > 5:
            problems += f"; and {len(errors) - 5} more"
        raise ExtractInvalid(f"{mismatch}: {problems}")


def utc_timestamp(moment: datetime) -> str:
    """xs:dateTime in UTC with a "Z"; a naive datetime is refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def schema_text() -> bytes:
    """The XSD itself, as shipped in the package."""
    return resources.files("models").joinpath("schemas", SCHEMA_FILE).read_bytes()


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(schema_text()))


# ---- the order ---------------------------------------------------------------------------------


def _order(
    element: etree._Element, order: ExtractOrder, store_name: str | None, descriptions: Mapping[str, str]
) -> None:
    _text(element, "OrderNumber", order.order_number)
    _text(element, "WebReference", order.web_reference)
    _text(element, "Channel", order.channel.value)
    _text(element, "Status", order.status.value)
    _text(element, "CreatedAt", utc_timestamp(order.created_at))

    customer = _child(element, "Customer")
    _text(customer, "CustomerId", order.customer.id)
    _text(customer, "Name", order.customer.name)
    _text(customer, "Email", order.customer.email)
    if order.customer.phone:
        _text(customer, "Phone", order.customer.phone)

    store = _child(element, "Store")
    _text(store, "StoreId", order.store_id)
    if store_name:
        _text(store, "Name", store_name)

    fulfilment = _child(element, "Fulfilment")
    _text(fulfilment, "Method", order.fulfilment_method)
    if order.delivery_address is not None:
        address, to = order.delivery_address, _child(fulfilment, "DeliveryAddress")
        for name, value in (("Name", address.name), ("Line1", address.line1), ("Line2", address.line2)):
            if value:
                _text(to, name, value)
        for name, value in (("City", address.city), ("Postcode", address.postcode), ("Country", address.country)):
            _text(to, name, value)
    if order.dispatch_location:
        _text(fulfilment, "DispatchLocationId", order.dispatch_location)
    if order.dispatched_at:
        _text(fulfilment, "DispatchedAt", utc_timestamp(order.dispatched_at))
    if order.collection_code:
        _text(fulfilment, "CollectionCode", order.collection_code)
    if order.carrier:
        _text(fulfilment, "Carrier", order.carrier)
    if order.tracking_number:
        _text(fulfilment, "TrackingNumber", order.tracking_number)

    lines = _child(element, "Lines")
    for line in order.lines:
        _line(_child(lines, "Line"), line, descriptions)

    totals = _child(element, "Totals")
    _amount(totals, "OrderTotal", order.total)
    _amount(totals, "Discount", order.discount)
    _amount(totals, "Paid", order.paid)
    _amount(totals, "Refunded", order.refunded)

    notes = _child(element, "Notes")
    for note in order.notes:  # client-facing ones only (views.for_extract)
        written = _child(notes, "Note")
        _text(written, "At", utc_timestamp(note.at))
        _text(written, "Text", note.text)


def _line(element: etree._Element, line: ExtractLine, descriptions: Mapping[str, str]) -> None:
    _text(element, "LineId", line.line_id)
    _text(element, "Sku", line.sku)
    _text(element, "Description", descriptions.get(line.sku) or line.style)
    _text(element, "Size", line.size)
    _text(element, "Colour", line.colour)
    _text(element, "Quantity", str(line.quantity))
    _text(element, "CancelledQuantity", str(line.cancelled_quantity))
    _amount(element, "UnitPrice", line.unit_price)
    _amount(element, "LineTotal", line.line_total)
    _text(element, "Fulfilment", line.fulfilment.value)
    _text(element, "Status", line.status)


def _return(element: etree._Element, returned: ReturnExtract) -> None:
    _text(element, "ReturnId", returned.return_id)
    _text(element, "Status", returned.status)
    _text(element, "Method", returned.method)
    _text(element, "LocationId", returned.location_id)
    if returned.carrier:
        _text(element, "Carrier", returned.carrier)
    if returned.tracking_number:
        _text(element, "TrackingNumber", returned.tracking_number)
    lines = _child(element, "Lines")
    for line in returned.lines:
        written = _child(lines, "Line")
        _text(written, "LineId", line.line_id)
        _text(written, "Quantity", str(line.quantity))
        _text(written, "Reason", line.reason)
        if line.accepted is not None:
            _text(written, "Accepted", str(line.accepted))
        if line.written_off is not None:
            _text(written, "WrittenOff", str(line.written_off))


# ---- XML helpers -----------------------------------------------------------------------------


def _child(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _NS + name)


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    element = _child(parent, name)
    element.text = value
    return element


def _amount(parent: etree._Element, name: str, money: Money) -> None:
    element = _text(parent, name, str(money.amount))
    element.set("currency", money.currency)
    element.set("display", str(money.decimal()))


# ---- invoices (models/schemas/invoice.xsd) -------------------------------------------------------------------

INVOICE_NAMESPACE = "urn:baton:invoice:1"
INVOICE_SCHEMA_VERSION = "1.0"
INVOICE_SCHEMA_FILE = "invoice.xsd"
_INVOICE_NS = f"{{{INVOICE_NAMESPACE}}}"


def invoice_xml(invoice: Invoice) -> bytes:
    """The invoice as a document of models/schemas/invoice.xsd (UTF-8 XML), validated before it leaves."""
    root = etree.Element(_INVOICE_NS + "Invoice", nsmap={None: INVOICE_NAMESPACE})
    root.set("schemaVersion", INVOICE_SCHEMA_VERSION)
    _invoice_text(root, "Number", str(invoice.number))
    _invoice_text(root, "OrderNumber", invoice.order_number)
    _invoice_text(root, "Kind", invoice.kind.value)
    if invoice.stage:
        _invoice_text(root, "Stage", invoice.stage)
    _invoice_text(root, "IssuedAt", utc_timestamp(invoice.issued_at))
    _invoice_text(root, "Currency", invoice.currency)
    lines = etree.SubElement(root, _INVOICE_NS + "Lines")
    for line in invoice.lines:
        _invoice_line(etree.SubElement(lines, _INVOICE_NS + "Line"), line, invoice.currency)
    totals = etree.SubElement(root, _INVOICE_NS + "Totals")
    _invoice_amounts(totals, invoice.net, invoice.tax, invoice.gross, invoice.currency)
    payload = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_invoice_xml(payload)
    return payload


def validate_invoice_xml(payload: bytes) -> None:
    """Raise ExtractInvalid unless `payload` is a well-formed document of the invoice schema."""
    _validate(payload, _invoice_schema(), f"invoice does not match {INVOICE_SCHEMA_FILE}")


def invoice_schema_text() -> bytes:
    return resources.files("models").joinpath("schemas", INVOICE_SCHEMA_FILE).read_bytes()


@lru_cache(maxsize=1)
def _invoice_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(invoice_schema_text()))


def _invoice_line(element: etree._Element, line: InvoiceLine, currency: str) -> None:
    _invoice_text(element, "Description", line.description)
    if line.line_id:
        _invoice_text(element, "LineId", line.line_id)
    _invoice_text(element, "Quantity", str(line.quantity))
    _invoice_text(element, "TaxRateBp", str(line.tax_rate_bp))
    _invoice_amounts(element, line.net, line.tax, line.gross, currency)
    if line.credits_invoice is not None:
        _invoice_text(element, "Credits", str(line.credits_invoice))


def _invoice_amounts(element: etree._Element, net: int, tax: int, gross: int, currency: str) -> None:
    for name, amount in (("Net", net), ("Tax", tax), ("Gross", gross)):
        child = _invoice_text(element, name, str(amount))
        sign = "-" if amount < 0 else ""
        child.set("display", sign + str(Money(amount=abs(amount), currency=currency)).split(" ")[0])


def _invoice_text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, _INVOICE_NS + name)
    child.text = value
    return child
