"""Points rules, the points policy and top-up plans as the console's forms show them: the names
of each rule kind's parameters (from :data:`~membership.ledger.rule_kinds.PARAMS`, the types the
API validates), a rule's parameters in one readable line, and the checks that warn before a
change is saved: a rule that would never earn (its end has passed, its days fall outside its
dates, a cap of 0, an exclusive rule above it that always wins, categories or items no sale has),
points that expire before they may be spent, a top-up bonus above what is paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from membership.console import i18n
from membership.console.struct_forms import MONEY, MULTIPLIER, Label, describe, is_zh, setting_labels
from membership.db import fetch
from membership.ledger.policy import PointsPolicy
from membership.ledger.rule_kinds import PARAMS
from membership.ledger.rulebook import BASE_KINDS, PointsRule
from membership.ledger.top_up_plans import TopUpPlan
from membership.org.service import ProgramConfig
from membership.org.settings_form import POINTS_POLICY_FIELDS
from membership.tiers.forms import CODE

RECENT_DAYS = 180
WEEKDAYS = {
    str(day): (zh, en)
    for day, zh, en in (
        (1, "周一", "Monday"),
        (2, "周二", "Tuesday"),
        (3, "周三", "Wednesday"),
        (4, "周四", "Thursday"),
        (5, "周五", "Friday"),
        (6, "周六", "Saturday"),
        (7, "周日", "Sunday"),
    )
}
MULTIPLIER_LABEL = Label("倍数", "Multiplier", "2 = 双倍积分，1.5 = 多得一半。", "2 = double points.", unit=MULTIPLIER)
POINTS = ("积分", "points")


LATER_KINDS = {
    "multiplier": ("商品积分倍数", "Multiplier on chosen lines"),
    "points_per_item": ("按件送积分", "Points per item"),
    "points_per_order": ("按单送积分", "Points per order"),
}


def kind_names() -> dict[str, str]:
    """Each rule kind's name in the page's language (a plugin's kind shows as its key)."""
    names = {
        "base_rate": i18n.gettext("Base rate"),
        "category_multiplier": i18n.gettext("Category multiplier"),
        "sku_multiplier": i18n.gettext("Item multiplier"),
        "member_day": i18n.gettext("Member day"),
        "birthday": i18n.gettext("Birthday"),
        "sign_up": i18n.gettext("Sign-up bonus"),
        "first_purchase": i18n.gettext("First purchase bonus"),
        "referral": i18n.gettext("Referral reward"),
        "daily_sign_in": i18n.gettext("Daily sign-in"),
        "cap": i18n.gettext("Cap"),
    }
    zh = is_zh()
    for kind, (name_zh, name_en) in LATER_KINDS.items():
        names[kind] = name_zh if zh else name_en
    return {kind: names.get(kind, kind) for kind in PARAMS}


def rule_labels() -> dict[str, Label]:
    """The fields every rule has."""
    return {
        "code": Label(
            "规则编码", "Rule code", "字母、数字、- 或 _，如 wed-double。", "Letters, digits, - or _, e.g. wed-double."
        ),
        "name": Label(
            "规则名称", "Rule name", "会员在积分明细里看到的说明。", "What members read in their points history."
        ),
        "priority": Label(
            "优先级", "Priority", "数字大的先算；封顶时优先保留。", "Higher counts first and is kept first under a cap."
        ),
        "stacking": Label(
            "叠加方式",
            "Stacking",
            choices={
                "stack": ("与其他规则叠加", "Stacks with others"),
                "best_of": ("同组只取最高", "Best of its group"),
                "exclusive": ("独享（不与其他叠加）", "Alone (exclusive)"),
            },
        ),
        "starts_on": Label("开始日期", "Starts on", "留空表示立即生效。", "Empty: from now."),
        "ends_on": Label("结束日期", "Ends on", "留空表示长期有效。", "Empty: no end."),
        "min_spend": Label("最低消费", "Minimum spend", "实付满多少才参加；0 表示不限。", "0: any amount.", unit=MONEY),
        "stop": Label("生效后不再计算后面的规则", "Once it applies, lower rules do not run"),
    }


RULE_FIELDS = ("code", "name", "priority", "stacking", "starts_on", "ends_on", "min_spend", "stop")


def params_labels(kind: str) -> dict[str, Label]:
    """The parameters of rule ``kind``, named for staff."""
    per_kind: dict[str, dict[str, Label]] = {
        "base_rate": {
            "per_amount": Label("每消费", "Per amount spent", unit=MONEY),
            "points": Label("得积分", "Points earned", suffix=POINTS),
        },
        "category_multiplier": {
            "categories": Label(
                "品类", "Categories", "与收银系统的品类名称一致，多个用顿号分开。", "As the till names them."
            ),
            "multiplier_pct": MULTIPLIER_LABEL,
        },
        "sku_multiplier": {
            "skus": Label("商品编码", "SKUs", "多个用顿号或逗号分开。", "Separate several with commas."),
            "multiplier_pct": MULTIPLIER_LABEL,
        },
        "member_day": {
            "multiplier_pct": MULTIPLIER_LABEL,
            "weekdays": Label("每周几", "Weekdays", choices=WEEKDAYS),
            "days_of_month": Label(
                "每月几号", "Days of the month", "如 8、18、28。", "For example 8, 18, 28.", suffix=("号", "")
            ),
            "dates": Label("指定日期", "Dates", "用日期选择器选择，可选多天。", "Pick one or more days."),
        },
        "birthday": {
            "window": Label(
                "生日期间",
                "Birthday window",
                choices={
                    "day": ("生日当天", "On the day"),
                    "week": ("生日所在周", "In the birthday's week"),
                    "month": ("生日所在月", "In the birthday's month"),
                },
            ),
            "multiplier_pct": Label(
                "消费倍数", "Multiplier on purchases", "不加倍请留空。", "Empty: none.", unit=MULTIPLIER
            ),
            "gift_points": Label(
                "生日礼积分", "Birthday gift", "每年送一次；不送请留空。", "Once a year; empty: none.", suffix=POINTS
            ),
        },
        "multiplier": {
            "multiplier_pct": Label(
                "倍数",
                "Multiplier",
                "0 = 不积分，0.5 = 减半，2 = 双倍。",
                "0: no points, 0.5: half, 2: double.",
                unit=MULTIPLIER,
            ),
        },
        "points_per_item": {
            "points": Label("送积分", "Points", suffix=POINTS),
            "per": Label("按什么送", "For each", choices={"unit": ("每件", "item"), "line": ("每种商品", "product")}),
        },
        "points_per_order": {"points": Label("每单送积分", "Points a purchase", suffix=POINTS)},
        "sign_up": {"points": Label("入会送积分", "Points on joining", suffix=POINTS)},
        "first_purchase": {"points": Label("首次消费送积分", "Points on the first purchase", suffix=POINTS)},
        "referral": {
            "referrer_points": Label("推荐人得积分", "Points for the referrer", suffix=POINTS),
            "referee_points": Label("新会员得积分", "Points for the new member", suffix=POINTS),
        },
        "daily_sign_in": {
            "points": Label("每日签到积分", "Points a day", suffix=POINTS),
            "streak_days": Label("连续签到天数", "Streak length", suffix=("天", "days")),
            "streak_bonus": Label("连续签到奖励", "Streak bonus", suffix=POINTS),
        },
        "cap": {
            "per_transaction": Label("每笔最多", "Most a purchase", "不限请留空。", "Empty: no limit.", suffix=POINTS),
            "per_day": Label("每天最多", "Most a day", "不限请留空。", "Empty: no limit.", suffix=POINTS),
        },
    }
    return per_kind.get(kind, {})


def describe_params(kind: str, params: dict[str, Any], currency: str) -> str:
    """A rule's parameters in one line (``倍数：2 倍；每周几：周三``)."""
    schema = PARAMS.get(kind)
    return describe(schema, params, params_labels(kind), currency) if schema else ""


def _said(en: str, zh: str) -> str:
    return zh if is_zh() else en


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _member_day_never(rule: PointsRule, today: dt.date) -> bool:
    """True when no day of the rule's dates (from today) is one of its member days."""
    params = rule.params
    start = max(rule.starts_on or today, today)
    dates = [dt.date.fromisoformat(str(day)) for day in params.get("dates", [])]
    if rule.ends_on is None:
        return bool(dates) and not params.get("weekdays") and not params.get("days_of_month") and max(dates) < start
    if rule.ends_on < start or (rule.ends_on - start).days > 400:
        return False
    for day in _days(start, rule.ends_on):
        if day.isoweekday() in params.get("weekdays", []) or day.day in params.get("days_of_month", []) or day in dates:
            return False
    return True


def _always_wins(other: dict[str, Any]) -> bool:
    """A base-rate rule that is exclusive and always applies (no dates, no minimum spend)."""
    return (
        other["active"]
        and other["kind"] in BASE_KINDS
        and other["stacking"] == "exclusive"
        and not other.get("starts_on")
        and not other.get("ends_on")
        and not other.get("min_spend")
    )


async def _unseen(program: ProgramConfig, column: str, names: Sequence[str], today: dt.date) -> list[str]:
    """Of ``names``, those no sale line of the last :data:`RECENT_DAYS` days carries in ``column``
    (none when the program has no such sale lines at all)."""
    since = dt.datetime.combine(today - dt.timedelta(days=RECENT_DAYS), dt.time(), tzinfo=program.zone)
    rows = await fetch(
        f"SELECT DISTINCT l.{column} AS value FROM sale_line l JOIN sale s ON s.program_id = l.program_id AND s.id ="
        " l.sale_id"
        f" WHERE s.program_id = {{}} AND s.occurred_at >= {{}} AND l.{column} <> ''",
        program.id,
        since,
    )
    seen = {row["value"] for row in rows}
    return [name for name in names if name not in seen] if seen else []


async def rule_warnings(program: ProgramConfig, rule: PointsRule, others: Sequence[dict[str, Any]]) -> list[str]:
    """Why ``rule`` may never earn, in the reader's language (``others``: the program's rules
    as listed, this one included or not)."""
    today = dt.datetime.now(program.zone).date()
    warnings = []
    if rule.ends_on and rule.ends_on < today:
        warnings.append(
            _said(
                f"It ended on {rule.ends_on}: it will not earn again.",
                f"结束日期 {rule.ends_on} 已过：这条规则不会再生效。",
            )
        )
    elif rule.kind == "member_day" and _member_day_never(rule, today):
        warnings.append(
            _said(
                "None of its member days falls between its start and end: it will not earn.",
                "有效期内没有一天是所选的会员日：这条规则不会生效。",
            )
        )
    if rule.kind == "cap" and 0 in (rule.params.get("per_transaction"), rule.params.get("per_day")):
        warnings.append(_said("A cap of 0: no purchase earns points.", "封顶为 0：所有消费都得不到积分。"))
    others = [other for other in others if other["code"] != rule.code]
    if rule.kind in BASE_KINDS:
        winner = next(
            (o for o in others if _always_wins(o) and o["priority"] > rule.priority),
            None,
        )
        if winner:
            warnings.append(
                _said(
                    f"“{winner['name']}” is exclusive, always applies and comes first: this rule will never earn.",
                    f"“{winner['name']}”独享、总会生效且优先级更高：这条规则永远不会被用到。",
                )
            )
        as_data = {"active": True, "kind": rule.kind, "stacking": rule.stacking, "starts_on": rule.starts_on}
        if _always_wins({**as_data, "ends_on": rule.ends_on, "min_spend": rule.min_spend}):
            hidden = [
                o["name"] for o in others if o["active"] and o["kind"] in BASE_KINDS and o["priority"] < rule.priority
            ]
            if hidden:
                names = "、".join(hidden) if is_zh() else ", ".join(hidden)
                warnings.append(
                    _said(
                        f"This rule is exclusive and always applies: {names} will never earn again.",
                        f"这条规则独享且总会生效：{names} 将不再被用到。",
                    )
                )
    for key, column, what_en, what_zh in (
        ("categories", "category", "categories", "品类"),
        ("skus", "sku", "items", "商品"),
    ):
        if key in rule.params:
            unseen = await _unseen(program, column, rule.params[key], today)
            if unseen:
                names = "、".join(unseen) if is_zh() else ", ".join(unseen)
                warnings.append(
                    _said(
                        f"No sale of the last {RECENT_DAYS} days has these {what_en}: {names}. "
                        "Check they are written as the till writes them.",
                        f"最近 {RECENT_DAYS} 天的消费中没有这些{what_zh}：{names}。请核对名称是否与收银系统一致。",
                    )
                )
    return warnings


# --- the points policy and top-up plans ------------------------------------------------------------


def policy_labels() -> dict[str, Label]:
    """The points policy's fields, named as on the settings page."""
    return setting_labels(POINTS_POLICY_FIELDS)


def policy_warnings(policy: PointsPolicy) -> list[str]:
    """What looks wrong in a points policy: points that expire before they may be spent, a
    warning that comes as early as the points are earned."""
    warnings = []
    if policy.expiry == "days_after" and policy.expiry_days is not None:
        if policy.expiry_days <= policy.pending_days:
            warnings.append(
                i18n.gettext(
                    "Points expire after %(expiry)s days but wait %(pending)s days before they may be spent: "
                    "no one can use them.",
                    expiry=policy.expiry_days,
                    pending=policy.pending_days,
                )
            )
        elif policy.warn_days >= policy.expiry_days:
            warnings.append(
                i18n.gettext(
                    "Members would be warned %(warn)s days ahead of an expiry only %(expiry)s days after earning.",
                    warn=policy.warn_days,
                    expiry=policy.expiry_days,
                )
            )
    return warnings


def top_up_labels() -> dict[str, Label]:
    """A top-up plan's fields."""
    return {
        "code": CODE,
        "name": Label("方案名称", "Plan name", "如 充100送20。", "For example Top up 100, get 20."),
        "pay": Label("充值金额", "Amount paid", unit=MONEY),
        "bonus": Label("赠送金额", "Bonus", unit=MONEY),
        "starts_on": Label("开始日期", "Starts on"),
        "ends_on": Label("结束日期", "Ends on"),
    }


def top_up_warnings(plans: list[TopUpPlan], today: dt.date) -> list[str]:
    """What looks wrong in top-up plans: a bonus above what is paid, a plan already ended."""
    warnings = []
    for plan in plans:
        if plan.bonus > plan.pay:
            warnings.append(i18n.gettext("“%(name)s” gives a bonus larger than what is paid.", name=plan.name))
        if plan.ends_on and plan.ends_on < today:
            warnings.append(i18n.gettext("“%(name)s” has ended: it cannot be used.", name=plan.name))
    return warnings
