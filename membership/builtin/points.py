"""Built-in points rules: the program's configured rules (the rulebook), or by default 1 point and
1 growth per currency unit with the tier multiplier; expiry days."""

from __future__ import annotations

import datetime as dt

from membership.errors import Reason
from membership.hookspecs import hookimpl
from membership.ledger.policy import expires_at, points_policy
from membership.ledger.purchase_rules import purchase_awards
from membership.ledger.rulebook import MemberFacts
from membership.ledger.rules import Award, EarnContext, PointsExpiry, RedeemContext
from membership.org.service import ProgramConfig
from membership.plugins import hooks


def _units(context: EarnContext) -> int:
    return max(context.earning_base, 0) // context.program.minor_per_unit


@hookimpl(trylast=True)
def membership_points_awards(context: EarnContext) -> list[Award]:
    """The program's active points rules, evaluated by the rulebook on the program's local date;
    without rules, 1 point per currency unit of the earning base (rounded as the program says)
    times the tier's points multiplier."""
    if context.rules:
        today = context.occurred_at.astimezone(context.program.zone).date()
        return purchase_awards(context.rules, context, context.facts or MemberFacts(), today)
    benefits = hooks().tier_benefits(context.program, context.tier)
    units = context.program.divide(max(context.earning_base, 0), context.program.minor_per_unit)
    if not units:
        return []
    pct = benefits.points_multiplier_pct if benefits else 100
    points = units * pct // 100
    why = f"消费满 {units} 元，每元 1 积分 / 1 point per unit spent"
    if pct != 100:
        why += f"，{benefits.name} ×{pct / 100:g}"
    return [Award("base", points, why)] if points else []


@hookimpl(trylast=True)
def membership_growth_awards(context: EarnContext) -> list[Award]:
    """1 growth per whole currency unit of the earning base."""
    units = _units(context)
    return [Award("base_growth", units, f"消费 {units} 元得 {units} 成长值 / growth per unit spent")] if units else []


@hookimpl(trylast=True)
def membership_check_redemption(context: RedeemContext) -> Reason | None:
    """Refuse redemptions below the program's ``min_redeem_points`` setting (if any)."""
    minimum = context.program.min_redeem_points
    if context.points < minimum:
        return Reason(f"at least {minimum} points per redemption", f"每次至少使用 {minimum} 积分")
    return None


@hookimpl(trylast=True)
def membership_points_expiry(program: ProgramConfig, earned_at: dt.datetime) -> PointsExpiry:
    """As the program's points policy says: never, N days after earning, or the end of the month
    or year N months after (see :mod:`membership.ledger.policy`)."""
    policy = points_policy(program.settings, program.points_expiry_days)
    return PointsExpiry(expires_at(policy, earned_at, program.zone))
