"""Codes in words (api/pages/wording.py): who acted, history actions, rules; unknown codes still read as words."""

from __future__ import annotations

from api.pages.wording import actor_kind, actor_words, history_words, rule_words


def test_people_are_named_by_kind():
    assert (actor_kind("ho:alice"), actor_words("ho:alice")) == ("staff", "alice (Head Office)")
    assert (actor_kind("store:S001"), actor_words("store:S001")) == ("store", "Store S001")
    assert (actor_kind("store:S001:sam"), actor_words("store:S001:sam")) == ("store", "sam (store S001)")
    assert (actor_kind("system"), actor_words("system")) == ("system", "Baton")
    assert (actor_kind("web:C42"), actor_words("web:C42")) == ("customer", "Customer (web)")


def test_history_and_rules_read_as_words():
    assert history_words("lines_cancelled") == "Lines cancelled"
    assert history_words("store_push_failed") == "Could not reach the store"
    assert history_words("held_short_pick") == "Picked short: on hold for Head Office"
    assert history_words("something_new") == "Something new"  # a code not in the list yet
    assert rule_words("order_collected").startswith("The order has been collected")
    assert rule_words(None) == ""
