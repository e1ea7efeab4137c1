"""Tax through the real stack: Head Office sets rates per tax class and country, the product feed gives a product
its class, placement locks each line's rate for where it goes (a later change of rates leaves a placed order alone),
the order view splits every line and the order into net, tax and gross, and a class with no rate where it would go
refuses the order, naming the line."""

from __future__ import annotations

from models.db.demo import demo_skus
from tests.api.test_deliveries import ADDRESS, home_delivery
from tests.support import CHANNEL, HO, JEANS, PRICES, TEE, order_body, place, settled

RATES = {
    "home_country": "GB",
    "rates": [
        {"tax_class": "standard", "country": "*", "rate_bp": 2000},
        {"tax_class": "standard", "country": "DE", "rate_bp": 1900},
        {"tax_class": "reduced", "country": "*", "rate_bp": 500},
    ],
}


async def _set_class(http, sku: str, tax_class: str) -> None:
    ((_sku, style, name, size, price, colour),) = [s for s in demo_skus() if s[0] == sku]
    product = {"sku": sku, "style": style, "name": name, "size": size, "colour": colour,
               "price": {"amount": price, "currency": "GBP"}, "tax_class": tax_class}  # fmt: skip
    answer = await http.post("/feeds/products", json={"message_id": f"erp-{sku}-{tax_class}", "products": [product]},
                             headers=HO)  # fmt: skip
    assert answer.status_code == 200, answer.text


async def test_each_line_is_taxed_at_its_class_rate_locked_at_placement(stack):
    assert (await stack.http.put("/settings/tax", json=RATES, headers=HO)).status_code == 200
    assert (await stack.http.get("/settings/tax", headers=HO)).json()["rates"][1]["rate_bp"] == 1900
    await _set_class(stack.http, JEANS, "reduced")

    number = await place(stack.http, order_body())
    view = await settled(stack.http, number)
    assert [(line["sku"], line["tax_class"], line["tax_rate_bp"]) for line in view["lines"]] == [
        (TEE, "standard", 2000),
        (JEANS, "reduced", 500),
    ]
    tee, jeans = PRICES[TEE] * 2, PRICES[JEANS]
    tee_tax, jeans_tax = (tee * 2000 * 2 + 12000) // 24000, (jeans * 500 * 2 + 10500) // 21000
    assert [line["amounts"] for line in view["tax"]["lines"]] == [
        {"net": tee - tee_tax, "tax": tee_tax, "gross": tee},
        {"net": jeans - jeans_tax, "tax": jeans_tax, "gross": jeans},
    ]
    assert view["tax"]["total"] == {"net": tee + jeans - tee_tax - jeans_tax, "tax": tee_tax + jeans_tax,
                                    "gross": view["total"]["amount"]}  # fmt: skip

    # New rates apply to orders placed from now on; the placed order keeps the rates it was placed at.
    RATES["rates"][0]["rate_bp"] = 1000
    assert (await stack.http.put("/settings/tax", json=RATES, headers=HO)).status_code == 200
    again = await settled(stack.http, number)
    assert [line["tax_rate_bp"] for line in again["lines"]] == [2000, 500]


async def test_a_home_delivery_is_taxed_where_it_goes(stack):
    assert (await stack.http.put("/settings/tax", json=RATES, headers=HO)).status_code == 200
    body = home_delivery(location_id="W001", address={**ADDRESS, "country": "DE", "postcode": "10115"})
    number = await place(stack.http, body, status="awaiting_dispatch")
    view = await settled(stack.http, number)
    assert [line["tax_rate_bp"] for line in view["lines"]] == [1900, 1900]


async def test_a_class_without_a_rate_where_it_goes_refuses_the_order(stack):
    assert (await stack.http.put("/settings/tax", json=RATES, headers=HO)).status_code == 200
    await _set_class(stack.http, JEANS, "books")
    before = (await stack.http.get("/orders", headers=HO)).json()
    answer = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["errors"][0]["field"] == "lines[1].sku"
    assert "tax class 'books'" in problem["errors"][0]["message"]
    assert (await stack.http.get("/orders", headers=HO)).json() == before


async def test_bad_rates_are_refused_by_field(stack):
    bad = {"rates": [{"tax_class": "standard", "country": "GBR", "rate_bp": 2000}]}
    answer = await stack.http.put("/settings/tax", json=bad, headers=HO)
    assert answer.status_code == 422
    assert "rates" in answer.text and "country" in answer.text
    assert (await stack.http.get("/settings/tax", headers=HO)).json()["rates"][0]["country"] == "*"
