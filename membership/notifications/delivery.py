"""Delivering messages to members: an outbox written with the cause, sent after it commits.

:func:`enqueue` runs inside the cause's use case: it renders the template for the member and
writes one ``notification`` row per channel in the same transaction, so a cause that rolls back
sends nothing and a committed one always has its messages. ``dedup_key`` (unique in the program for
each member and channel) makes a cause send once however often it runs (a retried request, a job
run twice).

The ``deliver-messages`` job (every minute; :func:`deliver_soon` right after a commit) works
through what is due, as the event outbox does (:mod:`membership.outbox.service`): it claims
messages for a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and, for each, as of ``now``:

1. the member must still be active, and have consented to the purpose on that channel
   (:func:`membership.notifications.policy.consented`): else ``suppressed`` (``no_consent``);
2. quiet hours in the member's zone: the message waits (``pending``) until they end;
3. the channel's rate (``rate_per_minute``): beyond it the message waits a few seconds;
4. frequency caps on marketing (a day, a week; messages sent or being sent count): else
   ``suppressed`` (``frequency_cap``);
5. the member's address on that channel, opened from its ciphertext: none is ``suppressed``
   (``no_address``); a marketing e-mail carries a one-step opt-out (``List-Unsubscribe``) and a
   marketing SMS ends with 回T退订;
6. the channel sends: ``sent`` with the provider's id; a permanent failure is ``failed``; another
   is tried again after 30 s, 1, 2, 4… minutes, ``failed`` after :data:`MAX_ATTEMPTS`.

Delivery is at least once: a crash after the provider took a message and before ``sent`` was
written sends it again with the same ``Message.id`` (the notification's id), which a webhook
receiver, an SMS provider (``OutId``/``SessionContext``) or the inbox de-duplicates on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

from membership.db import after_commit, execute, fetch, fetch_one, is_sqlite, new_id, rows_table, use_case
from membership.db.citus import is_citus
from membership.db.sql import json_column
from membership.errors import MemberNotFound, MembershipError, Reason, ValidationError
from membership.jobs.interface import Job, JobResult, Progress
from membership.members import personal_data as pd
from membership.notifications import policy as rules
from membership.notifications.config import channel_class, channel_settings
from membership.notifications.interface import DeliveryReport, Message
from membership.notifications.optout import unsubscribe_url
from membership.notifications.templates import (
    Rendered,
    TemplateTerms,
    member_context,
    render,
    template_row,
    terms_of,
)
from membership.notifications.tracking import email_html, open_pixel, tracked_link
from membership.org.service import ProgramConfig, get_program

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_PAUSE = dt.timedelta(seconds=30)
LONGEST_PAUSE = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=2)
RATE_PAUSE = dt.timedelta(seconds=10)
BATCH = 200
SENDING_AT_ONCE = 16
SMS_OPT_OUT = "回T退订"
_background: set[asyncio.Task[Any]] = set()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- queueing -----------------------------------------------------------------------------------


@use_case
async def enqueue(
    program_id: uuid.UUID,
    member_id: uuid.UUID,
    template: str,
    channels: list[str],
    values: dict[str, Any],
    dedup_key: str,
    cause: str = "",
    link: str = "",
    now: dt.datetime | None = None,
) -> list[uuid.UUID]:
    """Inside the cause's transaction: queue ``template`` for the member through each of
    ``channels`` (set up and on for the program), rendered in the member's language with
    ``values``. Returns the ids of the messages queued now (none when ``dedup_key`` was queued
    before). A template that needs a value ``values`` lacks is refused (422)."""
    program = await get_program(program_id)
    member = await fetch_one(
        "SELECT id, program_id, member_no, name, tier, preferences, status FROM member WHERE id = {}", member_id
    )
    if member is None or str(member["program_id"]) != str(program.id):
        raise MemberNotFound(member_id=member_id)
    terms = terms_of(await template_row(program.id, template))
    preferences = json_column(member["preferences"]) or {}
    language = preferences.get("language") if preferences.get("language") in ("zh", "en") else program.language
    rendered = render(terms, language, member_context(member, program.name, {"link": link, **values}))
    queued = []
    now = now or _now()
    for channel in dict.fromkeys(channels):
        configured = await channel_settings(program.id, channel)
        if configured is None or not configured.enabled:
            raise ValidationError(
                field="channels",
                reason=Reason(f"channel {channel!r} is not set up", f"通知渠道 {channel!r} 尚未设置或已停用"),
            )
        provider = rendered.providers.get(channel, {})
        rows = await fetch(
            "INSERT INTO notification (id, program_id, member_id, channel, purpose, template_code, dedup_key, cause,"
            " language, subject, body, provider, link, state, attempts, next_attempt_at, created_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'pending', 0, {}, {})"
            " ON CONFLICT (program_id, dedup_key) DO NOTHING RETURNING id",
            new_id(),
            program.id,
            member_id,
            channel,
            terms.purpose,
            template,
            f"{member_id}:{dedup_key}:{channel}"[:200],
            cause[:100],
            rendered.language,
            rendered.subject[:200],
            rendered.body,
            json.dumps(provider, ensure_ascii=False),
            link[:500],
            now,
            now,
        )
        queued += [uuid.UUID(str(row["id"])) for row in rows]
    return queued


async def enqueue_many(
    program: ProgramConfig,
    template: str,
    channels: list[str],
    messages: list[tuple[uuid.UUID, str, dict[str, Any]]],
    cause: str = "",
    now: dt.datetime | None = None,
    link: str = "",
) -> None:
    """Inside the cause's transaction: queue ``template`` through each of ``channels`` for many
    members at once — ``messages`` are (member id, ``dedup_key``, values) — with one statement per
    channel (a ``dedup_key`` queued before is not queued again). The messages keep their values
    and are rendered when they are sent (in the member's language then), so queueing a campaign
    writes rows and renders nothing; the template is checked here with the first one's values.
    ``link``: where the messages lead (tracked when sent: :mod:`membership.notifications.tracking`)."""
    if not messages:
        return
    table, args = rows_table(
        [("member_id", "uuid"), ("dedup", "text"), ("template_values", "text")],
        [(str(member), f"{member}:{key}", _json(values)) for member, key, values in messages],
    )
    source = f"SELECT t.member_id, t.dedup, t.template_values FROM {table}"
    await _queue(program, template, channels, source, args, messages[0][2], cause, now, link)


async def enqueue_selected(
    program: ProgramConfig,
    template: str,
    channels: list[str],
    members: str,
    args: list[Any],
    dedup_key: str,
    cause: str = "",
    now: dt.datetime | None = None,
    link: str = "",
) -> None:
    """As :func:`enqueue_many`, for the members a query finds — ``members``, a ``SELECT`` of one
    ``member_id`` column with its ``args`` — all with the same ``dedup_key`` and no values: a
    campaign to a whole audience queues its messages without a row in Python."""
    member = "s.member_id" if is_sqlite() else "CAST(s.member_id AS TEXT)"
    source = (
        f"SELECT s.member_id, {member} || ':' || CAST({{}} AS TEXT) AS dedup,"
        f" CAST({{}} AS TEXT) AS template_values FROM ({members}) AS s"
    )
    await _queue(program, template, channels, source, [dedup_key, "{}", *args], {}, cause, now, link)


async def _queue(
    program: ProgramConfig,
    template: str,
    channels: list[str],
    source: str,
    args: list[Any],
    sample: dict[str, Any],
    cause: str,
    now: dt.datetime | None,
    link: str,
) -> None:
    """Queue ``template`` through ``channels`` for the rows of ``source`` (``member_id``,
    ``dedup``, ``template_values``) that are the program's members, unrendered."""
    terms = terms_of(await template_row(program.id, template))
    nobody = {"name": "", "member_no": "", "tier": ""}
    render(terms, program.language, member_context(nobody, program.name, {**sample, "link": link}))  # lacks one: 422
    now = now or _now()
    wanted = list(dict.fromkeys(channels))
    for channel in wanted:
        configured = await channel_settings(program.id, channel)
        if configured is None or not configured.enabled:
            raise ValidationError(
                field="channels",
                reason=Reason(f"channel {channel!r} is not set up", f"通知渠道 {channel!r} 尚未设置或已停用"),
            )
    if not wanted:
        return
    each = " UNION ALL ".join("SELECT CAST({} AS TEXT) AS channel" for _ in wanted)  # a row per member and channel
    await execute(
        "INSERT INTO notification (id, program_id, member_id, channel, purpose, template_code, dedup_key, cause,"
        " language, subject, body, provider, template_values, link, state, attempts, next_attempt_at, created_at)"
        " SELECT uuid7(), m.program_id, m.id, c.channel, {}, {}, substr(s.dedup || ':' || c.channel, 1, 200), {},"
        f" '', '', '', {{}}, s.template_values, {{}}, 'pending', 0, {{}}, {{}} FROM ({source}) AS s"
        f" JOIN member m ON m.id = s.member_id CROSS JOIN ({each}) AS c"
        " WHERE m.program_id = {} ON CONFLICT (program_id, dedup_key) DO NOTHING",
        terms.purpose,
        template,
        cause[:100],
        "{}",
        link[:500],
        now,
        now,
        *args,
        *wanted,
        program.id,
    )


def _json(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False) if values else "{}"


def deliver_soon(ids: list[uuid.UUID]) -> None:
    """Try these messages in the background once the cause committed (at once when called after
    it; never when it rolls back): the ``deliver-messages`` job retries what this does not send."""
    if ids:
        after_commit(lambda: _start(list(ids)))


def _start(ids: list[uuid.UUID]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(_deliver_quietly(ids))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _deliver_quietly(ids: list[uuid.UUID]) -> None:
    try:
        await deliver(ids=ids)
    except Exception:  # the job retries; a background failure must not surface anywhere
        log.exception("delivering messages failed; the deliver-messages job will retry")


async def wait_for_background() -> None:
    """Let the background deliveries of this process finish (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


# -- delivering ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one claimed message."""

    id: Any
    state: str  # sent, failed, suppressed, pending (again)
    next_attempt_at: dt.datetime | None = None
    reason: str = ""
    error: str = ""
    provider_id: str = ""
    counted: bool = True  # an attempt (False: it only waited for quiet hours or the rate)
    rendered: dict[str, str] | None = None  # a message queued unrendered: its words as sent


@dataclasses.dataclass(frozen=True)
class Delivered:
    """What one round did: messages sent, suppressed, failed for good, and waiting again."""

    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    waiting: int = 0

    def __add__(self, other: Delivered) -> Delivered:
        return Delivered(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))


@use_case
async def _claim(now: dt.datetime, ids: list[uuid.UUID] | None, limit: int) -> list[dict[str, Any]]:
    only, args = "", []
    if ids:
        only = f" AND id IN ({', '.join('{}' for _ in ids)})"
        args = list(ids)
    # PostgreSQL: two senders skip each other's rows. Citus cannot lock rows of many programs in a
    # read; there the update's own condition (still due, checked again on the locked row) decides
    # which sender has a message, and the other one's update leaves it out.
    skip = "" if is_sqlite() or await is_citus() else " FOR UPDATE SKIP LOCKED"
    due = await fetch(
        f"SELECT id FROM notification WHERE state IN ('pending', 'sending') AND next_attempt_at <= {{}}{only}"
        f" ORDER BY next_attempt_at LIMIT {{}}{skip}",
        now,
        *args,
        limit,
    )
    if not due:
        return []
    chosen = [row["id"] for row in due]
    return await fetch(
        # every program: one round claims the due messages of all programs
        f"UPDATE notification SET state = 'sending', claimed_at = {{}}, next_attempt_at = {{}},"
        f" attempts = attempts + 1 WHERE id IN ({', '.join('{}' for _ in chosen)})"
        " AND state IN ('pending', 'sending') AND next_attempt_at <= {} RETURNING *",
        now,
        now + LEASE,
        *chosen,
        now,
    )


class _Round:
    """One round's shared knowledge: programs, channel settings and rate budgets, members."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.programs: dict[Any, ProgramConfig] = {}
        self.settings: dict[tuple[Any, str], Any] = {}
        self.budgets: dict[tuple[Any, str], int | None] = {}
        self.templates: dict[tuple[Any, str], TemplateTerms] = {}
        self.lock = asyncio.Lock()
        self.loading = asyncio.Lock()

    async def program(self, program_id: Any) -> ProgramConfig:
        if program_id not in self.programs:
            self.programs[program_id] = await get_program(uuid.UUID(str(program_id)))
        return self.programs[program_id]

    async def channel(self, program_id: Any, channel: str) -> Any:
        async with self.loading:  # loaded once per round, however many messages ask at once
            return await self._channel(program_id, channel)

    async def _channel(self, program_id: Any, channel: str) -> Any:
        key = (program_id, channel)
        if key not in self.settings:
            self.settings[key] = await channel_settings(uuid.UUID(str(program_id)), channel, reveal=True)
            rate = await fetch_one(
                "SELECT rate_per_minute FROM channel_config WHERE program_id = {} AND channel = {}", program_id, channel
            )
            limit = rate["rate_per_minute"] if rate else None
            if limit is not None:
                used = await fetch_one(
                    "SELECT COUNT(*) AS n FROM notification WHERE program_id = {} AND channel = {} AND sent_at > {}",
                    program_id,
                    channel,
                    self.now - dt.timedelta(minutes=1),
                )
                limit = max(0, int(limit) - int(used["n"]))
            self.budgets[key] = limit
        return self.settings[key]

    async def render(self, row: dict[str, Any], member: dict[str, Any], program: ProgramConfig, link: str) -> Rendered:
        """A message queued unrendered, rendered for its member with the values it was queued with
        and ``link`` (``{{ link }}``: where it leads, tracked)."""
        key = (row["program_id"], row["template_code"])
        if key not in self.templates:
            self.templates[key] = terms_of(await template_row(program.id, row["template_code"]))
        preferences = json_column(member["preferences"]) or {}
        language = preferences.get("language") if preferences.get("language") in ("zh", "en") else program.language
        values = {**json.loads(row["template_values"] or "{}"), "link": link}
        return render(self.templates[key], language, member_context(member, program.name, values))

    async def take_rate(self, program_id: Any, channel: str) -> bool:
        """One message's share of the channel's rate this minute."""
        async with self.lock:
            budget = self.budgets.get((program_id, channel))
            if budget is None:
                return True
            if budget <= 0:
                return False
            self.budgets[(program_id, channel)] = budget - 1
            return True


async def _marketing_over_cap(row: dict[str, Any], policy: rules.NotificationPolicy, now: dt.datetime) -> bool:
    """Whether the member had their marketing messages for the day or the week: those sent, and
    those being sent now that were queued first (of two claimed at once, the earlier goes)."""
    found = await fetch_one(
        "SELECT COALESCE(SUM(CASE WHEN COALESCE(sent_at, claimed_at) > {} THEN 1 ELSE 0 END), 0) AS day,"
        " COUNT(*) AS week FROM notification WHERE member_id = {} AND purpose = 'marketing'"
        " AND (state = 'sent' OR (state = 'sending' AND claimed_at > {} AND id < {}))"
        " AND COALESCE(sent_at, claimed_at) > {}",
        now - dt.timedelta(days=1),
        row["member_id"],
        now - LEASE,
        row["id"],
        now - dt.timedelta(days=7),
    )
    return int(found["day"]) >= policy.marketing_per_day or int(found["week"]) >= policy.marketing_per_week


async def _address(member: dict[str, Any], kind: str) -> str:
    """The member's address of ``kind``, opened from its ciphertext ("" when there is none)."""
    if kind == "member":
        return str(member["id"])
    if kind == "endpoint":
        return str(member["member_no"])
    if kind in ("phone", "email"):
        token = member[f"{kind}_enc"]
        return pd.member_cipher(member).open(kind, token) if token else ""
    card = await fetch_one(
        "SELECT value_enc FROM credential WHERE member_id = {} AND kind = {} AND state = 'active'"
        " ORDER BY issued_at DESC LIMIT 1",
        member["id"],
        kind,
    )
    return pd.member_cipher(member).open(f"credential:{kind}", card["value_enc"]) if card else ""


async def _one(row: dict[str, Any], rnd: _Round) -> Outcome:
    now = rnd.now
    program = await rnd.program(row["program_id"])
    policy = rules.policy_of(program)
    member = await fetch_one("SELECT * FROM member WHERE id = {}", row["member_id"])
    configured = await rnd.channel(row["program_id"], row["channel"])
    if configured is None or not configured.enabled:
        return Outcome(row["id"], "suppressed", reason="channel_off")
    cls = channel_class(row["channel"])
    if member is None or member["status"] != "active":
        return Outcome(row["id"], "suppressed", reason="member_gone")
    consents = json_column(member["consents"]) or {}
    if not rules.consented(consents, row["purpose"], cls.address):
        return Outcome(row["id"], "suppressed", reason="no_consent")
    zone = rules.member_zone(json_column(member["preferences"]) or {}, program)
    quiet = rules.quiet_until(policy, row["purpose"], zone, now)
    if quiet is not None:
        return Outcome(row["id"], "pending", next_attempt_at=quiet, reason="quiet_hours", counted=False)
    if row["purpose"] == "marketing" and await _marketing_over_cap(row, policy, now):
        return Outcome(row["id"], "suppressed", reason="frequency_cap")
    to = await _address(member, cls.address)
    if not to:
        return Outcome(row["id"], "suppressed", reason="no_address")
    link = row["link"]
    if link and policy.public_url:
        link = tracked_link(policy.public_url, row["id"])
    rendered: dict[str, str] | None = None
    if not row["language"]:  # queued with many others: rendered now, for this member
        try:
            words = await rnd.render(row, member, program, link)
        except (MembershipError, ValueError) as exc:  # the template is gone or lacks a value
            text = exc.detail("en") if isinstance(exc, MembershipError) else str(exc)
            return Outcome(row["id"], "failed", error=f"template: {text}"[:1000])
        rendered = {
            "language": words.language,
            "subject": words.subject[:200],
            "body": words.body,
            "provider": json.dumps(words.providers.get(row["channel"], {}), ensure_ascii=False),
        }
        row = {**row, **rendered}
    unsubscribe = ""
    body = row["body"]
    if row["purpose"] == "marketing" and cls.address == "email":
        unsubscribe = unsubscribe_url(policy.public_url, member["id"], "marketing", cls.address)
        if not unsubscribe:
            return Outcome(row["id"], "suppressed", reason="no_unsubscribe_address")
    if row["purpose"] == "marketing" and cls.address == "phone" and SMS_OPT_OUT not in body:
        body = f"{body} {SMS_OPT_OUT}"
    page = ""
    if row["purpose"] == "marketing" and cls.address == "email" and policy.public_url:
        page = email_html(body, open_pixel(policy.public_url, row["id"]))
    if not await rnd.take_rate(row["program_id"], row["channel"]):
        return Outcome(row["id"], "pending", next_attempt_at=now + RATE_PAUSE, reason="rate_limit", counted=False)
    provider = json_column(row["provider"]) or {}
    message = Message(
        to,
        body,
        row["subject"],
        id=str(row["id"]),
        template=provider.get("template", ""),
        params=provider.get("params", {}),
        html=page,
        link=link,
        unsubscribe=unsubscribe,
        purpose=row["purpose"],
    )
    try:
        report = await cls(configured.settings).send(message)
    except Exception as exc:  # a channel that raises is a failed attempt, never a stopped round
        report = DeliveryReport(row["channel"], False, error=f"{type(exc).__name__}: {exc}"[:1000])
    if report.delivered:
        return Outcome(row["id"], "sent", provider_id=report.provider_id[:200], rendered=rendered)
    if report.permanent or row["attempts"] >= MAX_ATTEMPTS:
        return Outcome(row["id"], "failed", error=report.error, rendered=rendered)
    pause = min(FIRST_PAUSE * 2 ** (row["attempts"] - 1), LONGEST_PAUSE)
    return Outcome(row["id"], "pending", next_attempt_at=now + pause, error=report.error, rendered=rendered)


@use_case
async def _record(claimed: list[dict[str, Any]], outcomes: list[Outcome], now: dt.datetime) -> None:
    for row, o in zip(claimed, outcomes, strict=True):
        if o.rendered is not None:
            await execute(
                "UPDATE notification SET language = {}, subject = {}, body = {}, provider = {}"
                " WHERE program_id = {} AND id = {}",
                *o.rendered.values(),
                row["program_id"],
                o.id,
            )
        await execute(
            "UPDATE notification SET state = {}, reason = {}, last_error = {}, provider_id = {},"
            " next_attempt_at = {}, sent_at = {}, attempts = attempts - {} WHERE program_id = {} AND id = {}",
            o.state,
            o.reason,
            o.error,
            o.provider_id,
            o.next_attempt_at or now,
            now if o.state == "sent" else None,
            0 if o.counted else 1,
            row["program_id"],
            o.id,
        )


async def deliver(now: dt.datetime | None = None, ids: list[uuid.UUID] | None = None, limit: int = BATCH) -> Delivered:
    """One round: claim what is due (of ``ids`` when given), decide and send each (at most
    :data:`SENDING_AT_ONCE` at a time), record the outcomes."""
    now = now or _now()
    claimed = await _claim(now, ids, limit)
    if not claimed:
        return Delivered()
    rnd = _Round(now)
    gate = asyncio.Semaphore(SENDING_AT_ONCE)

    async def guarded(row: dict[str, Any]) -> Outcome:
        async with gate:
            try:
                return await _one(row, rnd)
            except Exception as exc:  # e.g. a template or key problem: recorded, tried again later
                log.exception("message %s could not be delivered", row["id"])
                pause = min(FIRST_PAUSE * 2 ** (row["attempts"] - 1), LONGEST_PAUSE)
                state = "failed" if row["attempts"] >= MAX_ATTEMPTS else "pending"
                return Outcome(row["id"], state, next_attempt_at=now + pause, error=f"{type(exc).__name__}: {exc}")

    outcomes = await asyncio.gather(*(guarded(row) for row in claimed))
    await _record(claimed, list(outcomes), now)
    return Delivered(
        sent=sum(o.state == "sent" for o in outcomes),
        suppressed=sum(o.state == "suppressed" for o in outcomes),
        failed=sum(o.state == "failed" for o in outcomes),
        waiting=sum(o.state == "pending" for o in outcomes),
    )


async def deliver_all(now: dt.datetime | None = None) -> Delivered:
    """Rounds until nothing due is left (what waits for later stays)."""
    total = Delivered()
    while True:
        done = await deliver(now)
        total = total + done
        if done == Delivered() or done.waiting == sum(dataclasses.astuple(done)):
            return total


class DeliverMessages(Job):
    """As of T: messages due by T; quiet hours, caps and rates are judged at T."""

    name = "deliver-messages"
    description = "Send queued messages to members: consent, quiet hours, caps, rates, retries (消息发送)"
    schedule = "* * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        done = await deliver_all(now)
        progress(done.sent, done.sent)
        return JobResult(
            done.sent,
            f"发送 {done.sent}，未发 {done.suppressed}，失败 {done.failed}，稍后再试 {done.waiting}"
            f" / {done.sent} sent, {done.suppressed} suppressed, {done.failed} failed, {done.waiting} waiting",
        )


KEPT = dt.timedelta(days=90)


@use_case
async def purge_messages(now: dt.datetime) -> tuple[int, int]:
    """Forget messages done (sent, failed, suppressed) more than :data:`KEPT` before ``now``, and
    every message and inbox message of erased members (their words name them): how many of each."""
    old = await fetch(
        # every program: a retention purge by date
        "DELETE FROM notification WHERE state IN ('sent', 'failed', 'suppressed') AND created_at < {} RETURNING id",
        now - KEPT,
    )
    erased = "SELECT id FROM member WHERE status = 'erased'"
    # every program: an erasure sweep over all programs' erased members
    gone = await fetch(f"DELETE FROM notification WHERE member_id IN ({erased}) RETURNING id")
    # every program: an erasure sweep over all programs' erased members
    inbox = await fetch(f"DELETE FROM inbox_message WHERE member_id IN ({erased}) RETURNING id")
    return len(old) + len(gone), len(inbox)


class PurgeMessages(Job):
    """As of T: messages done before T − 90 days; erased members' messages and inbox."""

    name = "purge-messages"
    description = "Forget old messages, and erased members' messages and inbox (消息清理)"
    schedule = "55 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        messages, inbox = await purge_messages(now)
        progress(messages, messages)
        return JobResult(
            messages,
            f"清理消息 {messages} 条、站内信 {inbox} 条 / {messages} messages and {inbox} inbox messages forgotten",
        )


async def member_messages(member_id: uuid.UUID, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the messages queued for a member, newest first, with their state."""
    from membership.db import fetch_page

    return await fetch_page(
        "SELECT id, channel, purpose, template_code, cause, language, subject, body, state, reason, attempts,"
        " last_error, provider_id, created_at, sent_at, next_attempt_at, COUNT(*) OVER () AS listed"
        " FROM notification WHERE member_id = {} ORDER BY created_at DESC, id DESC",
        member_id,
        page=page,
        page_size=page_size,
    )
