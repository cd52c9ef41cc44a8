"""The in-console inbox (站内信): the built-in ``inbox`` channel keeps each message for the
member, where staff read it in the console and an app shows it to the member. Small shops without
an SMS account use it; tests read what a campaign sent from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from membership.db import fetch, fetch_one, fetch_page, new_id, use_case
from membership.notifications.interface import Channel, DeliveryReport, Message
from membership.notifications.tracking import mark_opened


@use_case
async def _keep(member_id: uuid.UUID, message: Message) -> str:
    member = await fetch_one("SELECT program_id FROM member WHERE id = {} AND status = 'active'", member_id)
    if member is None:
        return ""
    rows = await fetch(
        "INSERT INTO inbox_message (id, program_id, member_id, message_id, subject, body, link, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (member_id, message_id, program_id) WHERE message_id"
        " <> ''"
        " DO NOTHING RETURNING id",
        new_id(),
        member["program_id"],
        member_id,
        message.id[:100],
        message.subject[:200],
        message.body,
        message.link[:500],
        dt.datetime.now(dt.UTC),
    )
    return str(rows[0]["id"]) if rows else message.id


class Inbox(Channel):
    """Keep the message in the member's inbox."""

    name = "inbox"
    label_zh = "站内信"
    label_en = "Inbox"
    address = "member"

    async def send(self, message: Message) -> DeliveryReport:
        """``message.to`` is the member's id; a repeat of the same message id is kept once."""
        try:
            member_id = uuid.UUID(message.to)
        except ValueError:
            return DeliveryReport(self.name, False, error=f"not a member id: {message.to!r}", permanent=True)
        kept = await _keep(member_id, message)
        if not kept:
            return DeliveryReport(self.name, False, error="no active member", permanent=True)
        return DeliveryReport(self.name, True, provider_id=kept)


async def member_inbox(member_id: uuid.UUID, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the member's inbox, newest first, and how many messages it holds."""
    return await fetch_page(
        "SELECT id, subject, body, link, created_at, read_at, COUNT(*) OVER () AS listed FROM inbox_message"
        " WHERE member_id = {} ORDER BY created_at DESC, id DESC",
        member_id,
        page=page,
        page_size=page_size,
    )


@use_case
async def mark_read(program_id: uuid.UUID, member_id: uuid.UUID, message_id: uuid.UUID) -> bool:
    """Mark one of the member's messages read (the app showed it), and the message it delivered
    opened; False when it is not theirs."""
    now = dt.datetime.now(dt.UTC)
    rows = await fetch(
        "UPDATE inbox_message SET read_at = COALESCE(read_at, {}) WHERE program_id = {} AND id = {} AND member_id = {}"
        " RETURNING message_id",
        now,
        program_id,
        message_id,
        member_id,
    )
    if rows:
        with contextlib.suppress(ValueError):  # a channel test's message delivered nothing queued
            await mark_opened(program_id, uuid.UUID(rows[0]["message_id"]))
    return bool(rows)
