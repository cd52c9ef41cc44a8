"""Entry at the gates (入园核验): who may come in, decided and counted.

A gate sends what the visitor showed: the pass's e-card code (``pass_qr``), an ID card
(``id_card``) or a card through its reader (``card_uid`` and the kernel's other kinds). The
answer lets the visitor in, or refuses with a reason a gate shows in Chinese (and English):

1. the credential: an unknown card or ID (``unknown_credential``), a number that cannot be one
   (``invalid_credential``), a blocked or replaced card (``card_blocked``), an e-card code that is
   not the pass's (``code_invalid``), too old — a screenshot (``code_expired``) — or used already
   (``code_used``), a person taken off the pass (``not_on_pass``);
2. the pass: none (``no_pass``), not started (``pass_not_started``), ended (``pass_expired``);
3. the day: a blackout date of the plan (``blackout``);
4. re-entry: an entry of the same person less than the plan's ``reentry_minutes`` ago
   (``reentry_too_soon``), or the plan's ``daily_entries`` used today (``daily_limit``).

Every try is kept (``tourism_entry``) with the gate, the venue, the local day and hour: let-in
entries are what the reports count. A retried request with the same ``Idempotency-Key`` answers
the first decision again and counts once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from membership.plugin import (
    MembershipError,
    ProgramConfig,
    Reason,
    execute,
    fetch,
    fetch_one,
    identify,
    new_id,
    use_case,
)
from membership_tourism import e_card, passes
from membership_tourism.errors import GateClosed
from membership_tourism.gates import get_gate
from membership_tourism.pass_plans import KIND_NAMES, PassPlan, blackout_on, find_plan
from membership_tourism.values import local_day, now


class Decision(msgspec.Struct, kw_only=True):
    """A gate's answer: ``allowed``, or the ``reason`` code of a refusal with ``message`` (Chinese,
    for the gate's screen) and ``message_en``. ``entries_today`` counts the person's entries today
    (this one included); ``daily_entries`` is the plan's limit (0: none). ``name`` is masked."""

    allowed: bool
    reason: str
    message: str
    message_en: str
    entry_id: uuid.UUID
    gate: str
    occurred_at: dt.datetime
    member_id: uuid.UUID | None = None
    member_no: str | None = None
    name: str | None = None
    pass_id: uuid.UUID | None = None
    plan: str | None = None
    plan_name: str | None = None
    pass_kind: str | None = None
    role: str | None = None
    valid_until: dt.datetime | None = None
    entries_today: int = 0
    daily_entries: int = 0
    replayed: bool = False


def masked(name: str | None) -> str | None:
    """A name as a gate's screen shows it: the surname, the rest starred (``张*``, ``欧阳**``)."""
    if not name:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def _clock(moment: dt.datetime, program: ProgramConfig) -> str:
    return moment.astimezone(program.zone).strftime("%H:%M")


def _date(moment: dt.datetime | None, program: ProgramConfig) -> str:
    return moment.astimezone(program.zone).date().isoformat() if moment else ""


WELCOME = Reason("Welcome", "欢迎入园")
FIXED = {
    "unknown_credential": Reason("No member holds this card or ID", "未找到该卡或证件对应的会员"),
    "card_blocked": Reason("This card is blocked, lost or replaced", "该卡已挂失、停用或补换，不能使用"),
    "code_invalid": Reason("Not a valid e-card code", "电子码无效，请打开电子年卡重新出示"),
    "code_expired": Reason(
        "This e-card code has expired (a screenshot?): refresh it", "电子码已过期（截图无效），请刷新后出示"
    ),
    "code_used": Reason("This e-card code was used already: refresh it", "该电子码已使用过，请刷新后出示"),
    "not_on_pass": Reason("No longer on this pass", "已不在该年卡上，请联系持卡人"),
    "no_pass": Reason("No annual or seasonal pass: please buy a ticket", "未办理年卡或季卡，请购票入园"),
}


class _Refused(Exception):
    def __init__(self, reason: str, message: Reason) -> None:
        super().__init__(reason)
        self.reason, self.message = reason, message


