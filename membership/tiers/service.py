"""Tiers over time (等级成长): which tier a member holds, and when it changes.

The tier-policy hook says which tier a member *qualifies* for from their metrics over the
policy's rolling window. This module applies the program's policy around that answer:

* after a purchase, a member who qualifies for a higher tier gets it at once, for one period
  (``tier_review_at`` = now + period + grace); a refund takes back a tier that a purchase upgrade
  gave when the member no longer qualifies for it (:func:`after_refund`);
* lower tiers wait for the review: the ``review-tiers`` job takes members whose review is due,
  chunk by chunk (the earliest due first on PostgreSQL, in the order they are stored on SQLite,
  where every page a chunk changes is written whole), computes their window metrics in one
  statement, and keeps, drops one tier or recalculates as the policy says; each chunk is one
  transaction, and a second run finds nobody due, so it changes nothing;
* every change is written to ``tier_change`` (history) and announced as ``tier.changed``; reaching
  a higher tier issues its upgrade coupons (the tier's ``upgrade_coupons`` and templates issued
  on ``tier_upgrade``);
* a tier set by hand (:mod:`membership.tiers.assignment`) is a floor until its end: neither the
  review nor a refund takes the member below it meanwhile (:func:`floors`).

Tier order is the program's tiers sorted by threshold; a member without a tier ranks lowest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter, defaultdict
from typing import Any

import msgspec

from membership.coupons.service import has_templates, issue_by_trigger, occasion_for, void_unused
from membership.db import (
    any_of,
    emit,
    fetch,
    fetch_one,
    fetch_page,
    id_set,
    is_sqlite,
    job_chunk,
    rows_table,
    use_case,
)
from membership.errors import Reason, ValidationError
from membership.events import Event
from membership.jobs.interface import (
    JobResult,
    Pace,
    Progress,
    in_parts,
)
from membership.org.service import ProgramConfig, get_program, list_programs, update_settings
from membership.plugins import hooks
from membership.tiers.policy import TierConfig, TierMetrics, paid_plans, parse_tier_config, tier_config


@dataclasses.dataclass(frozen=True)
class Change:
    """One member's tier decision."""

    member_id: uuid.UUID
    from_tier: str | None
    to_tier: str | None
    reason: str
    metric: int


def rank(config: TierConfig, tier: str | None) -> int:
    """The tier's place (0 = lowest configured tier); -1 for no tier or one not configured."""
    return ranks(config).get(tier, -1)


def ranks(config: TierConfig) -> dict[str | None, int]:
    """:func:`rank` of every configured tier (for many members: ``ranks(config).get(tier, -1)``)."""
    return {entry.code: index for index, entry in enumerate(config.tiers)}


def _with_metrics(chosen: str) -> str:
    """A query of the members of ``chosen`` (a query of their ``id`` and ``tier``), with their
    growth, net spend, points and visits since a time: after ``chosen``'s arguments it takes
    ``_metrics_args(program, since)``. One statement however many members, each table filtered
    by the program (SQLite's ``+`` keeps it from choosing the program's index over the member's)."""
    same = "+" if is_sqlite() else ""
    return (
        f"WITH chosen AS MATERIALIZED ({chosen}) SELECT c.id AS member_id, c.tier, COALESCE(g.total, 0) AS growth,"
        " COALESCE(s.spend, 0) AS spend, COALESCE(s.visits, 0) AS visits, COALESCE(s.points, 0) AS points"
        " FROM chosen c LEFT JOIN (SELECT a.member_id, SUM(e.amount) AS total FROM ledger_entry e"
        f" JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id WHERE {same}e.program_id ="
        f" {{}} AND {same}a.program_id = {{}}"
        " AND a.kind = 'growth' AND a.member_id IN (SELECT id FROM chosen) AND e.created_at >= {}"
        " GROUP BY a.member_id) g ON g.member_id = c.id"
        " LEFT JOIN (SELECT member_id, SUM(total - refunded_amount) AS spend,"
        " SUM(CASE WHEN status <> 'refunded' THEN 1 ELSE 0 END) AS visits, SUM(points_earned) AS points"
        f" FROM sale WHERE {same}program_id = {{}} AND member_id IN (SELECT id FROM chosen) AND occurred_at >= {{}}"
        " GROUP BY member_id) s ON s.member_id = c.id"
    )


