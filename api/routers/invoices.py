"""Queues and invoices: Head Office's queues (`/settings/queues`, models/queues.py) and an order's invoices, as JSON
and each as an XML extract of models/schemas/invoice.xsd. Invoices are read from SQL, so those of a closed order
stay readable. Head Office and the order's channel read them (a store key, or another channel's, gets 403 / 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from activities.notifications import invoice_schema_text, invoice_xml
from api import orders_service
from api.deps import Caller, HeadOffice, OrderPlacer, SessionDep
from api.params import OrderNumber
from api.problems import NotFound, problem_responses
from models.db import invoices
from models.db.policies import get_queue_settings, put_queue_settings
from models.invoice_documents import Invoice
from models.queues import QueueSettings

router = APIRouter(tags=["invoices"])
InvoiceNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/settings/queues", response_model=QueueSettings, tags=["settings"])
def get_queues(session: SessionDep, _ho: HeadOffice) -> QueueSettings:
    """Queues (stages, milestones, point of no return, invoicing model) and which orders follow which."""
    return get_queue_settings(session)


@router.put("/settings/queues", response_model=QueueSettings, tags=["settings"])
def put_queues(body: QueueSettings, session: SessionDep, _ho: HeadOffice) -> QueueSettings:
    """Replace the queues and their rules (first match wins; no match: no queue). Orders placed from now on lock the
    queue they follow; running orders keep theirs."""
    return put_queue_settings(session, body)


@router.get("/orders/{order_number}/invoices", response_model=list[Invoice], responses=problem_responses(403, 404))
def list_invoices(order_number: OrderNumber, session: SessionDep, caller: OrderPlacer) -> list[Invoice]:
    """The order's invoices, in number order: lines with net, tax and gross; a final one credits the earlier ones."""
    orders_service.order_record(session, order_number, caller)
    return invoices.for_order(session, order_number)


@router.get(
    "/orders/{order_number}/invoices/{number}.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "the invoice document"}, 404: {}},
)
def get_invoice_xml(
    number: InvoiceNumber, order_number: OrderNumber, session: SessionDep, caller: OrderPlacer
) -> Response:
    """One invoice as an XML extract (schema: GET /schemas/invoice.xsd)."""
    orders_service.order_record(session, order_number, caller)
    invoice = invoices.get(session, order_number, number)
    if invoice is None:
        raise NotFound(f"order {order_number} has no invoice {number}", type_="invoice-not-found")
    return Response(content=invoice_xml(invoice), media_type="application/xml")


@router.get("/schemas/invoice.xsd", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
def get_invoice_schema(_caller: Caller) -> Response:
    """The invoice extracts' XSD."""
    return Response(content=invoice_schema_text(), media_type="application/xml")
