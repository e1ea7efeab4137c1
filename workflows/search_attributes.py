"""Custom search attributes on order workflows (business keys and state, never personal data)."""

from temporalio.common import SearchAttributeKey

ORDER_NUMBER = SearchAttributeKey.for_keyword("OrderNumber")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
STORE_ID = SearchAttributeKey.for_keyword("StoreId")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
HAS_ALERT = SearchAttributeKey.for_bool("HasAlert")

ALL = (ORDER_NUMBER, ORDER_STATUS, STORE_ID, CHANNEL, HAS_ALERT)
