"""Channels as each program configured them, and the in-console inbox."""

from piccolo.columns import UUID, Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
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
