"""Paid membership (付费会员): a fee buys one of the program's tiers for a number of days.

Buying lifts the member to the plan's tier at once (unless they already hold a higher one) until
the membership ends; buying again before the end renews it from that end. The fee is paid at
the till (cash, card, wallet) or from stored value (a ledger posting). At the end the
``expire-paid-memberships`` job puts the member back on the tier they earn; a refund gives back
the unused days' share of the fee (stored value back into the lots it came from: bonus stays
bonus) and does the same at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import msgspec

from membership.audit import service as audit
from membership.db import emit, fetch, fetch_one, fetch_page, new_id, placeholders, use_case
from membership.errors import PaidMembershipNotActive, PaidMembershipNotFound, PlanNotFound, Reason, ValidationError
from membership.events import Event
from membership.jobs.interface import JobResult, Pace, Progress
from membership.ledger import idempotency
from membership.ledger.service import (
    MemberAccounts,
    PostingWriter,
    debit_stored_value,
    give_back_stored_value,
    member_accounts,
)
from membership.org.service import ProgramConfig, get_program, list_programs, update_settings
from membership.plugins import hooks
from membership.tiers.policy import PaidPlan, paid_plans, parse_paid_plans, tier_config
from membership.tiers.service import Change, apply_changes, floors, rank, window_metrics

METHODS = ("cash", "card", "wechat_pay", "alipay", "stored_value")


@dataclasses.dataclass(frozen=True)
class PaidMembershipResult:
    """A paid membership as bought, renewed or refunded, and the member's tier after it."""

    id: uuid.UUID
    member_id: uuid.UUID
    plan: str
    tier: str
    fee: int
    method: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    refunded_amount: int
    member_tier: str | None
    replayed: bool = False


def _plan(program: ProgramConfig, code: str) -> PaidPlan:
    for plan in paid_plans(program.settings):
        if plan.code == code:
            return plan
    raise PlanNotFound(plan=code)


