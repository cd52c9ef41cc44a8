"""The values tier-policy hooks receive and return, and a program's tier configuration.

A program keeps its tiers in ``settings["tiers"]`` and how they are earned and kept in
``settings["tier_policy"]`` (:class:`TierPolicy`); ``PUT /programs/{id}/tiers`` sets both.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any, Literal

import msgspec

from membership.errors import Reason, ValidationError

Metric = Literal["growth", "spend", "points", "visits"]


@dataclasses.dataclass(frozen=True)
class TierMetrics:
    """What a tier decision may look at, over the policy's rolling window: growth earned, net
    spend (minor units), points earned and visits (purchases)."""

    growth: int
    spend: int = 0
    visits: int = 0
    points: int = 0

    def value(self, metric: str) -> int:
        """The metric the policy ranks members by."""
        return int(getattr(self, metric))


@dataclasses.dataclass(frozen=True)
class TierBenefits:
    """What a tier gives: a points multiplier in percent (100 = 1×), a discount in percent, free
    items, and coupon templates issued on reaching it."""

    tier: str
    name: str
    points_multiplier_pct: int = 100
    discount_pct: int = 0
    free_items: tuple[str, ...] = ()
    upgrade_coupons: tuple[str, ...] = ()


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Amount = Annotated[int, msgspec.Meta(ge=0, le=10**15)]


class Tier(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One tier: reached when the policy's metric over the window is at least ``threshold``."""

    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    threshold: Amount
    points_multiplier_pct: Annotated[int, msgspec.Meta(ge=100, le=1000)] = 100
    discount_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    free_items: list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]] = []
    upgrade_coupons: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = []


class TierPolicy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How tiers are earned and kept (等级规则).

    ``metric`` over the last ``window_days`` decides the tier a member qualifies for. A higher
    tier applies at once, for ``period_days``; at the period's end (plus ``grace_days`` to
    requalify) a member who no longer qualifies drops one tier (``one_down``) or straight to
    the tier they qualify for (``recalculate``); one who still qualifies keeps it another period.
    """

    metric: Metric = "growth"
    window_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 365
    period_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 365
    grace_days: Annotated[int, msgspec.Meta(ge=0, le=366)] = 0
    downgrade: Literal["one_down", "recalculate"] = "one_down"


class TierConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A program's tiers (lowest first once sorted by threshold) and their policy."""

    tiers: list[Tier]
    policy: TierPolicy = msgspec.field(default_factory=TierPolicy)


def _legacy(entry: dict[str, Any]) -> dict[str, Any]:
    """Tiers written before thresholds had a metric kept ``min_growth``."""
    if "threshold" not in entry and "min_growth" in entry:
        entry = {**{k: v for k, v in entry.items() if k != "min_growth"}, "threshold": entry["min_growth"]}
    return entry


def parse_tier_config(tiers: list[dict[str, Any]], policy: dict[str, Any] | None) -> TierConfig:
    """Validate tiers and policy; ``ValidationError`` names the field at fault."""
    if not isinstance(tiers, list) or not all(isinstance(tier, dict) for tier in tiers):
        raise ValidationError(
            field="tiers", reason=Reason("a list of tiers, each an object", "应为等级列表，每个等级是一个对象")
        )
    try:
        config = msgspec.convert({"tiers": [_legacy(t) for t in tiers], "policy": policy or {}}, TierConfig)
    except msgspec.ValidationError as exc:
        raise ValidationError(field="tiers", reason=str(exc)) from exc
    codes = [tier.code for tier in config.tiers]
    if len(set(codes)) != len(codes):
        raise ValidationError(field="tiers", reason=Reason("each tier code once", "每个等级编码只能出现一次"))
    thresholds = [tier.threshold for tier in config.tiers]
    if len(set(thresholds)) != len(thresholds):
        raise ValidationError(
            field="tiers", reason=Reason("each tier needs its own threshold", "每个等级的门槛须各不相同")
        )
    return TierConfig(sorted(config.tiers, key=lambda tier: tier.threshold), config.policy)


def tier_config(settings: dict[str, Any]) -> TierConfig:
    """A program's tier configuration from its settings (no tiers: an empty list); parsed once per
    distinct configuration (every purchase asks for it)."""
    return _parsed_tier_config(msgspec.json.encode([settings.get("tiers", []), settings.get("tier_policy")]))


@functools.lru_cache(maxsize=64)
def _parsed_tier_config(encoded: bytes) -> TierConfig:
    tiers, policy = msgspec.json.decode(encoded)
    return parse_tier_config(tiers, policy)


class PaidPlan(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A paid membership plan (付费会员卡): ``fee`` (minor units) buys ``tier`` for ``days``."""

    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    tier: Code
    fee: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    days: Annotated[int, msgspec.Meta(ge=1, le=3660)]


def paid_plans(settings: dict[str, Any]) -> list[PaidPlan]:
    """The program's paid plans."""
    return msgspec.convert(settings.get("paid_plans", []), list[PaidPlan])


def parse_paid_plans(plans: list[dict[str, Any]], tiers: TierConfig) -> list[PaidPlan]:
    """Validate plans: codes once, each buying one of the program's tiers."""
    try:
        parsed = msgspec.convert(plans, list[PaidPlan])
    except msgspec.ValidationError as exc:
        raise ValidationError(field="plans", reason=str(exc)) from exc
    codes = [plan.code for plan in parsed]
    if len(set(codes)) != len(codes):
        raise ValidationError(field="plans", reason=Reason("each plan code once", "每个套餐编码只能出现一次"))
    known = {tier.code for tier in tiers.tiers}
    for plan in parsed:
        if plan.tier not in known:
            raise ValidationError(
                field="plans",
                reason=Reason(
                    f"plan {plan.code!r}: no tier {plan.tier!r} in the program",
                    f"套餐 {plan.code!r}：会员方案中没有等级 {plan.tier!r}",
                ),
            )
    return parsed
