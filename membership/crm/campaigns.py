"""Campaigns (营销活动): to whom (a segment, or every active member), when (once at a time —
定时发送 —, on a cron schedule, or when something happens to a member), and what (a message
through channels, a coupon, points), with an optional control group, and their results.

**When.** ``once``: at ``at``, each member of the audience once. ``recurring``: at each slot of
``cron`` (the program's zone), each member once a slot (a missed slot is not caught up: the
latest one is served). ``trigger``: members as something happens to them, each once per
occasion: ``birthday`` (``days`` before it; lunar birthdays in this year's solar date),
``dormant`` (dormant for ``days``), ``first_purchase`` (within the last ``days``),
``tier_up`` / ``tier_down`` (a tier change in the last ``days``), ``points_expiring``,
``coupon_expiring`` (expiring ``days`` from now), ``paid_expiring`` (a paid membership ending
within ``days``).

**How it runs.** The ``run-campaigns`` job (every ten minutes) serves each active campaign's due
members chunk by chunk, a transaction each, and claims them (``campaign_member``: one row per
campaign, member and occasion, unique) with their group: the control group is a fixed hash of
campaign and member (``control_pct`` in a hundred, :func:`in_control`, computed in SQL too). For the
target group it queues the messages in the delivery outbox (in the same transaction; they are
rendered when the ``deliver-messages`` job sends them, within the minute), issues the coupons and
adds the points (each keyed by the occasion). A ``once`` or ``recurring`` campaign's audience is
served in member-id order with set-based statements only (claim, group and messages for a chunk of
members without a row of it in Python): a million members take seconds, not hours. A triggered
campaign's members, each with the values of their occasion, are found first. A run again — a
retry, the job's next turn — finds them claimed and does nothing: nobody gets a campaign twice for
one occasion. A chunk's commit does not wait for the disk (a job chunk): a crash loses at most the
last chunks, claims and messages together, and the next run serves them.

**Results.** Per group (target, control): members, converted (bought within
``conversion_days`` after being targeted) and revenue; for the target group, messages by state,
and how many were opened and clicked where the channel tells
(:mod:`membership.notifications.tracking`: e-mail opens, inbox reads, followed links).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from cronsim import CronSim, CronSimError

from membership.audit import service as audit
from membership.coupons import service as coupons
from membership.crm import rules
from membership.crm.lunar import lunar_birthday_in_year
from membership.crm.segments import members_where, segment_where
from membership.db import fetch, fetch_one, fetch_page, is_sqlite, job_chunk, new_id, rows_table, use_case
from membership.db.buckets import percent_bucket, percent_bucket_sql
from membership.db.sql import json_column
from membership.errors import Conflict, NotFound, Reason, ValidationError
from membership.jobs.interface import Job, JobResult, Progress
from membership.ledger.service import adjust_points
from membership.notifications import delivery
from membership.org.service import ProgramConfig, get_program, list_programs

CHUNK = 2000
Trigger = Literal[
    "birthday",
    "dormant",
    "first_purchase",
    "tier_up",
    "tier_down",
    "points_expiring",
    "coupon_expiring",
    "paid_expiring",
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    message_en = "No campaign {code!r} in this program."
    message_zh = "本方案没有营销活动“{code}”。"


class CampaignExists(Conflict):
    code = "campaign_exists"
    message_en = "The program already has a campaign {code!r}."
    message_zh = "本方案已有营销活动“{code}”。"


class When(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``once`` at ``at``; ``recurring`` on ``cron`` (five fields, the program's zone); ``trigger``
    on ``event`` with ``days`` (see the module's docstring)."""

    kind: Literal["once", "recurring", "trigger"]
    at: dt.datetime | None = None
    cron: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    event: Trigger | None = None
    days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0


class CampaignTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A campaign: its audience (``segment``; none: every active member), when, and what it
    gives — a message (``template`` through ``channels``, leading to ``link``: a page whose
    visits count as clicks), a ``coupon`` (a template's code), ``points`` — with ``control_pct``
    of the audience held back to compare with, and purchases within ``conversion_days`` counted
    as converted."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    segment: Code | None = None
    when: When
    template: Code | None = None
    channels: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=10)
    ] = []
    coupon: Code | None = None
    points: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    control_pct: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0
    conversion_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    link: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https://[^\s]+)?$")] = ""
    active: bool = True


