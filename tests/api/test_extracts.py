"""GET /extracts and /extracts/{id}: extracts real orders made (no drop folder or endpoint configured, so third
parties read them from the API), filters, the XML, errors and who may read them."""

from __future__ import annotations

from lxml import etree

from activities.notifications import validate_extract
from models.extracts import NAMESPACE
from tests.support import CHANNEL, HO, STORE_S001, collect, eventually, make_ready, place


async def _listed(stack, **params: str) -> list[dict]:
    response = await stack.http.get("/extracts", params=params, headers=HO)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _ids(stack, **params: str) -> list[str]:
    return [item["extract_id"] for item in await _listed(stack, **params)]


async def _extract_made(stack, number: str, count: int) -> None:
    async def made() -> bool:
        return len(await _listed(stack, order_number=number)) == count

    await eventually(made, timeout=30)


async def test_extract_of_a_ready_order_is_kept_with_its_change_and_served_as_xml(stack):
    number = await place(stack.http)
    await make_ready(stack.http, number)  # events placed … acknowledged, then ready_for_collection (5)

    [item] = await _listed(stack, order_number=number)  # kept in the same transaction as the change
    assert (item["extract_id"], item["type"], item["order_number"]) == (f"{number}:5:extract", "ready_for_collection",
                                                                        number)  # fmt: skip
    assert (item["delivery_attempts"], item["delivered_at"], item["delivered_to"]) == (0, None, [])  # nowhere to go
    assert item["created_at"].endswith("Z") and item["href"] == f"/extracts/{number}:5:extract"

    fetched = await stack.http.get(item["href"], headers=CHANNEL)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/xml")
    validate_extract(fetched.content)
    document = etree.fromstring(fetched.content)
    ns = {"n": NAMESPACE}
    assert document.xpath("string(/n:OrderNotification/n:ExtractId)", namespaces=ns) == item["extract_id"]
    assert document.xpath("string(//n:Order/n:OrderNumber)", namespaces=ns) == number
    assert document.xpath("string(//n:Customer/n:Email)", namespaces=ns) == "ada@example.com"
    assert document.xpath("string(//n:Store/n:Name)", namespaces=ns) == "London Oxford Street"
    assert document.xpath("//n:Line/n:Description/text()", namespaces=ns) == ["Organic cotton tee", "Slim fit jeans"]
    assert document.xpath("//n:Line/n:Status/text()", namespaces=ns) == ["picked", "picked"]


async def test_list_extracts_filters_by_order_type_and_since_oldest_first(stack):
    first = await place(stack.http)
    await make_ready(stack.http, first)
    await _extract_made(stack, first, 1)
    await collect(stack.http, first)
    await _extract_made(stack, first, 2)
    second = await place(stack.http)
    await make_ready(stack.http, second)
    await _extract_made(stack, second, 1)
    ids = [f"{first}:5:extract", f"{first}:6:extract", f"{second}:5:extract"]

    assert await _ids(stack) == ids
    assert await _ids(stack, order_number=first) == ids[:2]
    assert await _ids(stack, type="ready_for_collection") == [ids[0], ids[2]]
    assert await _ids(stack, order_number=first, type="collected") == [ids[1]]
    assert await _ids(stack, limit="2") == ids[:2]
    everything = await _listed(stack)
    assert await _ids(stack, since=everything[1]["created_at"]) == ids[1:]  # inclusive
    assert await _ids(stack, order_number="nobody") == []


async def test_get_unknown_extract_is_404_problem(stack):
    response = await stack.http.get("/extracts/100001:404:extract", headers=HO)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/extract-not-found")


async def test_list_extracts_with_bad_filters_is_422_naming_the_field(stack):
    for params, field in (
        ({"type": "teleported"}, "type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-22T10:00:00"}, "since"),  # no time zone
        ({"limit": "0"}, "limit"),
        ({"limit": "5000"}, "limit"),
    ):
        response = await stack.http.get("/extracts", params=params, headers=HO)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field], params
    bad_id = await stack.http.get("/extracts/not a valid id", headers=HO)
    assert bad_id.status_code == 422


async def test_extracts_need_a_head_office_or_channel_key(stack):
    number = await place(stack.http)
    await make_ready(stack.http, number)
    await _extract_made(stack, number, 1)
    assert (await stack.http.get("/extracts")).status_code == 401
    assert (await stack.http.get("/extracts", headers=STORE_S001)).status_code == 403
    assert (await stack.http.get(f"/extracts/{number}:5:extract", headers=STORE_S001)).status_code == 403
    assert (await stack.http.get("/extracts", headers=CHANNEL)).status_code == 200
    assert (await stack.http.get(f"/extracts/{number}:5:extract", headers=CHANNEL)).status_code == 200
