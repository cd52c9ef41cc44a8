"""Built-in tier policy: thresholds on growth from the program's ``tiers`` setting.

``program.settings["tiers"]`` is a list such as::

    [{"code": "silver", "name": "银卡", "min_growth": 1000, "points_multiplier_pct": 120}]
"""

from __future__ import annotations

import uuid

from membership.hookspecs import hookimpl
from membership.org.service import ProgramConfig
from membership.tiers.policy import TierBenefits, TierMetrics


def _tiers(program: ProgramConfig) -> list[dict]:
    return sorted(program.settings.get("tiers", []), key=lambda t: t["min_growth"])


@hookimpl(trylast=True)
def membership_tier_for(program: ProgramConfig, member_id: uuid.UUID, metrics: TierMetrics) -> str | None:
    """The highest tier whose ``min_growth`` the member's growth reaches (inclusive)."""
    held = None
    for tier in _tiers(program):
        if metrics.growth >= tier["min_growth"]:
            held = tier["code"]
    return held


@hookimpl(trylast=True)
def membership_tier_benefits(program: ProgramConfig, tier: str) -> TierBenefits | None:
    """The multiplier and discount configured for the tier."""
    for entry in _tiers(program):
        if entry["code"] == tier:
            return TierBenefits(
                tier=tier,
                name=entry.get("name", tier),
                points_multiplier_pct=int(entry.get("points_multiplier_pct", 100)),
                discount_pct=int(entry.get("discount_pct", 0)),
            )
    return None
