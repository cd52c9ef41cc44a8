"""What a purchase earns under the program's points rules, and why each rule did or did not count.

Pure: the caller passes the rules, the purchase (:class:`~membership.ledger.rules.EarnContext`),
what it knows about the member (:class:`~membership.ledger.rulebook.MemberFacts`) and the
program's local date. All arithmetic is on integers and rounds down per transaction.

Which rules count (:func:`purchase_awards`; :func:`explain_purchase` says it rule by rule):

1. Rules are taken by ``priority`` (higher first), then ``code``. A rule applies when ``today``
   lies in ``starts_on``..``ends_on`` (both inclusive), the earning base is at least
   ``min_spend`` (inclusive: the minimum order amount), its ``conditions`` hold
   (:mod:`membership.ledger.conditions`: it counts the lines every line condition selects, and
   does not apply when none is left; each order condition holds) and its kind's own condition
   holds (a member day, a birthday window, a first purchase, lines of its categories or SKUs).
2. A rule with ``stop`` that applies ends the list: the rules after it do not run (caps still do).
3. ``multiplier`` rules below 100 % weigh their lines down: a line under ``multiplier_pct`` 0
   earns nothing from any rule, under 50 half of what each rule would give it (the lowest such
   multiplier of a line counts). The earning base's share of a set of lines is pro rata to the
   lines' amounts, each weighed so.
4. ``base_rate`` rules make the base, on their lines' share; bonuses (multipliers above 100,
   member days, birthdays, first purchase, fixed points per item or per order) come on top.
   Stacking is resolved in each of these two groups separately, so a bonus can never remove the
   base a multiplier needs (:func:`~membership.ledger.rulebook.resolve`).
5. Multipliers earn ``(multiplier_pct - 100)%`` of the base points of their lines: the points
   the base rules give those lines (each on the lines it counts). The tier's multiplier does the
   same on the whole base.
6. ``cap`` rules (whatever their ``stacking``) come last, in priority order, each applying its
   per-transaction then its per-day limit (``MemberFacts.points_earned_today`` counts: the points
   that local day's purchases kept after refunds): points above a limit are taken from the
   lowest-priority awards first, each trimmed award says so in its reason, and an award trimmed
   to 0 stays with 0 points, so ``simulate`` says what the cap took (the ledger writes no entry
   for it).

Birthday windows surround this year's birthday (:func:`~membership.members.birthdays.birthday_in_year`,
solar or lunar): the day, its ISO week (Monday–Sunday) or its solar month. A window never reaches
into another year's birthday: a 31 December birthday's week does not count on 2 January.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from membership.errors import Reason
from membership.ledger.conditions import (
    LineCondition,
    OrderFacts,
    compile_conditions,
    line_conditions_text,
    order_refusal,
    selected_lines,
)
from membership.ledger.rulebook import (
    BASE_KINDS,
    BONUS_KINDS,
    PURCHASE_KINDS,
    Earned,
    MemberFacts,
    PointsRule,
    points_en,
    resolve,
    times,
)
from membership.ledger.rules import Award, EarnContext
from membership.members.birthdays import birthday_in_year

Lines = tuple[int, ...]  # indexes of the purchase's lines


@dataclasses.dataclass(frozen=True)
class RuleCheck:
    """What ``simulate`` says of one rule: whether it counted, the points it kept and why, in
    Chinese and English (``【name】中文 / English``)."""

    rule: str
    name: str
    applied: bool
    points: int
    reason: str


def _text(rule: PointsRule, zh: str, en: str) -> str:
    return f"【{rule.name}】{zh} / {en}"


class _Purchase:
    """One purchase being evaluated: its lines, their weights, shares of the earning base."""

    def __init__(self, context: EarnContext, facts: MemberFacts, today: dt.date) -> None:
        self.context, self.facts, self.today = context, facts, today
        self.lines = context.lines
        self.all: Lines = tuple(range(len(self.lines)))
        self.total = sum(line.amount for line in self.lines)
        self.weights = [100] * len(self.lines)

    def money(self, amount: int) -> str:
        return self.context.program.money(amount)

    def share(self, lines: Iterable[int]) -> int:
        """The earning base's share of ``lines``: pro rata to their amounts, each weighed by the
        multipliers below 100 it is under (rounded down)."""
        if self.total <= 0:
            return 0
        weighed = sum(self.lines[i].amount * self.weights[i] for i in lines)
        base = self.context.earning_base
        return min(base * weighed // (self.total * 100), base)


# --- which rules apply ---------------------------------------------------------------------------


def _dates(rule: PointsRule, today: dt.date) -> str | None:
    if (rule.starts_on is None or rule.starts_on <= today) and (rule.ends_on is None or today <= rule.ends_on):
        return None
    period = f"{rule.starts_on or '…'} – {rule.ends_on or '…'}"
    return _text(rule, f"不在有效期内（{period}）", f"not valid on {today} ({period})")


def _is_member_day(params: dict[str, Any], today: dt.date) -> bool:
    return today.isoweekday() in params["weekdays"] or today.day in params["days_of_month"] or today in params["dates"]


WINDOWS = {"day": ("生日当天", "birthday"), "week": ("生日周", "birthday week"), "month": ("生日月", "birthday month")}


def _in_window(window: str, birthday: dt.date, today: dt.date) -> bool:
    """Whether ``today`` is on the birthday, in its ISO week (Mon–Sun) or in its solar month."""
    if window == "day":
        return today == birthday
    if window == "week":
        return today.isocalendar()[:2] == birthday.isocalendar()[:2]
    return (today.year, today.month) == (birthday.year, birthday.month)


def _own_condition(rule: PointsRule, purchase: _Purchase, lines: Lines) -> tuple[Lines, str | None]:
    """The kind's own condition: its lines (category and SKU multipliers), or why it does not hold."""
    facts, today = purchase.facts, purchase.today
    if rule.kind in ("category_multiplier", "sku_multiplier"):
        field, wanted = (
            ("category", rule.params["categories"])
            if rule.kind == "category_multiplier"
            else (
                "sku",
                rule.params["skus"],
            )
        )
        lines = tuple(i for i in lines if getattr(purchase.lines[i], field) in wanted)
        if not lines:
            names = "、".join(wanted)
            return lines, _text(rule, f"没有指定的商品（{names}）", f"no line of {', '.join(wanted)}")
    elif rule.kind == "member_day" and not _is_member_day(rule.params, today):
        return lines, _text(rule, f"{today} 不是会员日", f"{today} is not a member day")
    elif rule.kind == "birthday":
        if facts.birthday is None:
            return lines, _text(rule, "会员未登记生日", "no birthday on file")
        window = rule.params["window"]
        celebrated = birthday_in_year(facts.birthday, facts.birthday_calendar, today.year)
        if not _in_window(window, celebrated, today):
            zh, en = WINDOWS[window]
            return lines, _text(rule, f"不在{zh}内（今年生日 {celebrated}）", f"outside the {en} ({celebrated})")
    elif rule.kind == "first_purchase" and facts.purchases_before:
        before = facts.purchases_before
        return lines, _text(rule, f"不是首次消费（此前已消费 {before} 次）", f"not a first purchase ({before} before)")
    return lines, None


