"""Satisfaction surveys (满意度调查): NPS (0–10) and CSAT (1–5), asked after a purchase or a closed
ticket, answered through a signed link.

A survey says what to ask (in Chinese and English), after what (``purchase``: the
``purchase.recorded`` event reaches :func:`after_purchase` through the outbox, as any plugin's
listener; ``ticket``: closing a ticket calls :func:`invite` in the closing transaction), how long
after (``delay_minutes``), how often (``sample_pct``: a fixed hash of survey and occasion, so a
repeated event decides the same) and through which channels and message template. Each invitation
is a ``survey_send`` row (one per survey and occasion) and a message queued through the delivery
outbox (:mod:`membership.notifications.delivery`: consent, quiet hours and frequency caps apply),
due when the delay is over. The message carries a link ``/s/{token}``: the token names the
invitation and is signed with a key derived from the master key, so it cannot be made up; the
answer page (:mod:`membership.care.answer`) records one score and an optional comment, once,
before the link expires.

Results count answers in SQL (promoters 9–10, passives 7–8, detractors 0–6 for NPS; scores 4–5
are "satisfied" for CSAT) by store, by tier (the member's when invited) or by week (the local
Monday of the answer); NPS (% promoters − % detractors) and the CSAT average are exact fractions
of those integers, shown rounded (:class:`Figures`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import hashlib
import hmac
import json
import re
import uuid
from fractions import Fraction
from typing import Annotated, Any, Literal

import msgspec

from membership.audit import service as audit
from membership.care.errors import SurveyExists, SurveyInUse, SurveyNotFound
from membership.db import fetch, fetch_one, fetch_page, new_id, use_case
from membership.errors import Reason, ValidationError
from membership.events import Event
from membership.members import personal_data as pd
from membership.notifications import delivery
from membership.notifications.config import channel_class, channel_settings
from membership.notifications.policy import policy_of
from membership.notifications.templates import TemplateTerms, save_template
from membership.org import program_plugins
from membership.org.service import ProgramConfig, get_program

PLUGIN = "membership.builtin.surveys"
INVITE_TEMPLATE = "survey-invite"
SCALES = {"nps": (0, 10), "csat": (1, 5)}
GROUPS = ("store", "tier", "week")
COMMENT_MAX = 1000
CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=CODE.pattern)]
ChannelName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

INVITE = TemplateTerms(
    name="满意度调查邀请",
    purpose="marketing",
    subject_zh="邀请您为{{ program.name }}打分",
    body_zh="{{ member.name }}，感谢您的光临！{{ question_zh }} 请点此打分：{{ link }}",
    subject_en="How did {{ program.name }} do?",
    body_en="{{ member.name }}, thank you for your visit! {{ question_en }} Rate us here: {{ link }}",
)


class SurveyTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a survey asks and when: ``kind`` ``nps`` (0–10) or ``csat`` (1–5); ``send_after``
    ``purchase`` or ``ticket`` (closed); ``delay_minutes`` after it; ``sample_pct`` of the
    occasions; through ``channels`` with the message ``template`` (``survey-invite`` is made
    for the program when missing); the link answers for ``valid_days``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Literal["nps", "csat"]
    send_after: Literal["purchase", "ticket"] = "purchase"
    question_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    question_en: Annotated[str, msgspec.Meta(max_length=300)] = ""
    template: Code = INVITE_TEMPLATE
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=8)] = msgspec.field(
        default_factory=lambda: ["inbox"]
    )
    delay_minutes: Annotated[int, msgspec.Meta(ge=0, le=43_200)] = 0
    sample_pct: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7
    active: bool = True


def terms_of(row: dict[str, Any]) -> SurveyTerms:
    """A stored survey's terms."""
    channels = json.loads(row["channels"]) if isinstance(row["channels"], str) else row["channels"]
    return SurveyTerms(
        name=row["name"],
        kind=row["kind"],
        send_after=row["send_after"],
        question_zh=row["question_zh"],
        question_en=row["question_en"],
        template=row["template_code"],
        channels=list(channels),
        delay_minutes=int(row["delay_minutes"]),
        sample_pct=int(row["sample_pct"]),
        valid_days=int(row["valid_days"]),
        active=bool(row["active"]),
    )


# -- definitions --------------------------------------------------------------------------------


