"""Passes (年卡/季卡) and the people who enter on them.

A pass belongs to its holder (主卡) for one pass plan; buying the plan again renews it (the kernel's
paid membership runs on from the end), so a holder has one pass per plan, with the same family
members and the same e-card key year after year. The holder adds family members (副卡: members of
the same program, as many as the plan allows), who enter on the pass with their own card, ID card
or e-card code and are counted on their own.

A pass is *valid* at a moment while a paid membership of its holder for its plan runs then (the
kernel's ``paid_membership``: bought, renewed, refunded or expired there). Passes are sold here
(:func:`sell_pass`, the console's 年卡 page, ``POST /api/v1/tourism/members/{id}/passes``) or through
the kernel's paid memberships: the pack's listener of ``paid_membership.bought`` then makes the
pass, so both ways end the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, Literal

from membership.plugin import (
    ProgramConfig,
    Reason,
    ValidationError,
    buy_paid_membership,
    conflict_target,
    execute,
    fetch,
    fetch_one,
    get_member,
    get_program,
    is_sqlite,
    new_id,
    paid_memberships,
    use_case,
)
from membership_tourism import e_card
from membership_tourism.errors import AlreadyOnPass, FamilyFull, NotAPassPlan, NotOnPass, PassNotFound
from membership_tourism.pass_plans import PassPlan, find_plan, get_plan
from membership_tourism.values import now

Relation = Literal["spouse", "child", "parent", "other"]
RELATIONS = {
    "": ("持卡人", "holder"),
    "spouse": ("配偶", "spouse"),
    "child": ("子女", "child"),
    "parent": ("父母", "parent"),
    "other": ("其他亲友", "other"),
}


@dataclasses.dataclass(frozen=True)
class Term:
    """Where a pass stands at a moment: ``valid`` (a paid membership runs), ``not_started`` (the
    next one starts later), ``expired`` (the last one ended) or ``none`` (never bought)."""

    state: str
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


async def _runs(holder_id: uuid.UUID, plan_code: str) -> list[Any]:
    held, _ = await paid_memberships(holder_id, 1, 500)
    return sorted((m for m in held if m.plan == plan_code and m.ends_at > m.starts_at), key=lambda m: m.starts_at)


async def term_at(holder_id: uuid.UUID, plan_code: str, at: dt.datetime) -> Term:
    """The pass of ``holder_id`` and ``plan_code`` at ``at``, from the holder's paid memberships
    (renewals that follow each other make one term, from the first start to the last end)."""
    runs = await _runs(holder_id, plan_code)
    current = [m for m in runs if m.starts_at <= at < m.ends_at]
    if current:
        starts, ends = min(m.starts_at for m in current), max(m.ends_at for m in current)
        for run in runs:  # forwards: renewals bought before the end run on from it
            if run.starts_at <= ends < run.ends_at:
                ends = run.ends_at
        for run in reversed(runs):  # backwards: the memberships this one renewed
            if run.starts_at < starts <= run.ends_at:
                starts = run.starts_at
        return Term("valid", starts, ends)
    coming = [m for m in runs if m.starts_at > at]
    if coming:
        return Term("not_started", coming[0].starts_at, coming[0].ends_at)
    if runs:
        return Term("expired", runs[-1].starts_at, max(m.ends_at for m in runs))
    return Term("none")


async def span(holder_id: uuid.UUID, plan_code: str) -> tuple[dt.datetime, dt.datetime] | None:
    """From the first start to the last end of the holder's memberships of the plan (gaps
    included), or None when there were none."""
    runs = await _runs(holder_id, plan_code)
    return (runs[0].starts_at, max(m.ends_at for m in runs)) if runs else None


@use_case
async def ensure_pass(program: ProgramConfig, holder_id: uuid.UUID, plan_code: str, actor: str) -> dict[str, Any]:
    """The holder's pass of ``plan_code``, made (with its e-card key and the holder on it) when it
    is not there yet; the same pass however often it is asked."""
    row = await fetch_one("SELECT * FROM tourism_pass WHERE holder_id = {} AND plan_code = {}", holder_id, plan_code)
    if row is not None:
        return row
    at = now()
    sealed = await e_card.seal_key(holder_id, e_card.new_key())
    made = await fetch(
        "INSERT INTO tourism_pass (id, program_id, holder_id, plan_code, secret, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT "
        + await conflict_target("holder_id", "plan_code")
        + " DO NOTHING RETURNING id",
        new_id(),
        program.id,
        holder_id,
        plan_code,
        sealed,
        at,
    )
    if made:
        await execute(
            "INSERT INTO tourism_pass_person (id, program_id, pass_id, member_id, role, relation, added_by, added_at)"
            " VALUES ({}, {}, {}, {}, 'holder', '', {}, {})",
            new_id(),
            program.id,
            made[0]["id"],
            holder_id,
            actor[:100],
            at,
        )
    return await fetch_one("SELECT * FROM tourism_pass WHERE holder_id = {} AND plan_code = {}", holder_id, plan_code)


@use_case
async def sell_pass(
    member_id: uuid.UUID,
    plan_code: str,
    method: str = "cash",
    store_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    actor: str = "pos",
    at: dt.datetime | None = None,
) -> tuple[dict[str, Any], Any]:
    """Sell (or renew) the pass ``plan_code`` to the member: the kernel's paid membership (fee paid
    by ``method``, its tier at once) and the pass; returns the pass and the paid membership."""
    program = await get_program((await get_member(member_id)).program_id)
    plan = await get_plan(program, plan_code)
    if not plan.on_sale:
        raise NotAPassPlan(code=plan_code)
    bought = await buy_paid_membership(member_id, plan_code, method, store_id, idempotency_key, actor, now=at)
    return await ensure_pass(program, member_id, plan_code, actor), bought


async def get_pass(pass_id: uuid.UUID) -> dict[str, Any]:
    """A pass's row; ``PassNotFound`` when there is none."""
    row = await fetch_one("SELECT * FROM tourism_pass WHERE id = {}", pass_id)
    if row is None:
        raise PassNotFound(pass_id=pass_id)
    return row


