"""The order page's figures and links (no browser: the page over ASGI): the stock table has one column per location
for every SKU, and the XML extract links open for a signed-in Head Office user."""

from __future__ import annotations

import re

from sqlmodel import Session

from models.db.tables import LocationRow, StockLevelRow
from tests.support import HO_KEY, JEANS, TEE, make_ready, order_body, place, ui_sign_in

STORE_S001_KEY = "test-store-s001"


def _stock_table(html: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The stock table's location headers, and each SKU's cell text by the column's header."""
    table = html[html.index('<table id="stock"') : html.index("</table>", html.index('<table id="stock"'))]
    head = re.findall(r'<th scope="col" class="num">([^<]+)</th>', table)
    rows: dict[str, dict[str, str]] = {}
    for sku, cells in re.findall(r'<tr data-sku="([^"]+)"><th scope="row">[^<]+</th>(.*?)</tr>', table):
        texts = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
        rows[sku] = dict(zip(head, texts, strict=True))
    return head, rows


async def test_the_stock_table_has_one_column_per_location_for_every_sku(stack):
    # A store that holds only the jeans: the tee (the first SKU) has no stock row there.
    with Session(stack.engine) as session:
        session.add(LocationRow(store_id="S009", name="Pop-up", kind="store", click_and_collect_enabled=False))
        session.flush()
        session.add(StockLevelRow(location_id="S009", sku=JEANS, on_hand=8, reserved=0))
        session.commit()
    number = await place(stack.http, order_body(lines=[(TEE, 1), (JEANS, 1)]))
    await ui_sign_in(stack.http, HO_KEY)
    html = (await stack.http.get(f"/ui/orders/{number}")).text
    head, rows = _stock_table(html)
    assert head == sorted(head) and {"S001", "S009", "W001"} <= set(head)
    assert rows[JEANS]["S009"] == "8 / 8"  # in its own column, not shifted
    assert rows[TEE]["S009"] == "—"
    assert rows[TEE]["W001"] == "200 / 200" and rows[JEANS]["W001"] == "200 / 200"


async def test_extract_links_open_for_a_signed_in_head_office_user(stack):
    number = await place(stack.http)
    await make_ready(stack.http, number)
    extract_id = f"{number}:5:extract"
    await ui_sign_in(stack.http, HO_KEY)
    html = (await stack.http.get(f"/ui/orders/{number}")).text
    assert f'href="/ui/extracts/{extract_id}"' in html
    document = await stack.http.get(f"/ui/extracts/{extract_id}")
    assert document.status_code == 200, document.text
    assert document.headers["content-type"].startswith("application/xml")
    assert f"<OrderNumber>{number}</OrderNumber>" in document.text
    assert (await stack.http.get("/ui/extracts/nope:1:extract")).status_code == 404

    await ui_sign_in(stack.http, STORE_S001_KEY)  # extracts carry customers' details: Head Office only
    assert (await stack.http.get(f"/ui/extracts/{extract_id}")).status_code == 404
    await stack.http.post("/ui/sign-out")
    stack.http.cookies.clear()
    answer = await stack.http.get(f"/ui/extracts/{extract_id}")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in")