def _refuse(reason: str, message: Reason | None = None) -> _Refused:
    return _Refused(reason, message or FIXED[reason])


async def _entry_of(program: ProgramConfig, gate_id: uuid.UUID, request_key: str) -> Decision | None:
    row = await fetch_one(
        "SELECT answer FROM tourism_entry WHERE program_id = {} AND gate_id = {} AND request_key = {}",
        program.id,
        gate_id,
        request_key,
    )
    if row is None or not row["answer"]:
        return None
    return msgspec.structs.replace(msgspec.json.decode(row["answer"], type=Decision), replayed=True)


class _Seen:
    """What the decision learned along the way (for the answer and the entry's row)."""

    def __init__(self) -> None:
        self.member_id: uuid.UUID | None = None
        self.place: dict[str, Any] | None = None
        self.plan: PassPlan | None = None
        self.valid_until: dt.datetime | None = None
        self.qr_step: int | None = None
        self.entries_today = 0


async def _person_by_code(program: ProgramConfig, value: str, at: dt.datetime, seen: _Seen) -> list[dict]:
    scanned = e_card.parse(value)
    person = await passes.person_row(scanned.person_id) if scanned else None
    if scanned is None or person is None or person["program_id"] != program.id:
        raise _refuse("code_invalid")
    seen.member_id = person["member_id"]
    try:
        problem = await e_card.verdict(program, person["holder_id"], person["secret"], scanned, at)
    except MembershipError:  # the holder was erased: the pass's key is gone with their data key
        problem = "code_invalid"
    if problem:
        raise _refuse(problem)
    if person["removed_at"] is not None:
        raise _refuse("not_on_pass")
    seen.qr_step = scanned.step
    await passes.lock_person(program.id, person["id"])
    place = {
        "person_id": person["id"],
        "role": person["role"],
        "pass_id": person["pass_id"],
        "holder_id": person["holder_id"],
        "plan_code": person["plan_code"],
    }
    return [place]


async def _person_by_credential(program: ProgramConfig, kind: str, value: str, seen: _Seen) -> list[dict[str, Any]]:
    try:
        seen.member_id = await identify(program.id, kind, value)
    except MembershipError as exc:
        if exc.code == "unknown_credential_kind":
            raise  # the gate sent a kind nobody registered: an integration error, not a visitor's
        if exc.code in ("credential_blocked", "credential_replaced"):
            raise _refuse("card_blocked") from None
        if exc.code == "validation_error":
            raise _refuse(
                "invalid_credential", Reason(f"Cannot be read: {exc.detail('en')}", f"无法识别：{exc.detail('zh')}")
            ) from None
        raise _refuse("unknown_credential") from None
    return await passes.places_of(program.id, seen.member_id, lock=True)


async def _pass_for(program: ProgramConfig, places: list[dict], at: dt.datetime, seen: _Seen) -> None:
    """The first place whose pass is valid at ``at``; else the refusal that says why none is."""
    coming: list[passes.Term] = []
    ended: list[passes.Term] = []
    for place in places:
        plan = await find_plan(program, place["plan_code"])
        if plan is None:
            continue
        term = await passes.term_at(place["holder_id"], place["plan_code"], at)
        if term.state == "valid":
            seen.place, seen.plan, seen.valid_until = place, plan, term.ends_at
            return
        (coming if term.state == "not_started" else ended if term.state == "expired" else []).append(term)
    if coming:
        day = _date(min(t.starts_at for t in coming if t.starts_at), program)
        raise _refuse("pass_not_started", Reason(f"The pass starts on {day}", f"年卡将于 {day} 生效"))
    if ended:
        day = _date(max(t.ends_at for t in ended if t.ends_at), program)
        raise _refuse("pass_expired", Reason(f"The pass ended on {day}: renew it", f"年卡已于 {day} 到期，请续卡"))
    raise _refuse("no_pass")


