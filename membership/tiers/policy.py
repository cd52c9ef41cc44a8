"""The values tier-policy hooks receive and return."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TierMetrics:
    """What a tier decision may look at: growth balance, lifetime spend (minor units), visits."""

    growth: int
    spend: int = 0
    visits: int = 0


@dataclasses.dataclass(frozen=True)
class TierBenefits:
    """What a tier gives: a points multiplier in percent (100 = 1×) and a discount in percent."""

    tier: str
    name: str
    points_multiplier_pct: int = 100
    discount_pct: int = 0