def _metrics_args(program: ProgramConfig, since: dt.datetime) -> list[Any]:
    """The arguments :func:`_with_metrics` takes after those of its members' query."""
    return [program.id, program.id, since, program.id, since]


def _metrics_of(row: dict[str, Any]) -> TierMetrics:
    return TierMetrics(
        growth=int(row["growth"]), spend=int(row["spend"]), visits=int(row["visits"]), points=int(row["points"])
    )


def _since(program: ProgramConfig, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=tier_config(program.settings).policy.window_days)


async def window_metrics(
    program: ProgramConfig, member_ids: list[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, TierMetrics]:
    """Growth, net spend, points and visits of each member over the policy's window: one statement
    however many members."""
    chosen, ids = id_set(member_ids)
    since = _since(program, now)
    same = "+" if is_sqlite() else ""
    members = f"SELECT id, tier FROM member WHERE {same}program_id = {{}} AND id IN (SELECT id FROM ({chosen}) AS ids)"
    rows = await fetch(
        _with_metrics(members),
        program.id,
        ids,
        *_metrics_args(program, since),
    )
    return {row["member_id"]: _metrics_of(row) for row in rows}


async def metrics(program: ProgramConfig, member_id: uuid.UUID, now: dt.datetime | None = None) -> TierMetrics:
    """One member's metrics over the policy's window."""
    found = await window_metrics(program, [member_id], now or dt.datetime.now(dt.UTC))
    return found.get(member_id, TierMetrics(growth=0))


async def floors(program: ProgramConfig, member_ids: list[uuid.UUID], now: dt.datetime) -> dict[uuid.UUID, str]:
    """The tier set by hand that each of ``member_ids`` holds at least until its end (members
    without one are left out): one statement however many members."""
    if not member_ids:
        return {}
    chosen, ids = any_of("member_id", member_ids)
    rows = await fetch(
        f"SELECT member_id, tier FROM tier_assignment WHERE {chosen} AND ended_at IS NULL AND ends_at > {{}}"
        " AND starts_at <= {}",
        ids,
        now,
        now,
    )
    ranked = ranks(tier_config(program.settings))
    found: dict[uuid.UUID, str] = {}
    for row in rows:
        if ranked.get(row["tier"], -1) > ranked.get(found.get(row["member_id"]), -1):
            found[row["member_id"]] = row["tier"]
    return found


def _floored(ranked: dict[str | None, int], change: Change, floor: str | None) -> Change:
    """``change``, unless it takes the member below ``floor``: then the member stays at it."""
    if floor is None or ranked.get(change.to_tier, -1) >= ranked.get(floor, -1):
        return change
    kept = change.from_tier == floor
    return Change(change.member_id, change.from_tier, floor, "renewal" if kept else "manual", change.metric)


async def apply_changes(program: ProgramConfig, changes: list[Change], now: dt.datetime) -> None:
    """Write ``changes``: members grouped by outcome (one UPDATE per outcome, one history INSERT
    per change group), each change announced."""
    if not changes:
        return
    policy = tier_config(program.settings).policy
    review = now + dt.timedelta(days=policy.period_days + policy.grace_days)
    groups: dict[tuple[str | None, bool], list[uuid.UUID]] = defaultdict(list)
    for change in changes:
        groups[(change.to_tier, change.reason == "renewal")].append(change.member_id)
    for (tier, renewal), ids in groups.items():
        review_at = review if tier is not None else None
        chosen, ids_arg = any_of("id", ids)
        if renewal:
            await fetch(
                f"UPDATE member SET tier_review_at = {{}} WHERE program_id = {{}} AND {chosen}",
                review_at,
                program.id,
                ids_arg,
            )
        else:
            await fetch(
                "UPDATE member SET tier = {}, tier_since = {}, tier_review_at = {}, updated_at = {}"
                " WHERE program_id = {} AND " + chosen,
                *(tier, now, review_at, now, program.id, ids_arg),
            )
    table, rows = rows_table(
        [("member_id", "uuid"), ("from_tier", "text"), ("to_tier", "text"), ("reason", "text"), ("metric", "bigint")],
        [(c.member_id, c.from_tier, c.to_tier, c.reason, c.metric) for c in changes],
    )
    await fetch(
        "INSERT INTO tier_change (id, program_id, member_id, from_tier, to_tier, reason, metric, created_at)"
        f" SELECT uuid7(), {{}}, member_id, from_tier, to_tier, reason, metric, {{}} FROM {table}",
        *(program.id, now, *rows),
    )
    config = tier_config(program.settings)
    ranked = ranks(config)
    upgrades = [c for c in changes if ranked.get(c.to_tier, -1) > ranked.get(c.from_tier, -1)]
    if upgrades and (any(t.upgrade_coupons for t in config.tiers) or await has_templates(program.id, "tier_upgrade")):
        for change in upgrades:  # only when some coupon may come with an upgrade
            benefits = hooks().tier_benefits(program, change.to_tier)
            welcome = benefits.upgrade_coupons if benefits else ()
            await issue_by_trigger(
                program.id, change.member_id, "tier_upgrade", tier=change.to_tier, templates=welcome, now=now
            )
    for change in changes:
        if change.from_tier != change.to_tier:
            data = {"from": change.from_tier, "to": change.to_tier, "reason": change.reason}
            emit(Event("tier.changed", program.id, change.member_id, data))


async def reevaluate(program: ProgramConfig, member_id: uuid.UUID, current: str | None, now: dt.datetime) -> str | None:
    """After a purchase or refund (inside its transaction): upgrade at once when the member
    qualifies for a higher tier over the policy's window; anything lower waits for the review.
    The tier held now."""
    config = tier_config(program.settings)
    found = await metrics(program, member_id, now)
    qualified = await hooks().tier_for(program, member_id, found)
    if qualified == current:
        return current
    ranked = all(tier is None or rank(config, tier) >= 0 for tier in (qualified, current))
    if ranked and rank(config, qualified) < rank(config, current):
        return current  # lower tiers wait for the review at the period's end
    # a tier policy plugin's own tiers (not configured here) apply as it says, at once
    change = Change(member_id, current, qualified, "upgrade", found.value(config.policy.metric))
    await apply_changes(program, [change], now)
    return qualified


@use_case
async def reevaluate_member(member_id: uuid.UUID, now: dt.datetime | None = None) -> str | None:
    """Apply the tier the member qualifies for now, outside a purchase: for a plugin whose tier
    policy looks at something else that changed (a bank's monthly balances). As after a purchase,
    a higher tier applies at once and a lower one waits for the review at the period's end; the
    member is locked meanwhile. Its own transaction, or the caller's. The tier held now.

    Example::

        for member_id in fed:  # the month's balances were just stored
            await reevaluate_tier(member_id)
    """
    from membership.members.service import active_member  # members build on tiers: imported late

    row = await active_member(member_id, lock=True)
    program = await get_program(row["program_id"])
    return await reevaluate(program, member_id, row["tier"], now or dt.datetime.now(dt.UTC))


async def after_refund(
    program: ProgramConfig, member_id: uuid.UUID, current: str | None, now: dt.datetime
) -> str | None:
    """After a refund (inside its transaction): a tier that a purchase upgrade gave, and that the
    member no longer qualifies for, is taken back, to the higher of the tier held before that
    upgrade and the one they qualify for; the coupons the upgrade issued are voided unless used.
    Buy, reach a tier, return the goods: the tier and its welcome coupon go with them. A tier
    renewed at a review, or bought, stays. The tier held now."""
    config = tier_config(program.settings)
    last = await fetch_one(
        "SELECT from_tier, to_tier, reason, created_at FROM tier_change WHERE member_id = {}"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        member_id,
    )
    if last is None or last["reason"] != "upgrade" or last["to_tier"] != current or rank(config, current) < 0:
        return await reevaluate(program, member_id, current, now)
    found = await metrics(program, member_id, now)
    qualified = await hooks().tier_for(program, member_id, found)
    floor = (await floors(program, [member_id], now)).get(member_id)
    if max(rank(config, qualified), rank(config, floor)) >= rank(config, current):
        return current
    restore = max((qualified, last["from_tier"], floor), key=lambda tier: rank(config, tier))  # a tie: qualified
    await apply_changes(
        program, [Change(member_id, current, restore, "refund", found.value(config.policy.metric))], now
    )
    occasion = occasion_for("tier_upgrade", tier=current)
    reason = "refund took back the tier that issued it"
    await void_unused(program.id, member_id, occasion, last["created_at"], reason, now)
    return restore


def _decide(
    config: TierConfig,
    ranked: dict[str | None, int],
    member_id: uuid.UUID,
    current: str | None,
    qualified: str | None,
    value: int,
) -> Change:
    """The review's decision for one member whose period ended (``ranked``: :func:`ranks`)."""
    held, earned = ranked.get(current, -1), ranked.get(qualified, -1)
    if earned >= held:
        return Change(
            member_id,
            current,
            current if earned == held else qualified,
            "renewal" if earned == held else "upgrade",
            value,
        )
    if config.policy.downgrade == "one_down":
        earned = max(earned, held - 1)
    to_tier = config.tiers[earned].code if earned >= 0 else None
    return Change(member_id, current, to_tier, "downgrade", value)


@job_chunk
async def _review_chunk(
    program: ProgramConfig, now: dt.datetime, chunk_size: int, after: str
) -> tuple[Counter[str], str]:
    """Review up to ``chunk_size`` members of ``program`` whose review is due: how many of each
    outcome (``renewal``, ``upgrade``, ``downgrade``), empty when nobody was due, and (SQLite) the
    member to go on after."""
    if is_sqlite():  # one writer: the members in the order they are stored, from where the last chunk ended
        # (+program_id: by id, not all of the program's members sorted per chunk)
        due = "SELECT id, tier FROM member WHERE id > {} AND +program_id = {} AND tier_review_at <= {}"
        due += " AND status = 'active' ORDER BY id LIMIT {}"
        args: list[Any] = [after, program.id, now, chunk_size]
    else:
        # the chunk's members are locked (a purchase upgrading one meanwhile waits for the review,
        # or the review skips a member a till holds, for the next chunk); parallel workers take the
        # next members nobody holds. A NO KEY UPDATE lock leaves a till's sale free to reference
        # the member meanwhile
        due = "SELECT id, tier FROM member WHERE program_id = {} AND tier_review_at <= {} AND status = 'active'"
        due += " ORDER BY tier_review_at LIMIT {} FOR NO KEY UPDATE SKIP LOCKED"
        args = [program.id, now, chunk_size]
    since = _since(program, now)
    rows = await fetch(_with_metrics(due), *args, *_metrics_args(program, since))
    if not rows:
        return Counter(), after
    config = tier_config(program.settings)
    found = {row["member_id"]: _metrics_of(row) for row in rows}
    qualified = await hooks().tiers_for(program, found)
    metric, ranked = config.policy.metric, ranks(config)
    changes = [
        _decide(
            config,
            ranked,
            row["member_id"],
            row["tier"],
            qualified[row["member_id"]],
            found[row["member_id"]].value(metric),
        )
        for row in rows
    ]
    held = await floors(program, list(found), now)
    changes = [_floored(ranked, change, held.get(change.member_id)) for change in changes]
    await apply_changes(program, changes, now)
    return Counter(change.reason for change in changes), str(max(found))


async def review_tiers(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """The ``review-tiers`` job: every program's members whose tier period (and grace) ended."""
    programs = [p for p in await list_programs() if tier_config(p.settings).tiers]
    total = 0
    for program in programs:
        counted = await fetch(
            "SELECT COUNT(*) AS n FROM member WHERE program_id = {} AND tier_review_at <= {} AND status = 'active'",
            program.id,
            now,
        )
        total += int(counted[0]["n"])
    outcomes: Counter[str] = Counter()
    progress(0, total)
    for program in programs:

        async def work(_part: int, parts: int, program: ProgramConfig = program) -> None:
            pace = Pace(chunk_size, workers=parts)
            after = ""
            while (chunk := await _review_chunk(program, now, pace.size, after))[0]:
                reviewed, after = chunk
                outcomes.update(reviewed)
                progress(outcomes.total(), total)
                await pace.rest()

        await in_parts(work)
    done = outcomes.total()
    kept, up, down = outcomes["renewal"], outcomes["upgrade"], outcomes["downgrade"]
    return JobResult(
        done,
        f"复核 {done} 位会员的等级：保级 {kept}，升级 {up}，降级 {down}"
        f" / {done} members' tiers reviewed: {kept} kept, {up} up, {down} down",
    )


async def configure(
    program_id: uuid.UUID, tiers: list[dict[str, Any]], policy: dict[str, Any] | None, actor: str
) -> TierConfig:
    """Set the program's tiers and policy (validated); members move on their next purchase or
    review. A tier that members hold or a paid plan sells cannot be removed, and upgrade coupons
    must be templates of the program."""
    config = parse_tier_config(tiers, policy)
    program = await get_program(program_id)
    await _check_references(program, config)
    await update_settings(
        program_id,
        {"tiers": msgspec.to_builtins(config.tiers), "tier_policy": msgspec.to_builtins(config.policy)},
        actor,
    )
    return config


async def _check_references(program: ProgramConfig, config: TierConfig) -> None:
    kept = {tier.code for tier in config.tiers}
    for plan in paid_plans(program.settings):
        if plan.tier not in kept:
            reason = Reason(
                f"paid plan {plan.code!r} sells tier {plan.tier!r}; change the plan first",
                f"付费会员套餐 {plan.code!r} 售卖的是等级 {plan.tier!r}，请先修改该套餐",
            )
            raise ValidationError(field="tiers", reason=reason)
    removed = sorted({tier.code for tier in tier_config(program.settings).tiers} - kept)
    if removed:
        chosen, codes = any_of("tier", removed)
        held = await fetch(
            f"SELECT tier, COUNT(*) AS n FROM member WHERE program_id = {{}} AND {chosen} GROUP BY tier ORDER BY tier",
            program.id,
            codes,
        )
        if held:
            counts = ", ".join(f"{row['tier']!r} ({row['n']})" for row in held)
            raise ValidationError(
                field="tiers",
                reason=Reason(f"members hold {counts}; keep those tiers", f"仍有会员处于 {counts}，请保留这些等级"),
            )
    for tier in config.tiers:
        for code in tier.upgrade_coupons:
            if not await fetch("SELECT 1 FROM coupon_template WHERE program_id = {} AND code = {}", program.id, code):
                raise ValidationError(
                    field="tiers",
                    reason=Reason(
                        f"tier {tier.code!r}: no coupon template {code!r}",
                        f"等级 {tier.code!r}：没有优惠券模板 {code!r}",
                    ),
                )


async def history(member_id: uuid.UUID, page: int = 1, page_size: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of the member's tier changes, newest first, and how many there are."""
    return await fetch_page(
        "SELECT from_tier, to_tier, reason, metric, created_at, COUNT(*) OVER () AS listed FROM tier_change"
        " WHERE member_id = {} ORDER BY created_at DESC, id DESC",
        member_id,
        page=page,
        page_size=page_size,
    )