def _gate(rule: PointsRule, purchase: _Purchase, stopped_by: PointsRule | None) -> tuple[Lines, str | None]:
    """The lines ``rule`` counts, or why it does not apply."""
    refusal = _dates(rule, purchase.today)
    if refusal:
        return (), refusal
    if stopped_by is not None:
        return (), _text(
            rule,
            f"优先级更高的规则“{stopped_by.name}”已生效并设为到此为止",
            f"the higher-priority rule {stopped_by.name!r} applied and stops the rules after it",
        )
    base = purchase.context.earning_base
    if base < rule.min_spend:
        spent, minimum = purchase.money(base), purchase.money(rule.min_spend)
        return (), _text(rule, f"计积分金额 {spent} 未满 {minimum}", f"earning base {spent} below {minimum}")
    conditions = compile_conditions(rule.conditions)
    if isinstance(conditions, Reason):
        return (), _text(rule, conditions.zh, conditions.en)
    lines = selected_lines(conditions, purchase.lines)
    if not lines and any(isinstance(c.kind, LineCondition) for c in conditions):
        wanted = line_conditions_text(conditions)
        return (), _text(rule, f"没有符合条件的商品（{wanted.zh}）", f"no line matches ({wanted.en})")
    refusal_reason = order_refusal(
        conditions, OrderFacts(purchase.context, tuple(purchase.lines[i] for i in lines), purchase.today)
    )
    if refusal_reason is not None:
        return (), _text(rule, refusal_reason.zh, refusal_reason.en)
    return _own_condition(rule, purchase, lines)