def check_terms(terms: CampaignTerms) -> None:
    """Refuse a campaign that gives nothing, a message without channels, or a schedule that
    lacks its time, cron or event."""

    def refuse(field: str, en: str, zh: str) -> ValidationError:
        return ValidationError(field=field, reason=Reason(en, zh))

    if not (terms.template or terms.coupon or terms.points):
        raise refuse("template", "a message, a coupon or points", "请至少选择发送消息、发券或送积分之一")
    if terms.template and not terms.channels:
        raise refuse("channels", "the channels to send the message through", "请选择发送消息的渠道")
    when = terms.when
    if when.kind == "once" and (when.at is None or when.at.tzinfo is None):
        raise refuse("when.at", "a time with its zone", "请填写带时区的发送时间")
    if when.kind == "recurring":
        try:
            CronSim(when.cron or "", dt.datetime(2026, 1, 1))
        except CronSimError:
            raise refuse(
                "when.cron", "five cron fields, e.g. 0 10 * * 1", "须为五段 cron 表达式，如 0 10 * * 1"
            ) from None
    if when.kind == "trigger" and when.event is None:
        raise refuse("when.event", "the event that starts it", "请选择触发事件")


def parse_terms(raw: dict[str, Any]) -> CampaignTerms:
    """``raw`` as checked terms; ``ValidationError`` names the field."""
    try:
        terms = msgspec.convert(raw, CampaignTerms)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "campaign", reason=text) from None
    check_terms(terms)
    return terms


