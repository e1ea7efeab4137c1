"""Head Office settings kept in SQL: the SLA, payment and sourcing policies, and a store's effective SLA policy."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlmodel import Session

from models.charges import ChargePolicy
from models.db.catalogue import get_store
from models.db.tables import SettingRow
from models.order_catalogues import OrderCatalogues
from models.payment_policy import PaymentPolicy
from models.queues import QueueSettings
from models.requests import RequestPolicy
from models.returns import ReturnPolicy
from models.sla import SlaPolicy, effective_policy, stored_durations
from models.sourcing import SourcingPolicy
from models.tax import TaxPolicy

SLA_SETTING_KEY = "sla"
PAYMENT_SETTING_KEY = "payments"
RETURN_SETTING_KEY = "returns"
REQUEST_SETTING_KEY = "requests"
SOURCING_SETTING_KEY = "sourcing"
TAX_SETTING_KEY = "tax"
CHARGE_SETTING_KEY = "charges"
CATALOGUES_SETTING_KEY = "order_catalogues"
QUEUE_SETTING_KEY = "queues"

SettingT = TypeVar("SettingT", bound=BaseModel)


def get_setting(session: Session, key: str, model: type[SettingT]) -> SettingT:
    """A Head Office settings document, or the model's defaults when none was put."""
    row = session.get(SettingRow, key)
    return model.model_validate(row.value) if row else model()


def put_setting(session: Session, key: str, value: SettingT) -> SettingT:
    row = session.get(SettingRow, key) or SettingRow(key=key)
    row.value = value.model_dump(mode="json")
    session.add(row)
    session.commit()
    return value


def get_sla_policy(session: Session) -> SlaPolicy:
    row = session.get(SettingRow, SLA_SETTING_KEY)
    return SlaPolicy.model_validate(stored_durations(row.value)) if row else SlaPolicy()


def put_sla_policy(session: Session, policy: SlaPolicy) -> SlaPolicy:
    return put_setting(session, SLA_SETTING_KEY, policy)


def get_payment_policy(session: Session) -> PaymentPolicy:
    return get_setting(session, PAYMENT_SETTING_KEY, PaymentPolicy)


def put_payment_policy(session: Session, policy: PaymentPolicy) -> PaymentPolicy:
    return put_setting(session, PAYMENT_SETTING_KEY, policy)


def get_sourcing_policy(session: Session) -> SourcingPolicy:
    return get_setting(session, SOURCING_SETTING_KEY, SourcingPolicy)


def put_sourcing_policy(session: Session, policy: SourcingPolicy) -> SourcingPolicy:
    return put_setting(session, SOURCING_SETTING_KEY, policy)


def get_tax_policy(session: Session) -> TaxPolicy:
    return get_setting(session, TAX_SETTING_KEY, TaxPolicy)


def put_tax_policy(session: Session, policy: TaxPolicy) -> TaxPolicy:
    return put_setting(session, TAX_SETTING_KEY, policy)


def get_charge_policy(session: Session) -> ChargePolicy:
    return get_setting(session, CHARGE_SETTING_KEY, ChargePolicy)


def put_charge_policy(session: Session, policy: ChargePolicy) -> ChargePolicy:
    return put_setting(session, CHARGE_SETTING_KEY, policy)


def policy_for_store(session: Session, store_id: str) -> SlaPolicy:
    store = get_store(session, store_id)
    return effective_policy(get_sla_policy(session), store.sla_overrides if store else None)


def get_return_policy(session: Session) -> ReturnPolicy:
    return get_setting(session, RETURN_SETTING_KEY, ReturnPolicy)


def put_return_policy(session: Session, policy: ReturnPolicy) -> ReturnPolicy:
    return put_setting(session, RETURN_SETTING_KEY, policy)


def get_request_policy(session: Session) -> RequestPolicy:
    return get_setting(session, REQUEST_SETTING_KEY, RequestPolicy)


def put_request_policy(session: Session, policy: RequestPolicy) -> RequestPolicy:
    return put_setting(session, REQUEST_SETTING_KEY, policy)


def get_order_catalogues(session: Session) -> OrderCatalogues:
    return get_setting(session, CATALOGUES_SETTING_KEY, OrderCatalogues)


def put_order_catalogues(session: Session, catalogues: OrderCatalogues) -> OrderCatalogues:
    return put_setting(session, CATALOGUES_SETTING_KEY, catalogues)


def get_queue_settings(session: Session) -> QueueSettings:
    return get_setting(session, QUEUE_SETTING_KEY, QueueSettings)


def put_queue_settings(session: Session, settings: QueueSettings) -> QueueSettings:
    return put_setting(session, QUEUE_SETTING_KEY, settings)
