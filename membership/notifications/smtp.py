"""E-mail over SMTP (``aiosmtplib``): the built-in ``email`` channel.

A message goes out as ``text/plain`` (with an HTML alternative when it has one), from the
program's sender, with a ``Message-ID`` made from the message's id (the same on a retry) and, when
it has an opt-out address, ``List-Unsubscribe`` with ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058): mail clients show an unsubscribe button that opts the
member out in one step. A recipient the server refuses (5xx) is a permanent failure; a server
that cannot be reached or answers 4xx is tried again later.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import Annotated, Literal

import aiosmtplib
import msgspec

from membership.notifications.interface import Channel, DeliveryReport, Message

TIMEOUT_SECONDS = 30.0


class SmtpSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The SMTP server and the sender. ``security``: ``starttls`` (port 587), ``tls`` (port 465)
    or ``none`` (a relay on the local network only)."""

    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Annotated[str, msgspec.Meta(max_length=200)] = ""
    password: Annotated[str, msgspec.Meta(max_length=200)] = ""
    sender: Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    sender_name: Annotated[str, msgspec.Meta(max_length=100)] = ""


def build_email(message: Message, config: SmtpSettings) -> EmailMessage:
    """The e-mail a message becomes (headers, text and HTML parts)."""
    mail = EmailMessage()
    mail["From"] = email.utils.formataddr((config.sender_name, config.sender))
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.formatdate(localtime=False)
    domain = config.sender.rpartition("@")[2]
    mail["Message-ID"] = f"<{message.id}@{domain}>" if message.id else email.utils.make_msgid(domain=domain)
    if message.unsubscribe:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.body)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


class SmtpEmail(Channel):
    """E-mail through the program's SMTP server."""

    name = "email"
    label_zh = "电子邮件"
    label_en = "E-mail"
    address = "email"
    settings_type = SmtpSettings
    secrets = ("password",)

    async def send(self, message: Message) -> DeliveryReport:
        """Hand the e-mail to the SMTP server; its queue id is the provider id."""
        config: SmtpSettings = self.config
        mail = build_email(message, config)
        try:
            await aiosmtplib.send(
                mail,
                hostname=config.host,
                port=config.port,
                username=config.username or None,
                password=config.password or None,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            return DeliveryReport(self.name, False, error=str(exc)[:500], permanent=all(c >= 500 for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            return DeliveryReport(self.name, False, error=f"{exc.code} {exc.message}"[:500], permanent=exc.code >= 500)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return DeliveryReport(self.name, False, error=f"{type(exc).__name__}: {exc}"[:500])
        return DeliveryReport(self.name, True, provider_id=(mail["Message-ID"] or "").strip("<>"))
