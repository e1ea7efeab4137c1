"""Who is mailed about an order event (models/mail.py), and the templates a brand overrides (activities/mail.py)."""

from __future__ import annotations

from pathlib import Path

from activities.mail import MailTemplates, SmtpServer
from models.mail import Audience, MailPreferences, recipients

LISTS = {"cancelled": ["callcentre@example.com", "ADA@example.com"]}


def _addresses(event: str, status: str = "cancelled", prefs: MailPreferences | None = None) -> list[tuple[str, str]]:
    chosen = recipients(event, status, "ada@example.com", prefs, LISTS, ["ho@example.com"])
    return [(r.address, "suppressed" if r.suppressed else r.audience.value) for r in chosen]


def test_the_customer_first_then_the_lists_each_address_once():
    assert _addresses("cancelled") == [("ada@example.com", "customer"), ("callcentre@example.com", "list")]


def test_suppression_by_type_and_in_full_is_recorded_not_sent():
    assert _addresses("updated", prefs=MailPreferences(suppressed_types=["updated"])) == [
        ("ada@example.com", "suppressed")
    ]
    assert _addresses("collected", prefs=MailPreferences(suppressed_types=["updated"])) == [
        ("ada@example.com", "customer")
    ]
    assert _addresses("cancelled", prefs=MailPreferences(suppressed=True))[0] == ("ada@example.com", "suppressed")
    # A refund the channel pays back reads as a refund to the customer, and is suppressed with refunds.
    assert _addresses("refund_instructed", prefs=MailPreferences(suppressed_types=["refunded"])) == [
        ("ada@example.com", "suppressed")
    ]


def test_head_office_hears_only_of_orders_placed_awaiting_approval():
    assert _addresses("placed", status="awaiting_approval") == [("ho@example.com", Audience.head_office.value)]
    assert _addresses("placed", status="awaiting_acknowledgement") == []
    assert _addresses("acknowledged") == []


def test_a_brand_overrides_one_template_and_keeps_the_rest(tmp_path: Path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "cancelled.txt").write_text("Subject: Sorry, {{ order_number }} is off\n\nSorry.\n")
    templates = MailTemplates(tmp_path)
    context = {
        "order_number": "100001",
        "event": {"detail": ""},
        "order": {"customer": {"name": "Ada"}, "web_reference": "WEB-1"},
    }
    subject, text, html = templates.render("cancelled", "web", context)
    assert (subject, text.strip(), html is not None) == ("Sorry, 100001 is off", "Sorry.", True)
    subject, _, _ = templates.render(
        "cancelled", "phone", context | {"order": {"customer": {"name": "Ada"}, "web_reference": ""}}
    )
    assert subject == "Your order 100001 has been cancelled"


def test_smtp_urls():
    assert SmtpServer.from_url("smtps://u%40x:p@mail.example.com") == SmtpServer(
        "mail.example.com", 465, "u@x", "p", use_tls=True, start_tls=False
    )
    assert SmtpServer.from_url("smtp://mail.example.com:587?starttls=true").start_tls
