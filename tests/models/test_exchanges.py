"""The exchange rules without Temporal: like for like at request time, what is replaced and what refunded after
inspection, the replacement order's body, and its placement (zero priced, nothing to approve)."""

from __future__ import annotations

from models.catalogue import Product
from models.deliveries import Delivery, DeliveryMethod
from models.exchanges import exchange_problems, exchanged, replacement_order, to_refund
from models.placement import new_order, placement_problems
from models.placing import DeliveryAddress
from models.returns import (
    ExchangeFor,
    InspectedLine,
    OrderFacts,
    RequestReturn,
    ReturnLine,
    ReturnState,
    ReturnStatus,
)
from models.views import for_api
from tests.models.factories import OPEN_STORE, PRODUCTS, STORE, T0, gbp, make_state

CATALOGUE = {
    **PRODUCTS,
    "TEE-WHI-L": Product(sku="TEE-WHI-L", style="TEE", name="Tee", size="L", colour="white", price=gbp(1800)),
    "SOCK-RED": Product(sku="SOCK-RED", style="SOCK", name="Socks", size="M", colour="red", price=gbp(1500)),
    "JKT-OLI-M": Product(sku="JKT-OLI-M", style="JKT", name="Jacket", size="M", colour="olive", price=gbp(12000)),
}
FACTS = OrderFacts(
    order_number="100001",
    status="completed",
    completed_at=T0,
    lines={"L1": ("TEE-WHI-M", "TEE", 2), "L2": ("JEAN-IND-32", "JEAN", 1)},
    prices={"L1": 1500, "L2": 4500},
)


def _asking(*swaps: tuple[str, str | None]) -> RequestReturn:
    return RequestReturn(
        lines=[
            ReturnLine(line_id=line_id, quantity=1, reason="x", exchange_for=ExchangeFor(sku=sku) if sku else None)
            for line_id, sku in swaps
        ],
        location_id=STORE,
    )


def _inspected(*lines: tuple[str, int, int], swaps: dict[str, str] | None = None, method: str = "store") -> ReturnState:
    swaps = swaps or {}
    return ReturnState(
        return_id="return-100001-1",
        order_number="100001",
        status=ReturnStatus.received,
        method="store" if method == "store" else "carrier",
        location_id=STORE if method == "store" else "W001",
        lines=[
            ReturnLine(
                line_id=line_id,
                quantity=max(1, accepted + written_off),
                reason="x",
                exchange_for=ExchangeFor(sku=swaps[line_id]) if line_id in swaps else None,
            )
            for line_id, accepted, written_off in lines
        ],
        requested_by="channel:webstore",
        requested_at=T0,
        inspected=[
            InspectedLine(line_id=line_id, accepted=accepted, written_off=written_off)
            for line_id, accepted, written_off in lines
        ],
    )


def test_exchange_problems_allow_another_variant_of_the_same_product_whatever_its_price() -> None:
    assert exchange_problems(FACTS, _asking(("L1", "TEE-WHI-L")), CATALOGUE) == []


def test_exchange_problems_allow_another_product_of_the_same_price() -> None:
    assert exchange_problems(FACTS, _asking(("L1", "SOCK-RED")), CATALOGUE) == []


def test_exchange_problems_name_the_line_of_another_product_at_another_price() -> None:
    problems = exchange_problems(FACTS, _asking(("L2", None), ("L1", "JKT-OLI-M")), CATALOGUE)
    assert [p.field for p in problems] == ["lines.1.exchange_for"]
    assert "JKT-OLI-M" in problems[0].message and "same price" in problems[0].message


def test_exchange_problems_name_an_unknown_sku() -> None:
    problems = exchange_problems(FACTS, _asking(("L1", "NOPE")), CATALOGUE)
    assert [(p.field, p.message) for p in problems] == [("lines.0.exchange_for", "unknown SKU 'NOPE'")]


def test_exchange_problems_leave_a_line_the_order_lacks_to_the_return_policy() -> None:
    assert exchange_problems(FACTS, _asking(("L9", "JKT-OLI-M")), CATALOGUE) == []


def test_accepted_exchange_units_are_replaced_not_refunded_and_written_off_ones_neither() -> None:
    state = _inspected(("L1", 1, 1), ("L2", 1, 0), swaps={"L1": "TEE-WHI-L"})
    assert exchanged(state) == {"L1": ("TEE-WHI-L", 1)}
    assert to_refund(state) == {"L2": 1}


def test_without_exchanges_every_accepted_and_written_off_unit_is_refunded() -> None:
    state = _inspected(("L1", 1, 1), ("L2", 0, 0))
    assert exchanged(state) == {}
    assert to_refund(state) == {"L1": 2}


def test_no_replacement_when_no_exchanged_unit_passed_inspection() -> None:
    state = _inspected(("L1", 0, 1), swaps={"L1": "TEE-WHI-L"})
    assert replacement_order(state, for_api(make_state())) is None


def test_the_replacement_is_collected_at_the_store_the_return_came_back_to() -> None:
    state = _inspected(("L1", 2, 0), swaps={"L1": "TEE-WHI-L"})
    body = replacement_order(state, for_api(make_state()))
    assert body is not None
    assert body.replaces.model_dump() == {"order_number": "100001", "return_id": "return-100001-1"}
    assert [(line.sku, line.quantity, line.unit_price.amount) for line in body.lines] == [("TEE-WHI-L", 2, 0)]
    assert (body.fulfilment.method, body.fulfilment.store_id) == ("click_and_collect", STORE)
    assert body.payment is not None and (body.payment.method, body.payment.amount.amount) == ("exchange", 0)
    assert body.customer.id == "C42"


def test_the_replacement_of_a_home_delivered_line_goes_to_the_same_address() -> None:
    address = DeliveryAddress(name="Ada", line1="1 St James's Sq", city="London", postcode="SW1Y 4LG", country="GB")
    shipped = Delivery(
        delivery_id="D1", method=DeliveryMethod.home_delivery, location_id="W001", address=address, line_ids=["L1"]
    )
    state = _inspected(("L1", 1, 0), swaps={"L1": "TEE-WHI-L"}, method="carrier")
    body = replacement_order(state, for_api(make_state(deliveries=[shipped], fulfilment_method="home_delivery")))
    assert body is not None
    assert (body.fulfilment.method, body.fulfilment.address) == ("home_delivery", address)


def test_a_replacement_places_at_no_price_and_needs_no_approval() -> None:
    state = _inspected(("L1", 1, 0), swaps={"L1": "TEE-WHI-L"})
    body = replacement_order(state, for_api(make_state()))
    assert body is not None
    assert placement_problems(body, CATALOGUE, OPEN_STORE) == []
    order = new_order("100002", body, CATALOGUE, T0)
    assert order.approval_reason is None  # a normal order that comes to nothing would wait for Head Office
    assert order.replaces == body.replaces
    assert [(p.method, p.amount.amount, p.status) for p in order.payments] == [("exchange", 0, "taken")]
    assert order.total().amount == 0


def test_a_replacement_line_with_a_price_is_refused() -> None:
    state = _inspected(("L1", 1, 0), swaps={"L1": "TEE-WHI-L"})
    body = replacement_order(state, for_api(make_state()))
    assert body is not None
    body.lines[0].unit_price = gbp(1800)
    problems = placement_problems(body, CATALOGUE, OPEN_STORE)
    assert [p.field for p in problems][:1] == ["lines[0].unit_price.amount"]