def _result(row: dict[str, Any], member_tier: str | None) -> PaidMembershipResult:
    return PaidMembershipResult(
        id=row["id"],
        member_id=row["member_id"],
        plan=row["plan"],
        tier=row["tier"],
        fee=int(row["fee"]),
        method=row["method"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        status=row["status"],
        refunded_amount=int(row["refunded_amount"]),
        member_tier=member_tier,
    )


@use_case
async def buy(
    member_id: uuid.UUID,
    plan_code: str,
    method: str = "cash",
    store_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    actor: str = "pos",
    now: dt.datetime | None = None,
) -> PaidMembershipResult:
    """Buy (or renew) a paid plan for the member; idempotent with a key.

    ``now`` records the purchase as of another moment (a back-dated sale, a demo's year, a test's
    clock; default: the present): a renewal starts when the membership held then ends, and one that
    has ended by the present is recorded as ``expired`` and lifts no tier."""
    if method not in METHODS:
        raise ValidationError(
            field="method", reason=Reason(f"one of {', '.join(METHODS)}", f"只能是 {', '.join(METHODS)} 之一")
        )
    accounts = await member_accounts(member_id, store_id)
    program = accounts.program
    plan = _plan(program, plan_code)

    async def run() -> PaidMembershipResult:
        present = dt.datetime.now(dt.UTC)
        at = present if now is None else min(now, present)
        latest = await fetch_one(  # running at ``at`` (an expired one may have been then; a refunded one ended)
            "SELECT ends_at FROM paid_membership WHERE member_id = {} AND plan = {} AND status <> 'refunded'"
            " AND ends_at > {} ORDER BY ends_at DESC LIMIT 1",
            member_id,
            plan.code,
            at,
        )
        starts_at = latest["ends_at"] if latest else at
        ends_at = starts_at + dt.timedelta(days=plan.days)
        posting_id = None
        if method == "stored_value":
            reason = f"付费会员 {plan.name} / paid membership"
            writer = await PostingWriter(
                program, "paid_membership", member_id, at, store_id, operator=actor, reason=reason
            ).open()
            await debit_stored_value(writer, accounts, plan.fee, reason)
            await writer.close()
            posting_id = writer.id
        membership_id = new_id()
        row = {
            "id": membership_id,
            "program_id": program.id,
            "member_id": member_id,
            "plan": plan.code,
            "tier": plan.tier,
            "fee": plan.fee,
            "method": method,
            "store_id": store_id,
            "posting_id": posting_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "status": "active" if ends_at > present else "expired",
            "refunded_amount": 0,
            "created_at": at,
        }
        await fetch(f"INSERT INTO paid_membership ({', '.join(row)}) VALUES ({placeholders(row)})", *row.values())
        if ends_at > present:
            member_tier = await _lift(program, member_id, plan.tier, ends_at, at)
        else:  # bought as of a past moment and over by now: nothing to lift
            member_tier = (await fetch_one("SELECT tier FROM member WHERE id = {}", member_id))["tier"]
        await audit.record(
            actor, "paid_membership.buy", "member", member_id, program.id, {"plan": plan.code, "fee": plan.fee}
        )
        emit(
            Event(
                "paid_membership.bought",
                program.id,
                member_id,
                {"plan": plan.code, "ends_at": row["ends_at"].isoformat()},
            )
        )
        return _result(row, member_tier)

    payload = {"member_id": member_id, "plan": plan_code, "method": method, "store_id": store_id}
    return await idempotency.once(program.id, idempotency_key, "paid_membership", payload, PaidMembershipResult, run)


@use_case
async def set_plans(program_id: uuid.UUID, plans: list[dict[str, Any]], actor: str = "system") -> list[PaidPlan]:
    """Replace the program's paid plans (each ``code``, ``name``, the ``tier`` it buys, ``fee`` in
    minor units, ``days``); each must buy one of the program's tiers. Memberships sold keep theirs."""
    program = await get_program(program_id)
    parsed = parse_paid_plans(plans, tier_config(program.settings))
    await update_settings(program.id, {"paid_plans": msgspec.to_builtins(parsed)}, actor)
    return parsed


async def _lift(
    program: ProgramConfig, member_id: uuid.UUID, tier: str, until: dt.datetime, now: dt.datetime
) -> str | None:
    """The plan's tier until ``until``, unless the member holds a higher one."""
    member = await fetch_one("SELECT tier, tier_review_at FROM member WHERE id = {}", member_id)
    config = tier_config(program.settings)
    if rank(config, member["tier"]) > rank(config, tier):
        return member["tier"]
    if member["tier"] == tier:
        review_at = max(until, member["tier_review_at"] or until)
        await fetch(
            "UPDATE member SET tier_review_at = {} WHERE program_id = {} AND id = {}", review_at, program.id, member_id
        )
        return tier
    await apply_changes(program, [Change(member_id, member["tier"], tier, "paid", 0)], now)
    await fetch("UPDATE member SET tier_review_at = {} WHERE program_id = {} AND id = {}", until, program.id, member_id)
    return tier


async def _settle_tiers(program: ProgramConfig, ended: list[tuple[uuid.UUID, str]], now: dt.datetime) -> None:
    """After paid memberships ended, as (member, the plan's tier): a member still on that tier goes
    back to the tier they earn (recalculated), unless another active paid membership holds it. A
    member on another tier (one they earned above the plan's) keeps it: the plan did not give it."""
    if not ended:
        return
    plan_tier: dict[uuid.UUID, set[str]] = {}
    for member_id, tier in ended:
        plan_tier.setdefault(member_id, set()).add(tier)
    member_ids = sorted(plan_tier)
    marks = placeholders(member_ids)
    rows = [
        row
        for row in await fetch(f"SELECT id, tier FROM member WHERE id IN ({marks})", *member_ids)
        if row["tier"] in plan_tier[row["id"]]
    ]
    if not rows:
        return
    config = tier_config(program.settings)
    paid: dict[uuid.UUID, int] = {}
    for held in await fetch(
        f"SELECT member_id, tier FROM paid_membership WHERE member_id IN ({marks}) AND status = 'active'"
        " AND ends_at > {}",
        *member_ids,
        now,
    ):
        paid[held["member_id"]] = max(paid.get(held["member_id"], -1), rank(config, held["tier"]))
    found = await window_metrics(program, [row["id"] for row in rows], now)
    held = await floors(program, [row["id"] for row in rows], now)
    changes = []
    for row in rows:
        if paid.get(row["id"], -1) >= rank(config, row["tier"]) >= 0:
            continue  # another paid membership still holds this tier
        qualified = await hooks().tier_for(program, row["id"], found[row["id"]])
        floor = held.get(row["id"])
        if rank(config, floor) > rank(config, qualified):
            qualified = floor  # a tier set by hand holds until its end
        if qualified != row["tier"]:
            changes.append(
                Change(row["id"], row["tier"], qualified, "paid_expired", found[row["id"]].value(config.policy.metric))
            )
    await apply_changes(program, changes, now)


async def membership_row(membership_id: uuid.UUID) -> dict[str, Any]:
    """A paid membership's row; ``PaidMembershipNotFound`` when there is none."""
    row = await fetch_one("SELECT * FROM paid_membership WHERE id = {}", membership_id)
    if row is None:
        raise PaidMembershipNotFound(membership_id=membership_id)
    return row


@use_case
async def refund(membership_id: uuid.UUID, actor: str = "admin", reason: str = "") -> PaidMembershipResult:
    """End the membership now and give back the unused days' share of the fee (rounded down);
    stored value goes back to stored value, other methods are paid back at the till."""
    row = await membership_row(membership_id)
    if row["status"] != "active":
        raise PaidMembershipNotActive(status=row["status"])
    program = await get_program(row["program_id"])
    now = dt.datetime.now(dt.UTC)
    second = dt.timedelta(seconds=1)
    total = max((row["ends_at"] - row["starts_at"]) // second, 1)
    unused = max((row["ends_at"] - max(now, row["starts_at"])) // second, 0)
    amount = int(row["fee"]) * unused // total  # whole seconds, integer arithmetic
    if row["method"] == "stored_value" and amount:
        accounts = await MemberAccounts.load(program, row["member_id"])
        text = f"付费会员退款 / paid membership refund {reason}".strip()
        writer = await PostingWriter(
            program, "paid_refund", row["member_id"], now, row["store_id"], operator=actor, reason=text
        ).open()
        # into the lots the fee came from: bonus stays bonus (never cashed out), and what their
        # stores were owed for it is taken back from the settlement
        await give_back_stored_value(writer, accounts, row["posting_id"], 0, amount, text)
        await writer.close()
    await fetch(
        "UPDATE paid_membership SET status = 'refunded', refunded_amount = {}, ends_at = {}"
        " WHERE program_id = {} AND id = {}",
        amount,
        min(now, row["ends_at"]),
        program.id,
        membership_id,
    )
    await _settle_tiers(program, [(row["member_id"], row["tier"])], now)
    await audit.record(
        actor, "paid_membership.refund", "member", row["member_id"], program.id, {"amount": amount, "reason": reason}
    )
    updated = await fetch_one("SELECT * FROM paid_membership WHERE id = {}", membership_id)
    member = await fetch_one("SELECT tier FROM member WHERE id = {}", row["member_id"])
    return _result(updated, member["tier"])


async def memberships(
    member_id: uuid.UUID, page: int = 1, page_size: int = 50
) -> tuple[list[PaidMembershipResult], int]:
    """One page of the member's paid memberships, newest first, and how many there are."""
    rows, total = await fetch_page(
        "SELECT p.*, m.tier AS member_tier, COUNT(*) OVER () AS listed FROM paid_membership p"
        " JOIN member m ON m.program_id = p.program_id AND m.id = p.member_id WHERE p.member_id = {} ORDER BY"
        " p.starts_at DESC, p.id DESC",
        member_id,
        page=page,
        page_size=page_size,
    )
    return [_result(row, row["member_tier"]) for row in rows], total


@use_case
async def _expire_chunk(program: ProgramConfig, now: dt.datetime, chunk_size: int) -> int:
    rows = await fetch(
        "SELECT id, member_id, tier FROM paid_membership WHERE program_id = {} AND status = 'active'"
        " AND ends_at <= {} LIMIT {}",
        program.id,
        now,
        chunk_size,
    )
    if not rows:
        return 0
    ids = [row["id"] for row in rows]
    await fetch(
        f"UPDATE paid_membership SET status = 'expired' WHERE program_id = {{}} AND id IN ({placeholders(ids)})",
        program.id,
        *ids,
    )
    await _settle_tiers(program, [(row["member_id"], row["tier"]) for row in rows], now)
    for row in rows:
        emit(Event("paid_membership.expired", program.id, row["member_id"], {"membership_id": row["id"]}))
    return len(rows)


async def expire_paid_memberships(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """The ``expire-paid-memberships`` job: memberships past their end, chunk by chunk."""
    pace = Pace(chunk_size)
    done = 0
    for program in await list_programs():
        while expired := await _expire_chunk(program, now, pace.size):
            done += expired
            progress(done, done)
            await pace.rest()
    return JobResult(done, f"付费会员到期 {done} 个 / paid memberships ended: {done}")
