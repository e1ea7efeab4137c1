"""Order catalogues on the real stack (`GET/PUT /settings/catalogues`): none leaves everything orderable; once defined,
placement refuses a product outside every applicable catalogue, or outside its window, with 422 naming the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.calendar import WEEKDAYS
from tests.api.test_deliveries import home_delivery
from tests.support import CHANNEL, HO, JEANS, TEE, order_body, place


async def _put(stack, catalogues: list[dict]) -> None:
    response = await stack.http.put("/settings/catalogues", json={"catalogues": catalogues}, headers=HO)
    assert response.status_code == 200, response.text


async def _refused(stack, body: dict) -> list[dict]:
    response = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["errors"]


async def test_a_product_outside_the_catalogue_is_refused_naming_its_line(stack):
    assert (await stack.http.get("/settings/catalogues", headers=HO)).json() == {"catalogues": []}
    assert (await stack.http.get("/settings/catalogues", headers=CHANNEL)).status_code == 403
    await place(stack.http, order_body())  # no catalogues: everything is orderable

    await _put(stack, [{"name": "tees", "skus": [TEE]}])
    errors = await _refused(stack, order_body(lines=[(TEE, 1), (JEANS, 1)]))
    assert errors == [{"field": "lines[1].sku", "message": f"{JEANS} is in no order catalogue"}]
    await place(stack.http, order_body(lines=[(TEE, 1)]))  # inside the catalogue: accepted

    await _put(stack, [])  # none again: everything is orderable
    await place(stack.http, order_body(lines=[(TEE, 1), (JEANS, 1)]))


async def test_inside_its_window_accepted_outside_refused(stack):
    now = datetime.now(UTC)
    window = {
        "available_from": (now - timedelta(hours=1)).isoformat(),
        "available_until": (now + timedelta(days=1)).isoformat(),
    }
    await _put(stack, [{"name": "this week", "skus": [TEE, JEANS], **window}])
    await place(stack.http, order_body())

    later = {"available_from": (now + timedelta(days=1)).isoformat()}
    await _put(stack, [{"name": "next week", "skus": [TEE, JEANS], **later}])
    errors = await _refused(stack, order_body())
    assert [e["field"] for e in errors] == ["lines[0].sku", "lines[1].sku"]
    assert errors[0]["message"].startswith(f"{TEE} is orderable only 'next week' from ")

    tomorrow = WEEKDAYS[(now.weekday() + 1) % 7]
    await _put(stack, [{"name": "tomorrow only", "skus": [TEE, JEANS], "days": [tomorrow]}])
    assert [e["field"] for e in await _refused(stack, order_body())] == ["lines[0].sku", "lines[1].sku"]


async def test_catalogues_by_supply_method_and_fulfilling_location(stack):
    await _put(
        stack,
        [
            {"name": "collect", "skus": [TEE, JEANS], "supply_methods": ["click_and_collect"], "locations": ["S001"]},
            {"name": "warehouse", "skus": [TEE], "supply_methods": ["home_delivery"], "locations": ["W001"]},
        ],
    )
    await place(stack.http, order_body("S001"))
    errors = await _refused(stack, order_body("S002"))
    assert errors[0] == {
        "field": "lines[0].sku",
        "message": f"{TEE} is not orderable for click_and_collect from S002 (its catalogues: 'collect', 'warehouse')",
    }
    # Shipped from W001 (sourcing's choice): the tee may be ordered so, the jeans may not.
    errors = await _refused(stack, home_delivery())
    assert errors == [
        {
            "field": "lines[1].sku",
            "message": f"{JEANS} is not orderable for home_delivery from W001 (its catalogues: 'collect')",
        }
    ]


async def test_catalogues_that_make_no_sense_are_refused_with_422(stack):
    response = await stack.http.put(
        "/settings/catalogues", json={"catalogues": [{"name": "x", "skus": [TEE], "timezone": "Mars/Olympus"}]},
        headers=HO,
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert (await stack.http.get("/settings/catalogues", headers=HO)).json() == {"catalogues": []}
