"""Built-in notification channels (e-mail over SMTP, signed webhooks, the in-console inbox) and
the job that delivers queued messages through them."""

from __future__ import annotations

from membership.hookspecs import hookimpl
from membership.jobs.interface import Job
from membership.notifications.delivery import DeliverMessages, PurgeMessages
from membership.notifications.inbox import Inbox
from membership.notifications.interface import Channel
from membership.notifications.smtp import SmtpEmail
from membership.notifications.webhook import Webhook


@hookimpl(trylast=True)
def membership_register_channels() -> list[type[Channel]]:
    """``email`` (SMTP), ``webhook`` (Standard Webhooks) and ``inbox`` (站内信)."""
    return [SmtpEmail, Webhook, Inbox]


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``deliver-messages`` (queued messages to members, every minute) and ``purge-messages``."""
    return [DeliverMessages, PurgeMessages]
