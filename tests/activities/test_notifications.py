"""XML notification extracts: every type validates against the XSD and carries what a customer message
needs; the schema refuses malformed documents; card data never reaches a document."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from lxml import etree

from activities.notifications import build_extract, validate_extract
from models.extracts import NAMESPACE, ExtractInvalid, ExtractType, extract_file_name
from models.money import Money
from models.order import HistoryEntry, LineFulfilment, Note, OrderState, OrderStatus
from models.payments import PaymentRecord, RefundRecord
from models.placing import Customer, DeliveryAddress, LoyaltyOffer
from models.store_events import track_shipment
from models.views import for_extract
from tests.models.factories import at, gbp, make_line, make_state

NS = {"n": NAMESPACE}
CARD_TOKEN = "tok_visa_4111111111111111"
GATEWAY_REFERENCE = "ch_3PzGatewayCharge0001"
DESCRIPTIONS = {"TEE-WHI-M": "Classic tee", "JEAN-IND-32": "Indigo jeans"}


def _order(status: OrderStatus, **updates) -> OrderState:  # type: ignore[no-untyped-def]
    """A realistic paid order: phone, loyalty discount, a card payment with a token and gateway reference,
    one client-facing and one internal note, both lines picked."""
    lines = [make_line("L1", 2, 1500), make_line("L2", 1, 4500, sku="JEAN-IND-32")]
    for line in lines:
        line.picked_quantity = line.quantity
    fields = {
        "customer": Customer(id="C42", name="Ada Lovelace", email="ada@example.com", phone="+441234567890"),
        "lines": lines,
        "loyalty_offers": [LoyaltyOffer(code="SPRING10", description="10 off", discount=gbp(1000))],
        "payments": [
            PaymentRecord(
                payment_id="P1",
                mode="prepaid",
                method="card",
                amount=gbp(6500),
                at=at(0),
                actor="web",
                reference=GATEWAY_REFERENCE,
                token=CARD_TOKEN,
            )
        ],
        "notes": [
            Note(at=at(1), actor="web", text="Please gift wrap", client_facing=True),
            Note(at=at(2), actor="ho:alice", text=f"customer read out card {CARD_TOKEN}", client_facing=False),
        ],
    }
    fields.update(updates)
    return make_state(status, **fields)


def _cancelled_line_and_refund() -> OrderState:
    order = _order(OrderStatus.ready_for_collection)
    order.lines[1].cancelled_quantity, order.lines[1].quantity = 1, 0
    order.refunds.append(
        RefundRecord(
            refund_id="R1",
            payment_id="P1",
            amount=gbp(4500),
            at=at(30),
            actor="ho:alice",
            reason="out of stock",
            status="refunded",
            reference="re_gw_77",
        )
    )
    return order


def _instructed_refund() -> OrderState:
    """Money taken outside a gateway (a marketplace): the channel is told to pay it back."""
    order = _order(OrderStatus.completed)
    order.refunds.append(
        RefundRecord(
            refund_id="R1",
            payment_id="P1",
            amount=gbp(1500),
            at=at(40),
            actor="ho:alice",
            reason="damaged",
            status="instructed",
            reference="MKT-ORDER-991",
        )
    )
    return order


def _cancelled() -> OrderState:
    order = _order(OrderStatus.cancelled)
    order.history.append(
        HistoryEntry(
            at=at(60),
            actor="system",
            action="collection_expired",
            from_status=OrderStatus.ready_for_collection,
            to_status=OrderStatus.cancelled,
        )
    )
    return order


def _home_delivery() -> OrderState:
    order = _order(OrderStatus.completed)
    for line in order.lines:
        line.fulfilment = LineFulfilment.home_delivery
    order.delivery_address = DeliveryAddress(
        name="Ada Lovelace", line1="12 St James's Square", city="London", postcode="SW1Y 4JH", country="GB"
    )
    order.dispatch_location, order.dispatched_at = "W001", at(90)
    return order


def _shipped(status: OrderStatus) -> OrderState:
    order = _home_delivery()
    order.status = status
    track_shipment(order, "DPD", "JD014600003GB")
    return order


ORDERS = {
    ExtractType.ready_for_collection: lambda: _order(OrderStatus.ready_for_collection),
    ExtractType.collected: lambda: _order(OrderStatus.completed),
    ExtractType.updated: _cancelled_line_and_refund,
    ExtractType.cancelled: _cancelled,
    ExtractType.refunded: _cancelled_line_and_refund,
    ExtractType.order_export: _home_delivery,
    ExtractType.shipped: lambda: _shipped(OrderStatus.shipped),
    ExtractType.delivered: lambda: _shipped(OrderStatus.completed),
    # A return's extracts also carry a Return element (tests/activities/test_return_extracts.py).
    ExtractType.return_authorised: lambda: _order(OrderStatus.completed),
    ExtractType.return_received: lambda: _order(OrderStatus.completed),
    ExtractType.return_refunded: _cancelled_line_and_refund,
}


def _build(extract_type: ExtractType, order: OrderState) -> bytes:
    return build_extract(
        f"order-{order.order_number}:extract:1",
        extract_type,
        for_extract(order),
        at(120),
        store_name="Oxford Street",
        descriptions=DESCRIPTIONS,
    )


def _xpath(document: etree._Element, path: str) -> list:  # type: ignore[type-arg]
    return document.xpath(path, namespaces=NS)  # type: ignore[return-value]


def _one(document: etree._Element, path: str) -> str:
    found = _xpath(document, path)
    assert len(found) == 1, f"{path}: {found}"
    return found[0] if isinstance(found[0], str) else found[0].text


def test_every_extract_type_has_a_schema_test() -> None:
    assert set(ORDERS) == set(ExtractType)


@pytest.mark.parametrize("extract_type", list(ExtractType))
def test_extract_of_each_type_validates_and_carries_the_customer_message(extract_type: ExtractType) -> None:
    order = ORDERS[extract_type]()
    payload = _build(extract_type, order)
    validate_extract(payload)

    document = etree.fromstring(payload)
    assert document.tag == f"{{{NAMESPACE}}}OrderNotification"
    assert document.get("schemaVersion") == "1.3"
    assert _one(document, "/n:OrderNotification/n:ExtractId") == "order-100001:extract:1"
    assert _one(document, "/n:OrderNotification/n:Type") == extract_type.value
    assert _one(document, "/n:OrderNotification/n:OccurredAt") == "2025-03-03T11:00:00Z"
    order_ = "/n:OrderNotification/n:Order"
    assert _one(document, f"{order_}/n:OrderNumber") == "100001"
    assert _one(document, f"{order_}/n:WebReference") == "WEB-1"
    assert _one(document, f"{order_}/n:Status") == order.status.value
    assert _one(document, f"{order_}/n:Customer/n:Name") == "Ada Lovelace"
    assert _one(document, f"{order_}/n:Customer/n:Email") == "ada@example.com"
    assert _one(document, f"{order_}/n:Customer/n:Phone") == "+441234567890"
    assert _one(document, f"{order_}/n:Store/n:StoreId") == "S001"
    assert _one(document, f"{order_}/n:Store/n:Name") == "Oxford Street"
    assert _xpath(document, f"{order_}/n:Lines/n:Line/n:Sku/text()") == ["TEE-WHI-M", "JEAN-IND-32"]
    assert _xpath(document, f"{order_}/n:Lines/n:Line/n:Description/text()") == ["Classic tee", "Indigo jeans"]
    tee = f"{order_}/n:Lines/n:Line[n:LineId='L1']"
    assert _one(document, f"{tee}/n:Quantity") == "2"
    assert _one(document, f"{tee}/n:UnitPrice") == "1500"
    assert _one(document, f"{tee}/n:UnitPrice/@currency") == "GBP"
    assert _one(document, f"{tee}/n:LineTotal/@display") == "30.00"
    assert _one(document, f"{order_}/n:Totals/n:Paid") == "6500"
    assert _one(document, f"{order_}/n:Totals/n:Discount") == "1000"
    assert _xpath(document, f"{order_}/n:Notes/n:Note/n:Text/text()") == ["Please gift wrap"]  # client-facing only


def test_ready_for_collection_extract_shows_picked_lines_and_the_total() -> None:
    document = etree.fromstring(_build(ExtractType.ready_for_collection, _order(OrderStatus.ready_for_collection)))
    assert _xpath(document, "//n:Line/n:Status/text()") == ["picked", "picked"]
    assert _one(document, "//n:Totals/n:OrderTotal") == "6500"  # 3000 + 4500 - 1000 loyalty
    assert _one(document, "//n:Totals/n:OrderTotal/@display") == "65.00"
    assert _one(document, "//n:Fulfilment/n:Method") == "click_and_collect"
    assert _xpath(document, "/n:OrderNotification/n:Reason") == []


def test_collected_extract_marks_lines_collected() -> None:
    document = etree.fromstring(_build(ExtractType.collected, _order(OrderStatus.completed)))
    assert _xpath(document, "//n:Line/n:Status/text()") == ["collected", "collected"]


def test_updated_extract_shows_the_cancelled_line_and_refund_total() -> None:
    document = etree.fromstring(_build(ExtractType.updated, _cancelled_line_and_refund()))
    jeans = "//n:Line[n:LineId='L2']"
    assert _one(document, f"{jeans}/n:Status") == "cancelled"
    assert _one(document, f"{jeans}/n:Quantity") == "0"
    assert _one(document, f"{jeans}/n:CancelledQuantity") == "1"
    assert _one(document, "//n:Totals/n:OrderTotal") == "2000"
    assert _one(document, "//n:Totals/n:Refunded") == "4500"
    assert _xpath(document, "/n:OrderNotification/n:Refund") == []


def test_cancelled_extract_names_the_reason_from_the_history() -> None:
    document = etree.fromstring(_build(ExtractType.cancelled, _cancelled()))
    assert _one(document, "/n:OrderNotification/n:Reason") == "collection_expired"
    assert _one(document, "//n:Order/n:Status") == "cancelled"


def test_refunded_extract_announces_the_latest_refund() -> None:
    document = etree.fromstring(_build(ExtractType.refunded, _cancelled_line_and_refund()))
    assert _one(document, "/n:OrderNotification/n:Refund/n:Amount") == "4500"
    assert _one(document, "/n:OrderNotification/n:Refund/n:Amount/@display") == "45.00"
    assert _one(document, "/n:OrderNotification/n:Refund/n:RefundedAt") == "2025-03-03T09:30:00Z"
    assert _one(document, "/n:OrderNotification/n:Refund/n:How") == "refunded"
    assert _xpath(document, "/n:OrderNotification/n:Refund/n:PaymentReference") == []  # a gateway's never leaves


def test_instructed_refund_extract_says_so_and_names_the_payment_to_pay_back() -> None:
    payload = _build(ExtractType.refunded, _instructed_refund())
    validate_extract(payload)
    document = etree.fromstring(payload)
    assert _one(document, "/n:OrderNotification/n:Refund/n:Amount") == "1500"
    assert _one(document, "/n:OrderNotification/n:Refund/n:How") == "instructed"
    assert _one(document, "/n:OrderNotification/n:Refund/n:PaymentReference") == "MKT-ORDER-991"


def test_refunded_extract_of_an_order_without_refunds_is_refused() -> None:
    with pytest.raises(ValueError, match="no refund"):
        _build(ExtractType.refunded, _order(OrderStatus.ready_for_collection))


def test_order_export_of_a_home_delivery_carries_the_address_and_dispatch() -> None:
    document = etree.fromstring(_build(ExtractType.order_export, _home_delivery()))
    assert _one(document, "//n:Fulfilment/n:Method") == "home_delivery"
    assert _one(document, "//n:Fulfilment/n:DeliveryAddress/n:Postcode") == "SW1Y 4JH"
    assert _one(document, "//n:Fulfilment/n:DispatchLocationId") == "W001"
    assert _one(document, "//n:Fulfilment/n:DispatchedAt") == "2025-03-03T10:30:00Z"
    assert _xpath(document, "//n:Line/n:Status/text()") == ["dispatched", "dispatched"]


def test_shipped_extract_carries_the_carrier_and_tracking_number() -> None:
    document = etree.fromstring(_build(ExtractType.shipped, _shipped(OrderStatus.shipped)))
    assert _one(document, "//n:Fulfilment/n:Carrier") == "DPD"
    assert _one(document, "//n:Fulfilment/n:TrackingNumber") == "JD014600003GB"
    assert _xpath(document, "//n:Line/n:Status/text()") == ["dispatched", "dispatched"]


def test_amounts_use_the_currency_minor_unit_exponent() -> None:
    order = make_state(lines=[make_line("L1", 1, 1234)])
    order.lines[0].unit_price = Money(amount=1234, currency="JPY")
    order.loyalty_offers = []
    document = etree.fromstring(build_extract("x-1", ExtractType.updated, for_extract(order), at(1)))
    assert _one(document, "//n:UnitPrice/@display") == "1234"
    assert _one(document, "//n:UnitPrice/@currency") == "JPY"


@pytest.mark.parametrize("extract_type", list(ExtractType))
def test_extract_never_carries_card_data(extract_type: ExtractType) -> None:
    payload = _build(extract_type, ORDERS[extract_type]())
    text = payload.decode()
    for secret in (CARD_TOKEN, GATEWAY_REFERENCE, "re_gw_77", "tok_", "4111"):
        assert secret not in text
    assert not re.search(r"\d{13,19}", text), "nothing as long as a card number"
    assert "card" not in text.lower()  # not even the payment method


def test_timestamps_are_written_in_utc() -> None:
    from datetime import timedelta, timezone

    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 3, 10, 0, tzinfo=paris)
    payload = build_extract("x-1", ExtractType.updated, for_extract(make_state()), moment)
    assert _one(etree.fromstring(payload), "/n:OrderNotification/n:OccurredAt") == "2025-03-03T09:00:00Z"


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        build_extract("x-1", ExtractType.updated, for_extract(make_state()), datetime(2025, 3, 3, 10, 0))


def _valid() -> bytes:
    return _build(ExtractType.ready_for_collection, _order(OrderStatus.ready_for_collection))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda x: x.replace(b"<Email>ada@example.com</Email>", b""), "Email"),
        (lambda x: x.replace(b'currency="GBP"', b'currency="pounds"', 1), "currency"),
        (lambda x: x.replace(b"2025-03-03T11:00:00Z", b"2025-03-03T11:00:00+01:00"), "OccurredAt"),
        (lambda x: x.replace(b"<Type>ready_for_collection</Type>", b"<Type>teleported</Type>"), "Type"),
        (lambda x: x.replace(b">1500<", b">-1500<", 1), "UnitPrice"),
        (lambda x: x.replace(b'schemaVersion="1.3"', b'schemaVersion="2.0"'), "schemaVersion"),
        (lambda x: x.replace(b"urn:baton:order-notification:1", b"urn:other"), "OrderNotification"),
    ],
)
def test_schema_rejects_a_malformed_extract(change, complaint) -> None:  # type: ignore[no-untyped-def]
    broken = change(_valid())
    assert broken != _valid()
    with pytest.raises(ExtractInvalid, match=complaint) as refused:
        validate_extract(broken)
    assert "line " in str(refused.value)


def test_schema_rejects_an_unknown_way_of_refunding() -> None:
    payload = _build(ExtractType.refunded, _instructed_refund())
    with pytest.raises(ExtractInvalid, match="How"):
        validate_extract(payload.replace(b"<How>instructed</How>", b"<How>later</How>"))


def test_not_well_formed_xml_is_refused_clearly() -> None:
    with pytest.raises(ExtractInvalid, match="not well-formed"):
        validate_extract(b"<OrderNotification><ExtractId>")


def test_file_name_keeps_order_type_and_id_and_only_safe_characters() -> None:
    name = extract_file_name("100001", ExtractType.ready_for_collection, "order-100001:extract:1")
    assert name == "100001-ready_for_collection-order-100001_extract_1.xml"