async def _rules(program: ProgramConfig, at: dt.datetime, seen: _Seen) -> None:
    """Blackout dates, single-use codes, re-entry and the daily limit."""
    assert seen.place is not None and seen.plan is not None and seen.member_id is not None
    plan, day = seen.plan, local_day(program, at)
    closed = await blackout_on(program.id, plan.code, day.day)
    if closed:
        raise _refuse(
            "blackout",
            Reason(
                f"Passes do not open the gates today ({closed}): please buy a ticket", f"{closed}年卡不可入园，请购票"
            ),
        )
    if seen.qr_step is not None and await fetch_one(
        "SELECT id FROM tourism_entry WHERE person_id = {} AND qr_step = {} AND allowed = {}",
        seen.place["person_id"],
        seen.qr_step,
        True,
    ):
        raise _refuse("code_used")
    counted = await fetch_one(
        "SELECT COUNT(*) AS n, MAX(occurred_at) AS latest FROM tourism_entry WHERE member_id = {} AND day = {}"
        " AND allowed = {}",
        seen.member_id,
        day.day.isoformat(),
        True,
    )
    seen.entries_today = int(counted["n"])
    latest = await fetch_one(
        "SELECT occurred_at FROM tourism_entry WHERE member_id = {} AND allowed = {} AND occurred_at <= {}"
        " ORDER BY occurred_at DESC LIMIT 1",
        seen.member_id,
        True,
        at,
    )
    if plan.reentry_minutes and latest:
        again = latest["occurred_at"] + dt.timedelta(minutes=plan.reentry_minutes)
        if at < again:
            minutes, clock = plan.reentry_minutes, _clock(again, program)
            raise _refuse(
                "reentry_too_soon",
                Reason(
                    f"Entered less than {minutes} minutes ago: again from {clock}",
                    f"{minutes} 分钟内已入园（一卡仅限本人），{clock} 后可再次入园",
                ),
            )
    if plan.daily_entries and seen.entries_today >= plan.daily_entries:
        n = plan.daily_entries
        raise _refuse("daily_limit", Reason(f"All {n} entries of today used", f"今日入园次数已用完（每日限 {n} 次）"))


@use_case
async def admit(
    program: ProgramConfig,
    gate_code: str,
    kind: str,
    value: str,
    at: dt.datetime | None = None,
    request_key: str | None = None,
) -> Decision:
    """Decide whether the visitor who showed ``value`` (a credential of ``kind``) enters through
    the gate ``gate_code`` at ``at`` (default: now), and keep the try. ``GateNotFound`` and
    ``GateClosed`` for a gate that cannot be used; a kind nobody registered is refused as the
    kernel refuses it."""
    gate = await get_gate(program, gate_code)
    if not gate["active"]:
        raise GateClosed(code=gate_code)
    if request_key:
        earlier = await _entry_of(program, gate["id"], request_key)
        if earlier is not None:
            return earlier
    at = at or now()
    seen = _Seen()
    try:
        if kind == e_card.KIND_NAME:
            places = await _person_by_code(program, value, at, seen)
        else:
            places = await _person_by_credential(program, kind, value, seen)
        await _pass_for(program, places, at, seen)
        await _rules(program, at, seen)
        allowed, reason, message = True, "", WELCOME
    except _Refused as refused:
        allowed, reason, message = False, refused.reason, refused.message
    return await _record(program, gate, kind, at, request_key, seen, allowed, reason, message)


