"""Tiers and paid plans as the console's forms show them: what each field is called (in Chinese
and English, with its unit) and the checks that warn before a change is saved (thresholds
typed out of order, a higher tier giving less, a plan selling what everyone has)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from membership.console import i18n
from membership.console.struct_forms import (
    DISCOUNT,
    MONEY,
    MULTIPLIER,
    Label,
    discount_text,
    is_zh,
    multiplier_text,
    setting_labels,
)
from membership.org.settings_form import TIER_POLICY_FIELDS
from membership.tiers.policy import PaidPlan, Tier

CODE = Label(
    "编码",
    "Code",
    "字母、数字、- 或 _；保存后请勿再改（会员记录按编码）。",
    "Letters, digits, - or _; keep it once saved (members' records use it).",
)
THRESHOLD_UNITS = {
    "growth": ("成长值", "growth"),
    "points": ("积分", "points"),
    "visits": ("次", "visits"),
}


def policy_labels() -> dict[str, Label]:
    """The tier policy's fields, named as on the settings page."""
    return setting_labels(TIER_POLICY_FIELDS)


def tier_labels(metric: str, coupons: Mapping[str, str]) -> dict[str, Label]:
    """A tier's fields; the threshold is in the policy's ``metric`` (yuan for spend), upgrade
    coupons are chosen among the program's templates (``coupons``: code → name)."""
    threshold = Label(
        "门槛",
        "Threshold",
        "统计期内累计达到多少升到此等级。",
        "What a member must reach over the window to hold this tier.",
        unit=MONEY if metric == "spend" else "",
        suffix=THRESHOLD_UNITS.get(metric, ("", "")),
    )
    return {
        "code": CODE,
        "name": Label("等级名称", "Tier name"),
        "threshold": threshold,
        "points_multiplier_pct": Label(
            "积分倍数",
            "Points multiplier",
            "1 = 正常积分，1.5 = 多得一半。",
            "1 = normal, 1.5 = half as much again.",
            unit=MULTIPLIER,
        ),
        "discount_pct": Label(
            "会员折扣",
            "Member discount",
            "9.5 或 95 = 九五折；不打折请留空。",
            "Percent off; empty for none.",
            unit=DISCOUNT,
        ),
        "free_items": Label("赠品", "Free items", "多个请用顿号或逗号分开。", "Separate several with commas."),
        "upgrade_coupons": Label(
            "升级送券",
            "Coupons on reaching it",
            choices={code: (name, name) for code, name in coupons.items()},
        ),
    }


def plan_labels(tiers: Mapping[str, str]) -> dict[str, Label]:
    """A paid plan's fields (``tiers``: code → name, the tiers a plan may sell)."""
    return {
        "code": CODE,
        "name": Label("套餐名称", "Plan name"),
        "tier": Label("所购等级", "Tier it buys", choices={code: (name, name) for code, name in tiers.items()}),
        "fee": Label("售价", "Price", unit=MONEY),
        "days": Label("有效天数", "Days", suffix=("天", "days")),
    }


def _said(en: str, zh: str) -> str:
    return zh if is_zh() else en


def _threshold(value: int, metric: str, currency: str) -> str:
    if metric == "spend":
        return i18n.money(value, currency)
    unit = THRESHOLD_UNITS.get(metric, ("", ""))
    return f"{i18n.number(value)} {unit[0] if is_zh() else unit[1]}".strip()


def tier_warnings(tiers: Sequence[Tier], metric: str, currency: str) -> list[str]:
    """What looks wrong in ``tiers`` as typed (in the order typed), in the reader's language: a
    tier listed below another but with a higher threshold (it would rank above it), and a
    higher tier giving a smaller points multiplier or discount than a lower one."""
    warnings = []
    for before, after in itertools.pairwise(tiers):
        if before.threshold > after.threshold:
            a, b = _threshold(before.threshold, metric, currency), _threshold(after.threshold, metric, currency)
            warnings.append(
                _said(
                    f"“{before.name}” is listed before “{after.name}” but needs more ({a} against {b}): "
                    f"it will rank above it.",
                    f"“{before.name}”排在“{after.name}”前面，门槛（{a}）却比它高（{b}）：保存后“{before.name}”会成为更高的等级。",
                )
            )
    ranked = sorted(tiers, key=lambda tier: tier.threshold)
    for lower, higher in itertools.pairwise(ranked):
        if higher.points_multiplier_pct < lower.points_multiplier_pct:
            h, lo = multiplier_text(higher.points_multiplier_pct), multiplier_text(lower.points_multiplier_pct)
            warnings.append(
                _said(
                    f"“{higher.name}” is the higher tier but earns fewer points ({h}) than “{lower.name}” ({lo}).",
                    f"“{higher.name}”等级更高，积分倍数（{h}）却低于“{lower.name}”（{lo}）。",
                )
            )
        if higher.discount_pct < lower.discount_pct:
            h, lo = discount_text(higher.discount_pct), discount_text(lower.discount_pct)
            warnings.append(
                _said(
                    f"“{higher.name}” is the higher tier but gets a smaller discount ({h}) than “{lower.name}” ({lo}).",
                    f"“{higher.name}”等级更高，折扣（{h}）却不如“{lower.name}”（{lo}）。",
                )
            )
    return warnings


def plan_warnings(plans: Sequence[PaidPlan], tiers: Sequence[Tier]) -> list[str]:
    """What looks wrong in paid plans: a plan selling a tier every member holds already (its
    threshold is 0)."""
    free = {tier.code: tier.name for tier in tiers if tier.threshold == 0}
    return [
        _said(
            f"“{plan.name}” sells “{free[plan.tier]}”, which every member holds already (its threshold is 0).",
            f"“{plan.name}”售卖的“{free[plan.tier]}”门槛为 0，所有会员本来就有。",
        )
        for plan in plans
        if plan.tier in free
    ]
