"""Channels as each program configured them, and the in-console inbox."""

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program


class ChannelConfig(Table, tablename="channel_config"):
    """A program's settings of one channel (``settings``: JSON, its secret fields sealed under
    the master key ``key_fp``); ``enabled`` says whether messages go out through it."""

    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    channel = Varchar(length=64)
    enabled = Boolean(default=True)
    settings = Text(default="{}")
    key_fp = Varchar(length=16, null=True, default=None)
    rate_per_minute = Integer(null=True, default=None)  # messages a minute through it (None: no limit)
    updated_at = Timestamptz()


class InboxMessage(Table, tablename="inbox_message"):
    """A message the ``inbox`` channel delivered: staff read it in the console, an app shows it
    to the member (``read_at`` once read)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    message_id = Varchar(length=100, default="")
    subject = Varchar(length=200, default="")
    body = Text()
    link = Varchar(length=500, default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class MessageTemplate(Table, tablename="message_template"):
    """A message's words (sandboxed Jinja2) in Chinese and English, and per SMS or WeChat channel
    the provider's approved template with the values it takes (``providers``: JSON)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    code = Varchar(length=64)
    name = Varchar(length=100)
    purpose = Varchar(length=10)
    subject_zh = Varchar(length=200, default="")
    body_zh = Text()
    subject_en = Varchar(length=200, default="")
    body_en = Text(default="")
    providers = Text(default="{}")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Notification(Table, tablename="notification"):
    """One message to one member through one channel, written with the change that caused it
    (``dedup_key``, unique in the program, makes a cause send once) and delivered after: ``state``
    ``pending`` (due at ``next_attempt_at``: retries, quiet hours, rate limits), ``sending``
    (claimed), ``sent`` (the provider took it: ``provider_id``), ``failed`` (``last_error``) or
    ``suppressed`` (``reason``: no consent, a frequency cap, no address…). A message queued with
    many others (a campaign) keeps the cause's values (``template_values``, JSON) and an empty
    ``language``, subject and body until it is rendered, when it is sent."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    channel = Varchar(length=64)
    purpose = Varchar(length=10)
    template_code = Varchar(length=64)
    dedup_key = Varchar(length=200)
    cause = Varchar(length=100, default="")
    language = Varchar(length=2)
    subject = Varchar(length=200, default="")
    body = Text()
    provider = Text(default="{}")
    template_values = Text(default="")
    link = Varchar(length=500, default="")
    state = Varchar(length=10, default="pending")
    reason = Varchar(length=40, default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    claimed_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    provider_id = Varchar(length=200, default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    opened_at = Timestamptz(null=True, default=None)  # first seen, where the channel tells (tracking)
    clicked_at = Timestamptz(null=True, default=None)  # its link first followed
