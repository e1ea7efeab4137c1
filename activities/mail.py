"""The mail lane: e-mail about order events, sent through SMTP (BATON_SMTP_URL) in outbox order.

For each order event the lane reads the order and the customer's preferences, asks models/mail.py who is told,
and sends each message once: every one is logged in `mail_deliveries` (event and address), so a relay that stops
half-way sends only what it had not sent. The SMTP server not answering, or answering 4xx, holds the lane and is
retried with backoff; a 5xx refusal, or failing past the horizon, marks the message `failed` and the lane moves on.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from sqlalchemy import Engine
from sqlmodel import Session

from activities.delivery import Step, in_db, out_of_time
from models.db import mail, outbox
from models.db.orders import get_order_record
from models.db.tables import OrderEventRow
from models.mail import Recipient, mailed_event, recipients
from models.outbox import MAIL_LANE, expired
from models.settings import Settings

TEMPLATES = Path(__file__).with_name("mail_templates")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # smtps://: TLS from the first byte
    start_tls: bool  # smtp://…?starttls=true: upgrade after connecting

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("BATON_SMTP_URL is smtp://[user:password@]host[:port] or smtps://…")
        query = parse_qs(parts.query)
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
        )


class MailTemplates:
    """Jinja templates per event: `<template>.txt` (its first line "Subject: …") and `<template>.html`, looked up in
    `<dir>/<channel>/`, then `<dir>/`, then Baton's own, so a brand overrides one event or all of them."""

    def __init__(self, override_dir: Path | None) -> None:
        self._override = override_dir

    def _environment(self, channel: str) -> Environment:
        paths = [self._override / channel, self._override] if self._override else []
        loader = ChoiceLoader([FileSystemLoader([*(str(p) for p in paths), str(TEMPLATES)])])
        return Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined)

    def render(self, template: str, channel: str, context: dict[str, Any]) -> tuple[str, str, str | None]:
        """(subject, text, html or None)."""
        environment = self._environment(channel)
        text = environment.get_template(f"{template}.txt").render(context)
        first, _, body = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"mail template {template}.txt must start with a 'Subject:' line")
        try:
            html: str | None = environment.get_template(f"{template}.html").render(context)
        except TemplateNotFound:
            html = None
        return first.removeprefix("Subject:").strip(), body.lstrip("\n"), html


class MailLane:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine, self._settings = engine, settings
        url = settings.smtp_url.get_secret_value() if settings.smtp_url else ""
        self._server = SmtpServer.from_url(url) if url else None
        self._templates = MailTemplates(settings.mail_templates_dir)

    async def step(self, deadline: float) -> Step:
        if self._server is None:
            return Step(retired=True)
        batch = self._settings.outbox_batch_size
        position = await in_db(self._engine, self._position)
        events = await in_db(self._engine, lambda s: outbox.events_after(s, position, batch))
        step = Step(more=len(events) == batch)
        done = position
        for event in events:
            if out_of_time(deadline):
                step.more = True
                break
            if mailed_event(event.type) and not await self._mail_about(event, step):
                break
            done = event.id or done
        if done != position:

            def move(session: Session) -> None:
                outbox.move_cursor(session, MAIL_LANE, position, done, _now())
                session.commit()

            await in_db(self._engine, move)
        return step

    def _position(self, session: Session) -> int:
        position = outbox.cursor(session, MAIL_LANE)
        return position if position is not None else outbox.start_cursor(session, MAIL_LANE, _now())

    async def _mail_about(self, event: OrderEventRow, step: Step) -> bool:
        """Send what is still unsent for one event; False when the SMTP server must be tried again later."""
        record = await in_db(self._engine, lambda s: get_order_record(s, event.order_number))
        if record is None:
            return True  # an order without a read model has nobody to tell
        prefs = await in_db(self._engine, lambda s: mail.preferences(s, record.customer_id))
        settings = self._settings
        order_status = str(event.body.get("order", {}).get("status", ""))
        chosen = recipients(
            event.type, order_status, record.customer_email, prefs, settings.mail_lists, settings.mail_head_office
        )
        context = {"event": event.body, "order": record.view, "order_number": record.order_number}
        for recipient in chosen:

            def row_for(session: Session, recipient: Recipient = recipient) -> mail.MailDeliveryRow:
                return mail.delivery_for(session, event.event_id, event.order_number, event.type, recipient, _now())

            row = await in_db(self._engine, row_for)
            if row.status in mail.FINAL:
                step.skipped += 1
                continue
            status, subject, detail = await self._send(row, recipient, record.channel, context, event.created_at)
            attempt = partial(
                mail.record_attempt, row_id=row.id or 0, status=status, subject=subject, detail=detail, now=_now()
            )
            await in_db(self._engine, attempt)
            if status == "retrying":
                step.failing = f"mail {row.id} to {recipient.audience}: {detail}"
                return False
            if status == "sent":
                step.delivered += 1
            else:
                step.given_up += 1
        return True

    async def _send(
        self, row: mail.MailDeliveryRow, recipient: Recipient, channel: str, context: dict[str, Any], entered: datetime
    ) -> tuple[str, str, str]:
        """(status, subject, detail): sent, retrying or failed."""
        assert self._server is not None
        try:
            subject, text, html = self._templates.render(recipient.template, channel, context)
        except Exception as error:  # noqa: BLE001  (a broken template is the operator's to fix: logged, not retried)
            return "failed", "", f"template: {type(error).__name__}: {error}"[:500]
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = recipient.address
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(idstring=f"baton-mail-{row.id}", domain="baton.invalid")
        message["X-Baton-Event-Id"] = row.event_id
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
        server = self._server
        try:
            await aiosmtplib.send(
                message,
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls if not server.use_tls else False,
                tls_context=ssl.create_default_context(),
                timeout=self._settings.mail_timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                return "failed", subject, f"smtp_{error.code}: refused"
            return self._retry_or_fail(subject, f"smtp_{error.code}: try later", entered)
        except aiosmtplib.SMTPRecipientsRefused as error:
            code = min((refusal.code for refusal in error.recipients), default=550)
            if code >= 500:
                return "failed", subject, f"smtp_{code}: recipient refused"
            return self._retry_or_fail(subject, f"smtp_{code}: recipient not taken yet", entered)
        except (aiosmtplib.SMTPException, OSError) as error:
            return self._retry_or_fail(subject, f"unreachable: {type(error).__name__}", entered)
        return "sent", subject, ""

    def _retry_or_fail(self, subject: str, detail: str, entered: datetime) -> tuple[str, str, str]:
        if expired(entered, _now(), self._settings.outbound_retry_horizon_seconds):
            return "failed", subject, f"{detail}; gave up: still failing past the retry horizon"
        return "retrying", subject, detail