async def people(pass_id: uuid.UUID) -> list[dict[str, Any]]:
    """Who is on the pass now: the holder first, then family members in the order they were
    added, with their member number and name."""
    return await fetch(
        "SELECT p.id, p.member_id, p.role, p.relation, p.added_at, p.added_by, m.member_no, m.name"
        " FROM tourism_pass_person p JOIN member m ON m.program_id = p.program_id AND m.id = p.member_id"
        " WHERE p.pass_id = {} AND p.removed_at IS NULL ORDER BY p.role DESC, p.added_at, p.id",
        pass_id,
    )


async def person_row(person_id: uuid.UUID) -> dict[str, Any] | None:
    """A person on a pass (removed ones included) with the pass's holder, plan and sealed key."""
    return await fetch_one(
        "SELECT p.id, p.pass_id, p.member_id, p.role, p.removed_at, s.holder_id, s.plan_code, s.secret, s.program_id"
        " FROM tourism_pass_person p JOIN tourism_pass s ON s.program_id = p.program_id AND s.id = p.pass_id WHERE"
        " p.id = {}",
        person_id,
    )


async def places_of(program_id: uuid.UUID, member_id: uuid.UUID, lock: bool = False) -> list[dict[str, Any]]:
    """The passes the member is on now (as holder first), each with the person's row id; ``lock``
    holds those rows until the transaction ends (two gates deciding at once wait in turn)."""
    suffix = " FOR NO KEY UPDATE OF p" if lock and not is_sqlite() else ""
    return await fetch(
        "SELECT p.id AS person_id, p.role, p.relation, s.id AS pass_id, s.holder_id, s.plan_code, s.secret"
        " FROM tourism_pass_person p JOIN tourism_pass s ON s.program_id = p.program_id AND s.id = p.pass_id"
        " WHERE p.member_id = {} AND p.removed_at IS NULL AND s.program_id = {}"
        f" ORDER BY p.role DESC, s.created_at, s.id{suffix}",
        member_id,
        program_id,
    )