async def campaign_row(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """The campaign's row; ``CampaignNotFound`` otherwise."""
    row = await fetch_one("SELECT * FROM campaign WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise CampaignNotFound(code=code)
    return row


def terms_of(row: dict[str, Any]) -> CampaignTerms:
    """A stored campaign's terms."""
    return msgspec.convert(json_column(row["terms"]), CampaignTerms)


@use_case
async def save_campaign(program_id: uuid.UUID, code: str, terms: CampaignTerms, actor: str, new: bool) -> dict:
    """Add (``new``) or change a campaign; its segment, template, channels and coupon must be the
    program's. Audited."""
    check_terms(terms)
    program = await get_program(program_id)
    if terms.segment:
        await segment_where(program, terms.segment, dt.datetime.now(dt.UTC))  # SegmentNotFound
    if terms.template:
        from membership.notifications.config import channel_settings
        from membership.notifications.templates import template_row

        await template_row(program_id, terms.template)
        for channel in terms.channels:
            if await channel_settings(program_id, channel) is None:
                raise ValidationError(
                    field="channels",
                    reason=Reason(f"channel {channel!r} is not set up", f"通知渠道 {channel!r} 尚未设置"),
                )
    if terms.coupon:
        await coupons.get_template(program_id, terms.coupon)
    exists = await fetch_one("SELECT id FROM campaign WHERE program_id = {} AND code = {}", program_id, code)
    if new and exists:
        raise CampaignExists(code=code)
    if not new and not exists:
        raise CampaignNotFound(code=code)
    stored = json.dumps(msgspec.to_builtins(terms), ensure_ascii=False)
    now = dt.datetime.now(dt.UTC)
    if new:
        await fetch(
            "INSERT INTO campaign (id, program_id, code, terms, active, created_at, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {})",
            new_id(),
            program_id,
            code,
            stored,
            terms.active,
            now,
            now,
        )
    else:
        await fetch(
            "UPDATE campaign SET terms = {}, active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
            stored,
            terms.active,
            now,
            program_id,
            exists["id"],
        )
    await audit.record(actor, "campaign.save", "campaign", code, program_id, msgspec.to_builtins(terms))
    return await campaign_row(program_id, code)


async def list_campaigns(program_id: uuid.UUID, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the program's campaigns by code."""
    return await fetch_page(
        "SELECT *, COUNT(*) OVER () AS listed FROM campaign WHERE program_id = {} ORDER BY code",
        program_id,
        page=page,
        page_size=page_size,
    )


# -- who is due ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Due:
    """A member due for an occasion of a campaign, with the values its message may use."""

    member_id: uuid.UUID
    occasion: str
    values: dict[str, Any]


def _local(program: ProgramConfig, now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(program.time_zone))


def _slot(program: ProgramConfig, cron: str, now: dt.datetime) -> dt.datetime:
    """The latest slot of ``cron`` (the program's zone) at or before ``now``, in UTC."""
    zone = ZoneInfo(program.time_zone)
    local = now.astimezone(zone).replace(tzinfo=None) + dt.timedelta(minutes=1)
    return next(CronSim(cron, local, reverse=True)).replace(tzinfo=zone).astimezone(dt.UTC)


def _date(value: dt.date) -> Any:
    return value.isoformat() if is_sqlite() else value


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


async def _audience(program: ProgramConfig, terms: CampaignTerms, now: dt.datetime) -> tuple[str, list[Any]]:
    if terms.segment:
        return await segment_where(program, terms.segment, now)
    return await members_where(program, rules.EVERYONE, now)


async def _birthdays(program: ProgramConfig, where: str, args: list[Any], now: dt.datetime, days: int) -> list[Due]:
    target = _local(program, now).date() + dt.timedelta(days=days)
    rows = await fetch(
        f"SELECT m.id, m.birthday, m.birthday_calendar FROM member m WHERE {where} AND m.birthday IS NOT NULL", *args
    )
    due = []
    for row in rows:
        born = _day(row["birthday"])
        if row["birthday_calendar"] == "lunar":
            day = lunar_birthday_in_year(born, target.year)
        else:
            try:
                day = born.replace(year=target.year)
            except ValueError:  # 29 February in a common year: the 28th
                day = born.replace(year=target.year, day=28)
        if day == target:
            due.append(Due(uuid.UUID(str(row["id"])), f"birthday:{target.year}", {"birthday": target.isoformat()}))
    return due


async def occasions_due(program: ProgramConfig, campaign: dict[str, Any], now: dt.datetime) -> list[Due]:
    """The members a triggered campaign's event happened to by now, with their occasion (claimed
    ones too: claiming is what makes a member's occasion once)."""
    terms = terms_of(campaign)
    when = terms.when
    where, args = await _audience(program, terms, now)
    event, days = when.event, when.days
    since, ahead = now - dt.timedelta(days=max(days, 1)), now + dt.timedelta(days=days)
    if event == "birthday":
        return await _birthdays(program, where, args, now, days)
    if event == "dormant":
        sql = (
            "SELECT m.id, s.stage_since FROM member m JOIN member_score s ON s.program_id = m.program_id AND"
            f" s.member_id = m.id WHERE {where}"
            " AND s.stage = 'dormant' AND s.stage_since <= {} AND s.program_id = {}"
        )
        rows = await fetch(sql, *args, now - dt.timedelta(days=days), program.id)
        return [Due(uuid.UUID(str(r["id"])), f"dormant:{str(r['stage_since'])[:10]}", {"days": days}) for r in rows]
    if event == "first_purchase":
        sql = (
            f"SELECT m.id FROM member m WHERE {where} AND m.id IN (SELECT member_id FROM sale WHERE program_id = {{}}"
            " AND status <> 'refunded' GROUP BY member_id HAVING MIN(occurred_at) > {} AND MIN(occurred_at) <= {})"
        )
        rows = await fetch(sql, *args, program.id, since, now)
        return [Due(uuid.UUID(str(r["id"])), "first_purchase", {}) for r in rows]
    if event in ("tier_up", "tier_down"):
        reason = "upgrade" if event == "tier_up" else "downgrade"
        sql = (
            "SELECT m.id, t.id AS change, t.to_tier FROM member m JOIN tier_change t ON t.program_id = m.program_id"
            " AND t.member_id = m.id"
            f" WHERE {where} AND t.reason = {{}} AND t.created_at > {{}} AND t.created_at <= {{}}"
        )
        rows = await fetch(sql, *args, reason, since, now)
        return [Due(uuid.UUID(str(r["id"])), f"tier:{r['change']}", {"tier": r["to_tier"] or ""}) for r in rows]
    if event == "points_expiring":
        sql = (
            f"SELECT m.id, SUM(l.remaining) AS points, MIN(l.expires_at) AS first FROM member m"
            f" JOIN ledger_account a ON a.program_id = m.program_id AND a.member_id = m.id AND a.kind = 'points'"
            f" JOIN points_lot l ON l.program_id = a.program_id AND l.account_id = a.id WHERE {where} AND l.remaining"
            f" > 0 AND l.expires_at > {{}}"
            " AND l.expires_at <= {} GROUP BY m.id"
        )
        rows = await fetch(sql, *args, now, ahead)
        found = []
        for r in rows:
            first = r["first"] if isinstance(r["first"], dt.datetime) else dt.datetime.fromisoformat(str(r["first"]))
            day = _local(program, first).date().isoformat()
            found.append(Due(uuid.UUID(str(r["id"])), f"points:{day}", {"points": int(r["points"]), "expires_on": day}))
        return found
    if event == "coupon_expiring":
        day = _local(program, now).date() + dt.timedelta(days=days)
        sql = (
            "SELECT m.id, COUNT(*) AS n FROM member m JOIN coupon c ON c.program_id = m.program_id AND c.member_id ="
            f" m.id WHERE {where}"
            " AND c.state = 'issued' AND c.valid_until = {} GROUP BY m.id"
        )
        rows = await fetch(sql, *args, _date(day))
        return [
            Due(uuid.UUID(str(r["id"])), f"coupons:{day}", {"coupons": int(r["n"]), "valid_until": day.isoformat()})
            for r in rows
        ]
    sql = (  # paid_expiring
        "SELECT m.id, p.id AS paid, p.ends_at FROM member m JOIN paid_membership p ON p.program_id = m.program_id"
        " AND p.member_id = m.id"
        f" WHERE {where} AND p.status = 'active' AND p.ends_at > {{}} AND p.ends_at <= {{}}"
    )
    rows = await fetch(sql, *args, now, ahead)
    return [Due(uuid.UUID(str(r["id"])), f"paid:{r['paid']}", {"ends_on": str(r["ends_at"])[:10]}) for r in rows]


def in_control(campaign_id: Any, member_id: uuid.UUID | str, control_pct: int) -> bool:
    """Whether the member is held back (a fixed hash: the same answer every run, and in SQL:
    :func:`_control_sql`)."""
    return percent_bucket(f"{campaign_id}:{member_id}") < control_pct


def _control_sql(member: str) -> str:
    """SQL: the group of ``member`` (an id column) in the campaign bound by the first ``{}``, with
    the control share bound by the second, as :func:`in_control` decides it."""
    text = member if is_sqlite() else f"CAST({member} AS TEXT)"
    bucket = percent_bucket_sql(f"CAST({{}} AS TEXT) || ':' || {text}", is_sqlite())
    return f"CASE WHEN {bucket} < {{}} THEN 'control' ELSE 'target' END"


async def _give(
    program: ProgramConfig, campaign: dict[str, Any], terms: CampaignTerms, targets: list[Due], now: dt.datetime
) -> None:
    """The campaign's coupon (set-based, per occasion) and points (per member, keyed by the
    occasion) for members just claimed in the target group."""
    cause = f"campaign:{campaign['code']}"[:100]
    if terms.points:
        for due in targets:
            key = f"campaign:{campaign['code']}:{due.occasion}:{due.member_id}"
            await adjust_points(due.member_id, terms.points, terms.name, cause, idempotency_key=key)
    if terms.coupon and targets:
        template = await fetch_one(
            "SELECT * FROM coupon_template WHERE program_id = {} AND code = {}", program.id, terms.coupon
        )
        if template is not None and template["active"]:
            by_occasion: dict[str, list[uuid.UUID]] = {}
            for due in targets:
                by_occasion.setdefault(due.occasion, []).append(due.member_id)
            for occasion, member_ids in by_occasion.items():
                await coupons.issue_rows(program, template, member_ids, f"{cause}:{occasion}"[:100], cause, now)


@job_chunk
async def _serve(
    program: ProgramConfig, campaign: dict[str, Any], chunk: list[Due], now: dt.datetime
) -> tuple[int, int]:
    """Claim a chunk of due members and give the target group what the campaign gives, in one
    transaction: (targets, controls) newly served."""
    terms = terms_of(campaign)
    until = now + dt.timedelta(days=terms.conversion_days)
    ids = [str(d.member_id) for d in chunk]
    rows = [
        (member, d.occasion, "control" if in_control(campaign["id"], member, terms.control_pct) else "target")
        for member, d in zip(ids, chunk, strict=True)
    ]
    table, args = rows_table([("member_id", "uuid"), ("occasion", "text"), ("grp", "text")], rows)
    member = "t.member_id" if is_sqlite() else "CAST(t.member_id AS uuid)"
    claimed = await fetch(
        "INSERT INTO campaign_member (campaign_id, member_id, occasion, grp, targeted_at, converts_until)"
        f" SELECT {{}}, {member}, t.occasion, t.grp, {{}}, {{}} FROM {table} WHERE true"
        " ON CONFLICT (campaign_id, member_id, occasion) DO NOTHING RETURNING member_id, occasion, grp",
        campaign["id"],
        now,
        until,
        *args,
    )
    served = {(str(r["member_id"]), r["occasion"]) for r in claimed if r["grp"] == "target"}
    targets = [d for member, d in zip(ids, chunk, strict=True) if (member, d.occasion) in served]
    cause = f"campaign:{campaign['code']}"[:100]
    if terms.template and targets:
        messages = [(d.member_id, f"campaign:{campaign['code']}:{d.occasion}", d.values) for d in targets]
        await delivery.enqueue_many(program, terms.template, terms.channels, messages, cause, now, terms.link)
    await _give(program, campaign, terms, targets, now)
    return len(targets), len(claimed) - len(targets)


@job_chunk
async def _serve_audience(
    program: ProgramConfig,
    campaign: dict[str, Any],
    audience: tuple[str, list[Any]],
    occasion: str,
    after: Any,
    now: dt.datetime,
) -> tuple[int, int, Any]:
    """Serve the next :data:`CHUNK` members of a ``once`` or ``recurring`` campaign's audience
    (``where``, ``args``) in id order after ``after``, in one transaction and without a row in
    Python: claim them with their group, queue the target group's messages, then its coupons and
    points. (targets, controls, the chunk's last id or None when the audience is done)."""
    terms = terms_of(campaign)
    where, args = audience
    after_sql, after_args = ("", []) if after is None else (" AND m.id > {}", [after])
    edge = await fetch_one(
        f"SELECT m.id FROM member m WHERE {where}{after_sql} ORDER BY m.id LIMIT 1 OFFSET {CHUNK - 1}",
        *args,
        *after_args,
    )
    upto_sql, upto_args = ("", []) if edge is None else (" AND m.id <= {}", [edge["id"]])
    claimed = await fetch(
        "INSERT INTO campaign_member (campaign_id, member_id, occasion, grp, targeted_at, converts_until)"
        f" SELECT {{}}, m.id, {{}}, {_control_sql('m.id')}, {{}}, {{}} FROM member m WHERE {where}{after_sql}{upto_sql}"
        " ON CONFLICT (campaign_id, member_id, occasion) DO NOTHING RETURNING grp",
        campaign["id"],
        occasion,
        str(campaign["id"]),
        terms.control_pct,
        now,
        now + dt.timedelta(days=terms.conversion_days),
        *args,
        *after_args,
        *upto_args,
    )
    targets = sum(row["grp"] == "target" for row in claimed)
    if targets:
        range_sql = after_sql.replace("m.id", "cm.member_id") + upto_sql.replace("m.id", "cm.member_id")
        served = (
            "SELECT cm.member_id FROM campaign_member cm WHERE cm.campaign_id = {} AND cm.occasion = {}"
            f" AND cm.grp = 'target' AND cm.targeted_at = {{}}{range_sql}"
        )
        served_args = [campaign["id"], occasion, now, *after_args, *upto_args]
        cause = f"campaign:{campaign['code']}"[:100]
        if terms.template:
            key = f"campaign:{campaign['code']}:{occasion}"
            template, channels, link = terms.template, terms.channels, terms.link
            await delivery.enqueue_selected(program, template, channels, served, served_args, key, cause, now, link)
        if terms.coupon or terms.points:
            ids = [uuid.UUID(str(row["member_id"])) for row in await fetch(served, *served_args)]
            await _give(program, campaign, terms, [Due(member_id, occasion, {}) for member_id in ids], now)
    return targets, len(claimed) - targets, None if edge is None else edge["id"]


async def run_campaign(program: ProgramConfig, campaign: dict[str, Any], now: dt.datetime) -> tuple[int, int]:
    """Serve the campaign's members due now (chunk by chunk): (targets, controls) newly served.
    A ``once`` campaign is served once, a ``recurring`` one once a slot."""
    terms = terms_of(campaign)
    when = terms.when
    last = campaign["last_run_at"]
    if isinstance(last, str):
        last = dt.datetime.fromisoformat(last)
    served = held = 0
    if when.kind == "trigger":
        due = await occasions_due(program, campaign, now)
        for start in range(0, len(due), CHUNK):
            targets, controls = await _serve(program, campaign, due[start : start + CHUNK], now)
            served, held = served + targets, held + controls
    else:
        if when.kind == "once":
            if when.at is None or when.at > now or (last is not None and last >= when.at):
                return 0, 0
            occasion = "once"
        else:
            slot = _slot(program, when.cron or "", now)
            if last is not None and last >= slot:
                return 0, 0
            occasion = f"slot:{slot:%Y-%m-%dT%H:%MZ}"
        audience = await _audience(program, terms, now)
        after = None
        while True:
            targets, controls, after = await _serve_audience(program, campaign, audience, occasion, after, now)
            served, held = served + targets, held + controls
            if after is None:
                break
    await fetch(
        "UPDATE campaign SET last_run_at = {} WHERE program_id = {} AND id = {}", now, program.id, campaign["id"]
    )
    return served, held


async def run_campaigns(now: dt.datetime, progress: Progress) -> JobResult:
    """The job: every active campaign of every program."""
    served = held = 0
    for program in await list_programs():
        for campaign in await fetch("SELECT * FROM campaign WHERE program_id = {} AND active = {}", program.id, True):
            targets, controls = await run_campaign(program, campaign, now)
            served, held = served + targets, held + controls
            progress(served, served)
    return JobResult(
        served,
        f"营销活动触达 {served} 位会员（对照组 {held} 位） / campaigns reached {served} members ({held} held back)",
    )


class RunCampaigns(Job):
    """As of T: campaigns due at T (a ``once`` campaign whose time is at or before T, the cron
    slot of T, members an event happened to by T)."""

    name = "run-campaigns"
    description = "Serve due campaigns: messages, coupons, points; control groups (营销活动)"
    schedule = "*/10 * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await run_campaigns(now, progress)


async def results(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """Per group: members, converted and revenue; the target group's messages by state."""
    campaign = await campaign_row(program_id, code)
    rows = await fetch(
        "SELECT cm.grp, COUNT(DISTINCT cm.member_id) AS members, COUNT(DISTINCT s.member_id) AS converted,"
        " CAST(COALESCE(SUM(s.total - s.refunded_amount), 0) AS BIGINT) AS revenue FROM campaign_member cm"
        " LEFT JOIN sale s ON s.member_id = cm.member_id AND s.program_id = {} AND s.occurred_at > cm.targeted_at"
        " AND s.occurred_at <= cm.converts_until AND s.status <> 'refunded' WHERE cm.campaign_id = {}"
        " GROUP BY cm.grp",
        program_id,
        campaign["id"],
    )
    groups = {g: {"members": 0, "converted": 0, "revenue": 0} for g in ("target", "control")}
    for row in rows:
        groups[row["grp"]] = {
            "members": int(row["members"]),
            "converted": int(row["converted"]),
            "revenue": int(row["revenue"]),
        }
    messages = await fetch(
        "SELECT state, COUNT(*) AS n, COUNT(opened_at) AS opened, COUNT(clicked_at) AS clicked FROM notification"
        " WHERE program_id = {} AND cause = {} GROUP BY state",
        program_id,
        f"campaign:{code}"[:100],
    )
    return {
        "groups": groups,
        "messages": {row["state"]: int(row["n"]) for row in messages},
        "opened": sum(int(row["opened"]) for row in messages),
        "clicked": sum(int(row["clicked"]) for row in messages),
    }