# --- what applicable rules earn ------------------------------------------------------------------

BasePoints = Callable[[Lines], int]


def _multiplied(rule: PointsRule, base_points: int, what_zh: str, what_en: str) -> tuple[int, str]:
    pct = rule.params["multiplier_pct"]
    extra = base_points * (pct - 100) // 100
    return extra, _text(
        rule,
        f"{what_zh} {times(pct)}：基础 {base_points} 积分加赠 {extra} 积分",
        f"{what_en} {times(pct)}: +{extra} on a base of {points_en(base_points)}",
    )


def _base_rate(rule: PointsRule, purchase: _Purchase, lines: Lines) -> tuple[int, str]:
    points, per_amount = rule.params["points"], rule.params["per_amount"]
    share = purchase.share(lines)
    earned = purchase.context.program.divide(share * points, per_amount)  # the program's rounding
    spent, per = purchase.money(share), purchase.money(per_amount)
    return earned, _text(
        rule,
        f"计积分金额 {spent}，每 {per} 得 {points} 积分：{earned} 积分",
        f"{spent} earns {points_en(points)} per {per}: {points_en(earned)}",
    )


def _birthday(rule: PointsRule, purchase: _Purchase, base_points: int) -> tuple[int, str]:
    facts, today = purchase.facts, purchase.today
    assert facts.birthday is not None  # the gate checked it
    window, pct, gift = rule.params["window"], rule.params["multiplier_pct"], rule.params["gift_points"]
    celebrated = birthday_in_year(facts.birthday, facts.birthday_calendar, today.year)
    extra = base_points * (pct - 100) // 100 if pct else 0
    gift = 0 if gift is None or facts.birthday_gift_given_this_year else gift
    zh, en = [f"{WINDOWS[window][0]}（{celebrated}）"], [f"{WINDOWS[window][1]} ({celebrated})"]
    if extra:
        zh.append(f"{times(pct)}：基础 {base_points} 积分加赠 {extra} 积分")
        en.append(f"{times(pct)}: +{extra} on a base of {points_en(base_points)}")
    if gift:
        zh.append(f"生日礼 {gift} 积分")
        en.append(f"birthday gift {points_en(gift)}")
    return extra + gift, _text(rule, "，".join(zh), ", ".join(en))