async def survey_row(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """The survey's row; ``SurveyNotFound`` otherwise."""
    row = await fetch_one("SELECT * FROM survey WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise SurveyNotFound(code=code)
    return row


async def list_surveys(program_id: uuid.UUID, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the program's surveys by code, each with its invitations and answers so far."""
    return await fetch_page(
        "SELECT s.*, (SELECT COUNT(*) FROM survey_send d WHERE d.program_id = s.program_id AND d.survey_id = s.id)"
        " AS invited,"
        " (SELECT COUNT(*) FROM survey_send d WHERE d.program_id = s.program_id AND d.survey_id = s.id"
        " AND d.answered_at IS NOT NULL) AS answered,"
        " COUNT(*) OVER () AS listed FROM survey s WHERE s.program_id = {} ORDER BY s.code",
        program_id,
        page=page,
        page_size=page_size,
    )


async def _check(program: ProgramConfig, terms: SurveyTerms, actor: str) -> None:
    """Its channels are set up and on, and a channel that leaves the console (SMS, e-mail, WeChat)
    has the program's public address to link to; its template exists (the invitation template is
    made)."""
    for channel in terms.channels:
        configured = await channel_settings(program.id, channel)
        if configured is None or not configured.enabled:
            raise ValidationError(
                field="channels",
                reason=Reason(f"channel {channel!r} is not set up", f"通知渠道“{channel}”尚未设置或已停用"),
            )
        if channel_class(channel).address != "member" and not policy_of(program).public_url:
            raise ValidationError(
                field="channels",
                reason=Reason(
                    f"channel {channel!r} needs the program's public address (notification policy public_url)",
                    f"通过“{channel}”发送需要先在通知设置中填写会员可访问的网址（public_url）",
                ),
            )
    found = await fetch_one(
        "SELECT id FROM message_template WHERE program_id = {} AND code = {}", program.id, terms.template
    )
    if found is None:
        if terms.template != INVITE_TEMPLATE:
            raise ValidationError(
                field="template",
                reason=Reason(f"no message template {terms.template!r}", f"没有消息模板“{terms.template}”"),
            )
        await save_template(program.id, INVITE_TEMPLATE, INVITE, actor, new=True)


@use_case
async def save_survey(program_id: uuid.UUID, code: str, terms: SurveyTerms, actor: str, new: bool) -> dict[str, Any]:
    """Add (``new``) or change a survey, checked; audited. An active survey sent after purchases
    turns the survey listener (``membership.builtin.surveys``) on for the program."""
    program = await get_program(program_id)
    exists = await fetch_one("SELECT id FROM survey WHERE program_id = {} AND code = {}", program_id, code)
    if new and exists:
        raise SurveyExists(code=code)
    if not new and not exists:
        raise SurveyNotFound(code=code)
    await _check(program, terms, actor)
    values = [
        terms.name,
        terms.kind,
        terms.send_after,
        terms.question_zh,
        terms.question_en,
        terms.template,
        json.dumps(terms.channels),
        terms.delay_minutes,
        terms.sample_pct,
        terms.valid_days,
        terms.active,
    ]
    now = dt.datetime.now(dt.UTC)
    if new:
        await fetch(
            "INSERT INTO survey (id, program_id, code, name, kind, send_after, question_zh, question_en, template_code,"
            " channels, delay_minutes, sample_pct, valid_days, active, created_at, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            new_id(),
            program_id,
            code,
            *values,
            now,
            now,
        )
    else:
        await fetch(
            "UPDATE survey SET name = {}, kind = {}, send_after = {}, question_zh = {}, question_en = {},"
            " template_code = {}, channels = {}, delay_minutes = {}, sample_pct = {}, valid_days = {}, active = {},"
            " updated_at = {} WHERE program_id = {} AND id = {}",
            *values,
            now,
            program_id,
            exists["id"],
        )
    if terms.active and terms.send_after == "purchase" and not program_plugins.enabled(program, PLUGIN):
        await program_plugins.set_program_plugin(program_id, PLUGIN, enabled=True, actor=actor)
    await audit.record(actor, "survey.save", "survey", code, program_id, msgspec.to_builtins(terms))
    return await survey_row(program_id, code)


@use_case
async def delete_survey(program_id: uuid.UUID, code: str, actor: str) -> None:
    """Remove a survey nobody was invited to yet (one with invitations keeps its answers: switch
    it off instead); audited."""
    row = await survey_row(program_id, code)
    sent = await fetch_one("SELECT COUNT(*) AS n FROM survey_send WHERE survey_id = {}", row["id"])
    if int(sent["n"]):
        raise SurveyInUse(code=code, invited=int(sent["n"]))
    await fetch("DELETE FROM survey WHERE program_id = {} AND id = {}", program_id, row["id"])
    await audit.record(actor, "survey.delete", "survey", code, program_id, {})


# -- invitations --------------------------------------------------------------------------------


def _mac(payload: str, vault: pd.Vault | None = None) -> str:
    return (vault or pd.vault()).lookup_hash("survey-answer", payload)[:32]


def answer_token(send_id: uuid.UUID) -> str:
    """The signed token of an invitation's answer link."""
    encoded = base64.urlsafe_b64encode(send_id.bytes).decode().rstrip("=")
    return f"{encoded}.{_mac(str(send_id))}"


def read_token(token: str) -> uuid.UUID | None:
    """The invitation a genuine token names, else None."""
    encoded, _, mac = token.partition(".")
    try:
        send_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    if not any(hmac.compare_digest(mac, _mac(str(send_id), vault)) for vault in pd.vaults()):
        return None
    return send_id


def sampled(survey_id: Any, occasion: str, sample_pct: int) -> bool:
    """Whether the occasion is in the survey's sample: the same answer however often asked."""
    digest = hashlib.sha256(f"{survey_id}:{occasion}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < sample_pct


async def invite(
    program: ProgramConfig,
    survey: dict[str, Any],
    member_id: uuid.UUID,
    occasion: str,
    store_id: uuid.UUID | None,
    at: dt.datetime,
) -> list[uuid.UUID]:
    """Inside a use case: invite the member to answer ``survey`` about ``occasion`` (once per
    survey and occasion, when the occasion is in the sample and the member is active), the
    message due ``delay_minutes`` after ``at``. Returns the messages queued now."""
    terms = terms_of(survey)
    if not sampled(survey["id"], occasion, terms.sample_pct):
        return []
    member = await fetch_one("SELECT tier, status FROM member WHERE id = {}", member_id)
    if member is None or member["status"] != "active":
        return []
    due = at + dt.timedelta(minutes=terms.delay_minutes)
    rows = await fetch(
        "INSERT INTO survey_send (id, program_id, survey_id, member_id, occasion, store_id, tier, due_at, expires_at,"
        " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (survey_id, occasion, program_id) DO NOTHING RETURNING id",
        new_id(),
        program.id,
        survey["id"],
        member_id,
        occasion[:100],
        store_id,
        member["tier"] or "",
        due,
        due + dt.timedelta(days=terms.valid_days),
        dt.datetime.now(dt.UTC),
    )
    if not rows:
        return []
    send_id = uuid.UUID(str(rows[0]["id"]))
    link = f"{policy_of(program).public_url.rstrip('/')}/s/{answer_token(send_id)}"
    values = {"question_zh": terms.question_zh, "question_en": terms.question_en or terms.question_zh, "link": link}
    queued = await delivery.enqueue(
        program.id,
        member_id,
        terms.template,
        terms.channels,
        values,
        dedup_key=f"survey:{send_id}",
        cause=f"survey:{survey['code']}",
        link=link,
    )
    if queued and due > dt.datetime.now(dt.UTC):
        await fetch(
            f"UPDATE notification SET next_attempt_at = {{}} WHERE program_id = {{}}"
            f" AND id IN ({', '.join('{}' for _ in queued)})",
            due,
            program.id,
            *queued,
        )
    return queued


async def _surveys_after(program_id: uuid.UUID, send_after: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT * FROM survey WHERE program_id = {} AND send_after = {} AND active = {} ORDER BY code",
        program_id,
        send_after,
        True,
    )


@use_case
async def _invite_after_purchase(event: Event) -> list[uuid.UUID]:
    program = await get_program(event.program_id)
    sale_id, store_id = event.data.get("sale_id"), event.data.get("store_id")
    queued: list[uuid.UUID] = []
    for survey in await _surveys_after(program.id, "purchase"):
        store = uuid.UUID(str(store_id)) if store_id else None
        queued += await invite(program, survey, event.member_id, f"sale:{sale_id}", store, event.occurred_at)
    return queued


async def after_purchase(event: Event) -> None:
    """A ``purchase.recorded`` event: invite the member to the program's active purchase surveys
    (a repeated delivery of the event invites nobody twice); a message due now is tried at once."""
    if event.member_id is None:
        return
    queued = await _invite_after_purchase(event)
    if queued:
        delivery.deliver_soon(queued)


async def after_ticket(program: ProgramConfig, ticket: dict[str, Any], at: dt.datetime) -> list[uuid.UUID]:
    """Inside the use case closing ``ticket``: invite its member to the program's active ticket
    surveys."""
    queued: list[uuid.UUID] = []
    store_id = uuid.UUID(str(ticket["store_id"])) if ticket["store_id"] else None
    for survey in await _surveys_after(program.id, "ticket"):
        member_id = uuid.UUID(str(ticket["member_id"]))
        queued += await invite(program, survey, member_id, f"ticket:{ticket['id']}", store_id, at)
    return queued


# -- answers ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Invitation:
    """What the answer page shows: the survey's question and scale, and where the invitation
    stands (``open``, ``answered``, ``expired``)."""

    send_id: uuid.UUID
    kind: str
    program_name: str
    question_zh: str
    question_en: str
    state: str
    score: int | None

    @property
    def scale(self) -> range:
        """The scores one may give."""
        low, high = SCALES[self.kind]
        return range(low, high + 1)


async def invitation(token: str, now: dt.datetime | None = None) -> Invitation | None:
    """The invitation a genuine token names (None for a made-up or unknown token)."""
    send_id = read_token(token)
    if send_id is None:
        return None
    row = await fetch_one(
        "SELECT d.id, d.score, d.answered_at, d.expires_at, s.kind, s.question_zh, s.question_en, p.name AS program"
        " FROM survey_send d JOIN survey s ON s.program_id = d.program_id AND s.id = d.survey_id JOIN program p ON"
        " p.id = d.program_id"
        " WHERE d.id = {}",
        send_id,
    )
    if row is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    state = "answered" if row["answered_at"] is not None else "expired" if row["expires_at"] <= now else "open"
    score = None if row["score"] is None else int(row["score"])
    question_en = row["question_en"] or row["question_zh"]
    return Invitation(send_id, row["kind"], row["program"], row["question_zh"], question_en, state, score)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@use_case
async def answer(token: str, score: Any, comment: str = "", now: dt.datetime | None = None) -> str:
    """Record the answer to the invitation ``token`` names, once: ``recorded``, or ``answered``
    (it was answered before: the first answer stays), ``expired``, ``invalid`` (no such
    invitation). A score off the survey's scale or a long comment is refused (422)."""
    now = now or dt.datetime.now(dt.UTC)
    found = await invitation(token, now)
    if found is None:
        return "invalid"
    if found.state != "open":
        return found.state
    low, high = SCALES[found.kind]
    try:
        value = int(str(score).strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationError(
            field="score", reason=Reason(f"a whole number from {low} to {high}", f"请选择 {low} 到 {high} 之间的分数")
        )
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            field="comment", reason=Reason(f"at most {COMMENT_MAX} characters", f"最多 {COMMENT_MAX} 个字")
        )
    send = await fetch_one("SELECT program_id FROM survey_send WHERE id = {}", found.send_id)
    program = await get_program(uuid.UUID(str(send["program_id"])))
    rows = await fetch(
        "UPDATE survey_send SET score = {}, comment = {}, answered_at = {}, week_start = {}"
        " WHERE program_id = {} AND id = {} AND answered_at IS NULL AND expires_at > {} RETURNING id",
        value,
        comment.strip(),
        now,
        _week_start(now.astimezone(program.zone).date()),
        program.id,
        found.send_id,
        now,
    )
    return "recorded" if rows else "answered"


# -- results ------------------------------------------------------------------------------------

ONE_DECIMAL = decimal.Decimal("0.1")
TWO_DECIMALS = decimal.Decimal("0.01")


def _rounded(value: Fraction, places: decimal.Decimal) -> decimal.Decimal:
    exact = decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator)
    return exact.quantize(places, rounding=decimal.ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class Figures:
    """Counted answers of one group: all, promoters (9–10), detractors (0–6), satisfied (4–5) and
    the sum of scores; NPS and CSAT as exact fractions, shown rounded."""

    group: Any
    answers: int
    promoters: int
    detractors: int
    satisfied: int
    score_sum: int

    @property
    def passives(self) -> int:
        """NPS answers of 7 or 8."""
        return self.answers - self.promoters - self.detractors

    @property
    def nps(self) -> Fraction | None:
        """% promoters − % detractors (−100 to 100)."""
        return Fraction(100 * (self.promoters - self.detractors), self.answers) if self.answers else None

    @property
    def csat(self) -> Fraction | None:
        """The average score."""
        return Fraction(self.score_sum, self.answers) if self.answers else None

    @property
    def satisfied_pct(self) -> Fraction | None:
        """% of answers of 4 or 5."""
        return Fraction(100 * self.satisfied, self.answers) if self.answers else None

    def shown(self) -> dict[str, decimal.Decimal | None]:
        """NPS and satisfied % to one decimal, the CSAT average to two."""
        return {
            "nps": None if self.nps is None else _rounded(self.nps, ONE_DECIMAL),
            "csat": None if self.csat is None else _rounded(self.csat, TWO_DECIMALS),
            "satisfied_pct": None if self.satisfied_pct is None else _rounded(self.satisfied_pct, ONE_DECIMAL),
        }


GROUP_SQL = {"store": "d.store_id", "tier": "d.tier", "week": "d.week_start", "survey": "s.code"}


async def figures(
    program_id: uuid.UUID,
    by: str,
    code: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    store_id: uuid.UUID | None = None,
) -> list[Figures]:
    """Answers counted in SQL per group (``by``: store, tier, week, survey; ``""``: one group),
    of one survey (``code``) or all the program's, answered in ``[since, until)``, at a store."""
    group = GROUP_SQL[by] if by else "NULL"
    where, args = ["d.program_id = {}", "d.answered_at IS NOT NULL"], [program_id]
    for clause, value in (("s.code = {}", code), ("d.answered_at >= {}", since), ("d.answered_at < {}", until)):
        if value is not None:
            where.append(clause)
            args.append(value)
    if store_id is not None:
        where.append("d.store_id = {}")
        args.append(store_id)
    rows = await fetch(
        f"SELECT {group} AS grp, COUNT(*) AS answers,"
        " SUM(CASE WHEN d.score >= 9 THEN 1 ELSE 0 END) AS promoters,"
        " SUM(CASE WHEN d.score <= 6 THEN 1 ELSE 0 END) AS detractors,"
        " SUM(CASE WHEN d.score >= 4 THEN 1 ELSE 0 END) AS satisfied,"
        " CAST(SUM(d.score) AS BIGINT) AS score_sum"
        " FROM survey_send d JOIN survey s ON s.program_id = d.program_id AND s.id = d.survey_id"
        f" WHERE {' AND '.join(where)}" + (f" GROUP BY {group} ORDER BY {group}" if by else ""),
        *args,
    )
    return [
        Figures(
            r["grp"],
            int(r["answers"]),
            int(r["promoters"]),
            int(r["detractors"]),
            int(r["satisfied"]),
            int(r["score_sum"]),
        )
        for r in rows
        if int(r["answers"])  # all of none: no figures
    ]


async def invited(program_id: uuid.UUID, code: str) -> int:
    """How many members the survey invited."""
    row = await fetch_one(
        "SELECT COUNT(*) AS n FROM survey_send d JOIN survey s ON s.program_id = d.program_id AND s.id = d.survey_id"
        " WHERE s.program_id = {} AND s.code = {}",
        program_id,
        code,
    )
    return int(row["n"])


async def recent_answers(program_id: uuid.UUID, code: str, page: int, page_size: int) -> tuple[list[dict], int]:
    """One page of a survey's answers, newest first: score, comment, store, tier and member."""
    return await fetch_page(
        "SELECT d.score, d.comment, d.answered_at, d.tier, d.store_id, st.name AS store, m.member_no, m.name,"
        " d.member_id, COUNT(*) OVER () AS listed FROM survey_send d JOIN survey s ON s.program_id = d.program_id"
        " AND s.id = d.survey_id"
        " JOIN member m ON m.program_id = d.program_id AND m.id = d.member_id LEFT JOIN store st ON st.id = d.store_id"
        " WHERE s.program_id = {} AND s.code = {} AND d.answered_at IS NOT NULL"
        " ORDER BY d.answered_at DESC, d.id DESC",
        program_id,
        code,
        page=page,
        page_size=page_size,
    )
