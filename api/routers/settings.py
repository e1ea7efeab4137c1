"""Global settings: SLA durations, the payment policy (authorisations, declines, approvals), and sourcing."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import HeadOffice, SessionDep
from models.charges import ChargePolicy
from models.custom_fields import CustomFieldSettings
from models.db import custom_fields, policies
from models.order_catalogues import OrderCatalogues
from models.payment_policy import PaymentPolicy
from models.sla import SlaPolicy
from models.sourcing import SourcingPolicy
from models.tax import TaxPolicy

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("/sla", response_model=SlaPolicy)
def get_sla(session: SessionDep, _ho: HeadOffice) -> SlaPolicy:
    """Global SLA durations (ISO 8601); stores may override each. Head Office only."""
    return policies.get_sla_policy(session)


@router.put("/sla", response_model=SlaPolicy)
def put_sla(policy: SlaPolicy, session: SessionDep, _ho: HeadOffice) -> SlaPolicy:
    """Replace the global SLA durations; durations are ISO 8601 (PT30M) or seconds. Running orders
    use them from their next step."""
    return policies.put_sla_policy(session, policy)


@router.get("/payments", response_model=PaymentPolicy)
def get_payments(session: SessionDep, _ho: HeadOffice) -> PaymentPolicy:
    """How payments settle and which orders need approval; blocked customers. Head Office only."""
    return policies.get_payment_policy(session)


@router.put("/payments", response_model=PaymentPolicy)
def put_payments(policy: PaymentPolicy, session: SessionDep, _ho: HeadOffice) -> PaymentPolicy:
    """Replace the payment policy. New orders are placed under it; each order keeps the policy it was placed
    under."""
    return policies.put_payment_policy(session, policy)


@router.get("/sourcing", response_model=SourcingPolicy)
def get_sourcing(session: SessionDep, _ho: HeadOffice) -> SourcingPolicy:
    """How home deliveries that name no location are sourced: strategy, safety stock, disabled locations,
    distances. Head Office only."""
    return policies.get_sourcing_policy(session)


@router.put("/sourcing", response_model=SourcingPolicy)
def put_sourcing(policy: SourcingPolicy, session: SessionDep, _ho: HeadOffice) -> SourcingPolicy:
    """Replace the sourcing settings; orders placed from now on are sourced under them."""
    return policies.put_sourcing_policy(session, policy)


@router.get("/tax", response_model=TaxPolicy)
def get_tax(session: SessionDep, _ho: HeadOffice) -> TaxPolicy:
    """Tax rates per product tax class and destination country, and where collections are taxed. Head Office only."""
    return policies.get_tax_policy(session)


@router.put("/tax", response_model=TaxPolicy)
def put_tax(policy: TaxPolicy, session: SessionDep, _ho: HeadOffice) -> TaxPolicy:
    """Replace the tax rates. Orders placed from now on lock their lines' rates under them; placed orders, their
    invoices and refunds keep the rates they were placed at."""
    return policies.put_tax_policy(session, policy)


@router.get("/custom-fields", response_model=CustomFieldSettings)
def get_custom_fields(session: SessionDep, _ho: HeadOffice) -> CustomFieldSettings:
    """The custom fields orders and lines carry: name, label, type, required, allowed values. Head Office only."""
    return custom_fields.get_custom_fields(session)


@router.put("/custom-fields", response_model=CustomFieldSettings)
def put_custom_fields(definitions: CustomFieldSettings, session: SessionDep, _ho: HeadOffice) -> CustomFieldSettings:
    """Replace the custom field definitions. Orders placed from now on are checked against them; placed orders keep
    their values, and Head Office's edits are checked against the definitions of the day."""
    return custom_fields.put_custom_fields(session, definitions)


@router.get("/charges", response_model=ChargePolicy)
def get_charges(session: SessionDep, _ho: HeadOffice) -> ChargePolicy:
    """Fees added to orders at placement: per supply method, and by distance band for home deliveries. Head Office
    only."""
    return policies.get_charge_policy(session)


@router.put("/charges", response_model=ChargePolicy)
def put_charges(policy: ChargePolicy, session: SessionDep, _ho: HeadOffice) -> ChargePolicy:
    """Replace the charge rules. Orders placed from now on are charged under them; placed orders keep theirs."""
    return policies.put_charge_policy(session, policy)


@router.get("/catalogues", response_model=OrderCatalogues)
def get_catalogues(session: SessionDep, _ho: HeadOffice) -> OrderCatalogues:
    """Order catalogues: what may be ordered, when, how and from where. None (the default): everything. Head Office
    only."""
    return policies.get_order_catalogues(session)


@router.put("/catalogues", response_model=OrderCatalogues)
def put_catalogues(catalogues: OrderCatalogues, session: SessionDep, _ho: HeadOffice) -> OrderCatalogues:
    """Replace the order catalogues. Placement (and estimates) judge each line against them from now on: a product
    outside every catalogue that applies to its supply method and location, or outside its window, is refused (422
    naming `lines[i].sku`). An empty list makes everything orderable again."""
    return policies.put_order_catalogues(session, catalogues)