async def lock_person(program_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Hold a person's row until the transaction ends (PostgreSQL; SQLite writes one at a time);
    the program named, as a locking read on Citus must."""
    if not is_sqlite():
        await fetch(
            "SELECT id FROM tourism_pass_person WHERE program_id = {} AND id = {} FOR NO KEY UPDATE",
            program_id,
            person_id,
        )


async def member_passes(program: ProgramConfig, member_id: uuid.UUID, at: dt.datetime | None = None) -> list[dict]:
    """The passes the member is on, each with its plan, term at ``at`` (default now), the member's
    role and everyone on it."""
    at = at or now()
    found = []
    for place in await places_of(program.id, member_id):
        plan = await find_plan(program, place["plan_code"])
        found.append(
            {
                **place,
                "plan": plan,
                "term": await term_at(place["holder_id"], place["plan_code"], at),
                "people": await people(place["pass_id"]),
            }
        )
    return found


async def valid_pass(program: ProgramConfig, member_id: uuid.UUID, at: dt.datetime) -> tuple[dict, PassPlan] | None:
    """A pass the member is on that is valid at ``at`` (the holder's own first), with its plan."""
    for place in await places_of(program.id, member_id):
        plan = await find_plan(program, place["plan_code"])
        if plan is not None and (await term_at(place["holder_id"], place["plan_code"], at)).state == "valid":
            return place, plan
    return None


@use_case
async def add_family(pass_id: uuid.UUID, member_id: uuid.UUID, relation: str, actor: str) -> dict[str, Any]:
    """Put a family member (副卡) on the holder's pass: a member of the same program, not on it yet,
    while the pass has fewer family members than its plan allows."""
    if relation not in RELATIONS or not relation:
        raise ValidationError(
            field="relation", reason=Reason("spouse, child, parent or other", "只能是配偶、子女、父母或其他亲友")
        )
    found = await fetch_one("SELECT program_id FROM tourism_pass WHERE id = {}", pass_id)
    if found is None:
        raise PassNotFound(pass_id=pass_id)
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"  # by program too: a locking read on Citus names it
    row = await fetch_one(
        f"SELECT * FROM tourism_pass WHERE program_id = {{}} AND id = {{}}{lock}", found["program_id"], pass_id
    )
    program = await get_program(row["program_id"])
    member = await fetch_one("SELECT program_id, status FROM member WHERE id = {}", member_id)
    if member is None or member["program_id"] != program.id or member["status"] == "erased":
        raise ValidationError(field="member", reason=Reason("not a member of this program", "不是本会员方案的会员"))
    on = await people(pass_id)
    if any(person["member_id"] == member_id for person in on):
        raise AlreadyOnPass()
    plan = await get_plan(program, row["plan_code"])
    family = [person for person in on if person["role"] == "family"]
    if len(family) >= plan.max_family:
        raise FamilyFull(count=len(family))
    await execute(
        "INSERT INTO tourism_pass_person (id, program_id, pass_id, member_id, role, relation, added_by, added_at)"
        " VALUES ({}, {}, {}, {}, 'family', {}, {}, {})",
        new_id(),
        program.id,
        pass_id,
        member_id,
        relation,
        actor[:100],
        now(),
    )
    return row


@use_case
async def remove_family(program_id: uuid.UUID, pass_id: uuid.UUID, member_id: uuid.UUID, actor: str) -> None:
    """Take a family member off the program's pass (the holder stays: a pass is its holder's)."""
    removed = await fetch(
        "UPDATE tourism_pass_person SET removed_at = {}, removed_by = {} WHERE program_id = {} AND pass_id = {}"
        " AND member_id = {} AND role = 'family' AND removed_at IS NULL RETURNING id",
        now(),
        actor[:100],
        program_id,
        pass_id,
        member_id,
    )
    if not removed:
        raise NotOnPass()


@use_case
async def forget_member(program_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """After an erasure: the member is on no pass of the program any more (their own passes'
    e-card keys are unreadable already, sealed under the data key erasure deleted)."""
    await execute(
        "UPDATE tourism_pass_person SET removed_at = {}, removed_by = 'erasure' WHERE program_id = {}"
        " AND member_id = {} AND removed_at IS NULL",
        now(),
        program_id,
        member_id,
    )
    await execute(
        "UPDATE tourism_pass_person SET removed_at = {}, removed_by = 'erasure' WHERE program_id = {}"
        " AND removed_at IS NULL AND pass_id IN (SELECT id FROM tourism_pass WHERE program_id = {} AND holder_id = {})",
        now(),
        program_id,
        program_id,
        member_id,
    )


async def recent_passes(program: ProgramConfig, limit: int = 50) -> list[dict[str, Any]]:
    """The program's passes, newest first, with their holder and how many people are on each."""
    return await fetch(
        "SELECT s.id, s.plan_code, s.created_at, s.holder_id, m.member_no, m.name,"
        " (SELECT COUNT(*) FROM tourism_pass_person p WHERE p.program_id = s.program_id AND p.pass_id = s.id"
        " AND p.removed_at IS NULL) AS people"
        " FROM tourism_pass s JOIN member m ON m.program_id = s.program_id AND m.id = s.holder_id WHERE s.program_id"
        " = {}"
        " ORDER BY s.created_at DESC, s.id LIMIT {}",
        program.id,
        limit,
    )


async def entries_on(member_id: uuid.UUID, day: dt.date) -> int:
    """How many times the member was let in on the local ``day``."""
    row = await fetch_one(
        "SELECT COUNT(*) AS n FROM tourism_entry WHERE member_id = {} AND day = {} AND allowed = {}",
        member_id,
        day.isoformat(),
        True,
    )
    return int(row["n"])
