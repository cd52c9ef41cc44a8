"""Built-in tier policy: the highest of the program's tiers whose threshold the member's metric
(growth, spend, points or visits over the policy's window) reaches, bounds inclusive; what each
tier gives; and its discount applied as a member price (会员折扣) on every line of a sale. Tiers
and policy live in ``program.settings`` (see :mod:`membership.tiers.policy`)."""

from __future__ import annotations

import uuid

from membership.hookspecs import hookimpl
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.sales.prices import PriceContext
from membership.tiers.policy import TierBenefits, TierConfig, TierMetrics, tier_config


@hookimpl(trylast=True)
def membership_tier_for(program: ProgramConfig, member_id: uuid.UUID, metrics: TierMetrics) -> str | None:
    """The highest tier whose threshold the policy's metric reaches (inclusive)."""
    return _highest(tier_config(program.settings), metrics)


@hookimpl(trylast=True)
def membership_tiers_for(
    program: ProgramConfig, metrics: dict[uuid.UUID, TierMetrics]
) -> dict[uuid.UUID, str | None] | None:
    """The same for many members at once; None (each is asked through ``membership_tier_for``)
    when another plugin decides tiers member by member."""
    if hooks().implemented_elsewhere("membership_tier_for", __name__, program):  # a pack off here does not count
        return None
    config = tier_config(program.settings)
    return {member_id: _highest(config, found) for member_id, found in metrics.items()}


def _highest(config: TierConfig, metrics: TierMetrics) -> str | None:
    value = metrics.value(config.policy.metric)
    held = None
    for tier in config.tiers:
        if value >= tier.threshold:
            held = tier.code
    return held


@hookimpl(trylast=True)
def membership_tier_benefits(program: ProgramConfig, tier: str) -> TierBenefits | None:
    """The multiplier, discount, free items and upgrade coupons configured for the tier."""
    for entry in tier_config(program.settings).tiers:
        if entry.code == tier:
            return TierBenefits(
                tier=tier,
                name=entry.name,
                points_multiplier_pct=entry.points_multiplier_pct,
                discount_pct=entry.discount_pct,
                free_items=tuple(entry.free_items),
                upgrade_coupons=tuple(entry.upgrade_coupons),
            )
    return None


@hookimpl(trylast=True)
def membership_line_prices(context: PriceContext) -> list[tuple[int, int]] | None:
    """The member's tier discount (``discount_pct`` 5 = 95折) as a member price of every line,
    rounded to the nearest minor unit; a lower price a pack offers for a line still wins."""
    if context.tier is None:
        return None
    benefits = hooks().tier_benefits(context.program, context.tier)
    if benefits is None or not benefits.discount_pct:
        return None
    keep = 100 - benefits.discount_pct
    return [(no, (line.unit_price * keep + 50) // 100) for no, line in enumerate(context.lines, 1)]