def _per_item(rule: PointsRule, purchase: _Purchase, lines: Lines) -> tuple[int, str]:
    points, per_unit = rule.params["points"], rule.params["per"] == "unit"
    counted = [i for i in lines if purchase.weights[i]]
    units = sum(purchase.lines[i].quantity if per_unit else 1 for i in counted)
    earned = sum(points * (purchase.lines[i].quantity if per_unit else 1) * purchase.weights[i] // 100 for i in counted)
    if per_unit:
        return earned, _text(
            rule, f"{units} 件商品，每件 {points} 积分：{earned} 积分", f"{units} items, {points} each: {earned}"
        )
    return earned, _text(
        rule, f"{units} 种商品，每种 {points} 积分：{earned} 积分", f"{units} products, {points} each: {earned}"
    )


def _bonus(rule: PointsRule, purchase: _Purchase, lines: Lines, base_points: BasePoints) -> tuple[int, str]:
    """What one applicable bonus rule earns, with its reason."""
    if rule.kind in ("category_multiplier", "sku_multiplier", "multiplier"):
        amount = purchase.money(purchase.share(lines))
        if rule.kind == "category_multiplier":
            what = (f"指定品类（计积分金额 {amount}）", f"matching categories ({amount})")
        elif rule.kind == "sku_multiplier" or rule.conditions:
            what = (f"指定商品（计积分金额 {amount}）", f"matching products ({amount})")
        else:
            what = (f"全单（计积分金额 {amount}）", f"the whole purchase ({amount})")
        return _multiplied(rule, base_points(lines), *what)
    if rule.kind == "member_day":
        return _multiplied(rule, base_points(lines), "会员日", "member day")
    if rule.kind == "birthday":
        return _birthday(rule, purchase, base_points(lines))
    if rule.kind == "points_per_item":
        return _per_item(rule, purchase, lines)
    points = rule.params["points"]
    if rule.kind == "first_purchase":
        return points, _text(rule, f"首次消费奖励 {points} 积分", f"first purchase bonus {points_en(points)}")
    return points, _text(rule, f"每单 {points} 积分", f"{points_en(points)} per purchase")  # points_per_order


def _tier_bonus(facts: MemberFacts, base_points: int) -> list[Earned]:
    """The member's tier multiplier (a tier benefit) on the base: always stacks, trimmed first."""
    if facts.tier_multiplier_pct <= 100:
        return []
    params = {"multiplier_pct": facts.tier_multiplier_pct}
    tier = PointsRule(code="tier", kind="tier", name=facts.tier_name or "tier", priority=-(2**31), params=params)
    points, reason = _multiplied(tier, base_points, "等级", "tier")
    return [(tier, Award(tier.code, points, reason))] if points > 0 else []


def _trim(earned: list[Earned], limit: int, note: Callable[[int, int], str]) -> list[Earned]:
    """Cut the total of ``earned`` to ``limit``, lowest priority first, noting each cut award."""
    excess = sum(award.points for _, award in earned) - limit
    if excess <= 0:
        return earned
    kept: list[Earned] = []
    for rule, award in reversed(earned):
        cut = min(excess, award.points)
        excess -= cut
        if cut:
            award = Award(award.rule, award.points - cut, award.reason + note(award.points, award.points - cut))
        kept.append((rule, award))
    return kept[::-1]


def _capped(cap: PointsRule, earned: list[Earned], earned_today: int) -> list[Earned]:
    per_transaction, per_day = cap.params["per_transaction"], cap.params["per_day"]
    if per_transaction is not None:
        earned = _trim(
            earned,
            per_transaction,
            lambda was, now: (
                f" [单笔上限 {per_transaction} 积分：{was} → {now} / "
                f"capped at {per_transaction} per transaction: {was} → {now}]"
            ),
        )
    if per_day is not None:
        earned = _trim(
            earned,
            max(per_day - earned_today, 0),
            lambda was, now: (
                f" [每日上限 {per_day} 积分（今日已得 {earned_today}）：{was} → {now} / "
                f"capped at {per_day} per day ({earned_today} earned today): {was} → {now}]"
            ),
        )
    return earned


def _lost(kept: list[Earned], rule: PointsRule) -> str:
    """Why stacking left ``rule`` out of its group."""
    if not kept:
        return ""
    winner = kept[0][0]
    if winner.stacking == "exclusive":
        return f" [“{winner.name}”独享 / {winner.name!r} applies alone]"
    best = next((r for r, _ in kept if r.stacking == "best_of"), winner)
    return f" [同组只取最高：“{best.name}”积分更多 / best of its group: {best.name!r} earns more]"


# --- the whole purchase --------------------------------------------------------------------------


def _weigh(purchase: _Purchase, running: Sequence[tuple[PointsRule, Lines]]) -> dict[str, str]:
    """Apply the multipliers below 100 to their lines' weights; their explanations by code."""
    said = {}
    for rule, lines in running:
        pct = rule.params.get("multiplier_pct", 100) if rule.kind == "multiplier" else 100
        if pct >= 100:
            continue
        for i in lines:
            purchase.weights[i] = min(purchase.weights[i], pct)
        if pct:
            said[rule.code] = _text(
                rule, f"{len(lines)} 行商品积分 {times(pct)}", f"{len(lines)} lines earn {times(pct)}"
            )
        else:
            said[rule.code] = _text(rule, f"{len(lines)} 行商品不积分", f"{len(lines)} lines earn nothing")
    return said


def _evaluate(
    rules: Iterable[PointsRule], context: EarnContext, facts: MemberFacts, today: dt.date
) -> tuple[list[Award], list[RuleCheck]]:
    purchase = _Purchase(context, facts, today)
    considered = sorted((r for r in rules if r.kind in PURCHASE_KINDS), key=lambda r: (-r.priority, r.code))
    refused: dict[str, str] = {}
    running: list[tuple[PointsRule, Lines]] = []
    caps: list[PointsRule] = []
    stopped_by: PointsRule | None = None
    for rule in considered:
        if rule.kind == "cap":
            refusal = _dates(rule, today)
            if refusal:
                refused[rule.code] = refusal
            else:
                caps.append(rule)
            continue
        lines, refusal = _gate(rule, purchase, stopped_by)
        if refusal:
            refused[rule.code] = refusal
            continue
        running.append((rule, lines))
        if rule.stop:
            stopped_by = rule
    weighed = _weigh(purchase, running)
    counted = {rule.code: lines for rule, lines in running}
    said: dict[str, tuple[int, str]] = {}
    base_earned = []
    for rule, lines in running:
        if rule.kind in BASE_KINDS:
            said[rule.code] = _base_rate(rule, purchase, lines)
            base_earned += _earned(rule, said[rule.code])
    base = resolve(base_earned)

    def base_points(lines: Lines) -> int:
        wanted = set(lines)
        return sum(
            context.program.divide(
                purchase.share(i for i in counted[rule.code] if i in wanted) * rule.params["points"],
                rule.params["per_amount"],
            )
            for rule, _ in base
        )

    bonus_earned = []
    for rule, lines in running:
        if rule.kind in BONUS_KINDS and rule.code not in weighed:
            said[rule.code] = _bonus(rule, purchase, lines, base_points)
            bonus_earned += _earned(rule, said[rule.code])
    bonus = resolve(bonus_earned)
    earned = sorted(base + bonus, key=lambda item: (-item[0].priority, item[0].code))
    earned += _tier_bonus(facts, base_points(purchase.all))
    for cap in caps:
        before = sum(award.points for _, award in earned)
        earned = _capped(cap, earned, facts.points_earned_today)
        cut = before - sum(award.points for _, award in earned)
        refused.pop(cap.code, None)
        said[cap.code] = (
            0,
            _text(cap, f"封顶减去 {cut} 积分", f"took {points_en(cut)}")
            if cut
            else _text(cap, "未达上限", "not reached"),
        )
    final = {rule.code: award for rule, award in earned}
    checks = []
    for rule in considered:
        if rule.code in final:
            award = final[rule.code]
            checks.append(RuleCheck(rule.code, rule.name, True, award.points, award.reason))
        elif rule.code in refused:
            checks.append(RuleCheck(rule.code, rule.name, False, 0, refused[rule.code]))
        elif rule.code in weighed or rule.kind == "cap":
            checks.append(RuleCheck(rule.code, rule.name, True, 0, weighed.get(rule.code) or said[rule.code][1]))
        else:  # it applied, but earned nothing or stacking left it out
            points, reason = said[rule.code]
            group = base if rule.kind in BASE_KINDS else bonus
            checks.append(RuleCheck(rule.code, rule.name, False, 0, reason + (_lost(group, rule) if points else "")))
    if "tier" in final:
        tier = final["tier"]
        checks.append(RuleCheck("tier", facts.tier_name or "tier", True, tier.points, tier.reason))
    return [award for _, award in earned], checks


def _earned(rule: PointsRule, said: tuple[int, str]) -> list[Earned]:
    """``rule``'s award of what it earned (none when 0)."""
    points, reason = said
    return [(rule, Award(rule.code, points, reason))] if points > 0 else []


def purchase_awards(
    rules: Iterable[PointsRule], context: EarnContext, facts: MemberFacts, today: dt.date
) -> list[Award]:
    """The awards a purchase earns under ``rules`` on the program's local date ``today``.

    Awards come in priority order (higher first, then code), each above 0 points unless a cap
    cut it to 0 (its reason says so); see the module docstring for which rules count.
    """
    return _evaluate(rules, context, facts, today)[0]


def explain_purchase(
    rules: Iterable[PointsRule], context: EarnContext, facts: MemberFacts, today: dt.date
) -> list[RuleCheck]:
    """Each purchase rule (and the tier's multiplier, when it earned) in the order they are
    evaluated: whether it counted, the points it kept and why, or why it did not apply."""
    return _evaluate(rules, context, facts, today)[1]
