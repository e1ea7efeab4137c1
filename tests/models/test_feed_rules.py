"""Feed messages (models/feeds.py) and what a count shortfall means for an order (models/stock_counts.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.feeds import CountShortfall, FeedError, products_from_csv
from models.order import AlertType, OrderStatus
from models.stock_counts import on_count_short
from tests.models.factories import make_state

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_csv_price_list_reads_into_products_and_names_the_bad_cell():
    (item,) = products_from_csv("sku,style,name,size,colour,price,currency\nA-1,A,Alpha,M,Red,1999,GBP\n")
    assert (item.sku, item.price.amount, item.price.currency) == ("A-1", 1999, "GBP")
    with pytest.raises(FeedError) as missing:
        products_from_csv("sku,name\nA-1,Alpha\n")
    assert missing.value.field == "header"
    with pytest.raises(FeedError) as bad:
        products_from_csv("sku,style,name,size,colour,price,currency\nA-1,A,Alpha,M,Red,19,gbp\n")
    assert bad.value.field == "line 2: currency"


def test_an_order_holding_the_stock_is_alerted_once_and_not_after_it_was_picked():
    order = make_state(OrderStatus.awaiting_acknowledgement)
    shortfall = CountShortfall(
        sku=order.lines[0].sku, location_id=order.store_id, counted=0, reserved=2, message_id="m1"
    )
    assert on_count_short(order, shortfall, NOW) is not None
    assert on_count_short(order, shortfall, NOW) is None  # already alerted while it is open
    alerts = [a for a in order.alerts if a.type is AlertType.stock_count_short]
    assert len(alerts) == 1 and "found 0" in alerts[0].detail
    other = CountShortfall(sku="NOT-ON-ORDER", location_id=order.store_id, counted=0, reserved=1, message_id="m2")
    assert on_count_short(order, other, NOW) is None
    picked = make_state(OrderStatus.ready_for_collection)
    assert on_count_short(picked, shortfall, NOW) is None