async def _record(
    program: ProgramConfig,
    gate: dict[str, Any],
    kind: str,
    at: dt.datetime,
    request_key: str | None,
    seen: _Seen,
    allowed: bool,
    reason: str,
    message: Reason,
) -> Decision:
    member = (
        await fetch_one("SELECT member_no, name FROM member WHERE id = {}", seen.member_id) if seen.member_id else None
    )
    place, plan = seen.place, seen.plan
    decision = Decision(
        allowed=allowed,
        reason=reason,
        message=message.zh,
        message_en=message.en,
        entry_id=new_id(),
        gate=gate["code"],
        occurred_at=at,
        member_id=seen.member_id,
        member_no=member["member_no"] if member else None,
        name=masked(member["name"]) if member else None,
        pass_id=place["pass_id"] if place else None,
        plan=plan.code if plan else None,
        plan_name=plan.name if plan else None,
        pass_kind=KIND_NAMES[plan.kind][0] if plan else None,
        role=place["role"] if place else None,
        valid_until=seen.valid_until,
        entries_today=seen.entries_today + (1 if allowed else 0),
        daily_entries=plan.daily_entries if plan else 0,
    )
    day = local_day(program, at)
    await execute(
        "INSERT INTO tourism_entry (id, program_id, gate_id, store_id, pass_id, person_id, member_id, kind, allowed,"
        " reason, qr_step, occurred_at, day, hour, day_start, day_end, request_key, answer)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        decision.entry_id,
        program.id,
        gate["id"],
        gate["store_id"],
        decision.pass_id,
        place["person_id"] if place else None,
        seen.member_id,
        kind[:16],
        allowed,
        reason,
        seen.qr_step if allowed else None,
        at,
        day.day.isoformat(),
        day.hour,
        day.start,
        day.end,
        request_key,
        msgspec.json.encode(decision).decode() if request_key else None,
    )
    return decision


async def recent_entries(
    program: ProgramConfig, day: dt.date | None = None, gate_code: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest tries at the gates (of one day and gate when given), newest first."""
    where, args = "e.program_id = {}", [program.id]
    if day is not None:
        where, args = where + " AND e.day = {}", [*args, day.isoformat()]
    if gate_code:
        where, args = where + " AND g.code = {}", [*args, gate_code]
    return await fetch(
        "SELECT e.id, e.occurred_at, e.allowed, e.reason, e.kind, e.member_id, g.code AS gate, g.name AS gate_name,"
        " m.member_no, m.name, e.pass_id FROM tourism_entry e JOIN tourism_gate g ON g.program_id = e.program_id AND"
        " g.id = e.gate_id"
        f" LEFT JOIN member m ON m.program_id = e.program_id AND m.id = e.member_id WHERE {where} ORDER BY"
        f" e.occurred_at DESC, e.id LIMIT {{}}",
        *args,
        limit,
    )


async def day_counts(program: ProgramConfig, day: dt.date) -> list[dict[str, Any]]:
    """Per gate on ``day``: entries let in, tries refused, and people let in."""
    rows = await fetch(
        "SELECT g.code AS gate, g.name AS gate_name, SUM(CASE WHEN e.allowed = {} THEN 1 ELSE 0 END) AS entries,"
        " SUM(CASE WHEN e.allowed = {} THEN 0 ELSE 1 END) AS refused,"
        " COUNT(DISTINCT CASE WHEN e.allowed = {} THEN e.member_id END) AS visitors"
        " FROM tourism_entry e JOIN tourism_gate g ON g.program_id = e.program_id AND g.id = e.gate_id WHERE"
        " e.program_id = {} AND e.day = {}"
        " GROUP BY g.code, g.name ORDER BY g.code",
        True,
        True,
        True,
        program.id,
        day.isoformat(),
    )
    return [
        {**row, "entries": int(row["entries"]), "refused": int(row["refused"]), "visitors": int(row["visitors"])}
        for row in rows
    ]


REASON_NAMES = {
    "": ("入园", "let in"),
    "unknown_credential": ("未找到会员", "unknown card or ID"),
    "invalid_credential": ("证件无效", "unreadable credential"),
    "card_blocked": ("卡已停用", "card blocked"),
    "code_invalid": ("电子码无效", "invalid code"),
    "code_expired": ("电子码过期", "code expired"),
    "code_used": ("电子码已使用", "code used"),
    "not_on_pass": ("已移出年卡", "off the pass"),
    "no_pass": ("无年卡", "no pass"),
    "pass_not_started": ("年卡未生效", "pass not started"),
    "pass_expired": ("年卡已过期", "pass expired"),
    "blackout": ("不可用日期", "blackout date"),
    "reentry_too_soon": ("重复入园", "re-entry too soon"),
    "daily_limit": ("超出每日次数", "daily limit"),
}
