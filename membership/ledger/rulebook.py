"""The rulebook: points rules as data, and a pure engine that turns them into awards.

A :class:`PointsRule` is plain data (stored as JSON, edited through the API); :func:`parse_rule`
validates one, including its kind's ``params``. The engine reads no database: the caller passes
the rules, the purchase (:class:`~membership.ledger.rules.EarnContext`), what it knows about the
member (:class:`MemberFacts`) and the program's local date. All arithmetic is on integers and
rounds down per transaction.

Which rules count (:func:`purchase_awards`):

1. A rule applies when ``today`` lies in ``starts_on``..``ends_on`` (both inclusive), the earning
   base is at least ``min_spend`` (inclusive), its kind's condition holds and it earns more than
   0 points. Rules are taken by ``priority`` (higher first), then ``code``.
2. ``base_rate`` rules make the base; multipliers, member days, birthdays and the first-purchase
   bonus are bonuses on it. Stacking is resolved in each of these two groups separately, so a
   bonus can never remove the base a multiplier needs.
3. In a group, the highest-priority applicable ``exclusive`` rule wins alone (of equal
   priorities, the one earning most, then by code); otherwise every
   ``stack`` rule counts, plus the ``best_of`` rule with the most points (ties: priority, code).
4. Multipliers earn ``(multiplier_pct - 100)%`` of the base points of what they multiply: the
   whole earning base, or the matching lines' share of it (pro rata to line amounts).
5. ``cap`` rules (whatever their ``stacking``) come last, in priority order, each applying its
   per-transaction then its per-day limit (``MemberFacts.points_earned_today`` counts: the points
   that local day's purchases kept after refunds): points above a limit are taken from the
   lowest-priority awards first, each trimmed award says so in its reason, and an award trimmed
   to 0 stays with 0 points, so ``simulate`` says what the cap took (the ledger writes no entry
   for it).

Birthday windows surround this year's birthday (:func:`~membership.members.birthdays.birthday_in_year`,
solar or lunar): the day, its ISO week (Monday–Sunday) or its solar month. A window never reaches
into another year's birthday: a 31 December birthday's week does not count on 2 January.

Sign-up, referral and daily sign-in rules are resolved the same way in their own flows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import msgspec

from membership.errors import Reason, ValidationError
from membership.ledger.rule_kinds import PARAMS, Points
from membership.ledger.rules import Award, EarnContext, LineInput
from membership.members.birthdays import birthday_in_year

STACKING = ("stack", "best_of", "exclusive")
BASE_KINDS = frozenset({"base_rate"})
BONUS_KINDS = frozenset({"category_multiplier", "sku_multiplier", "member_day", "birthday", "first_purchase"})


RULE_CODE = r"^[A-Za-z0-9_.-]+$"
"""What a new rule's code may hold: it goes into URLs (``/points-rules/{code}``) and ledger entries."""
Priority = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]


class PointsRule(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One configured rule; build it with :func:`parse_rule`, which validates ``params``.

    ``priority``: higher is evaluated (and kept under a cap) first. ``stacking``: ``stack``,
    ``best_of`` or ``exclusive``. ``starts_on``/``ends_on``: inclusive local dates, None = open.
    ``min_spend``: the earning base must be at least this (minor units). ``params``: per ``kind``,
    see :data:`~membership.ledger.rule_kinds.PARAMS`.
    """

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    kind: str
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    priority: Priority = 0
    stacking: str = "stack"
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    min_spend: Points = 0
    params: dict[str, Any] = {}


@dataclasses.dataclass(frozen=True)
class MemberFacts:
    """What the caller knows about the member when a purchase earns."""

    birthday: dt.date | None = None
    birthday_calendar: str = "solar"
    purchases_before: int = 0
    points_earned_today: int = 0
    birthday_gift_given_this_year: bool = False
    tier_name: str = ""
    tier_multiplier_pct: int = 100


T = TypeVar("T")


def _convert(data: Any, type_: type[T], prefix: str) -> T:
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        field = f"{prefix}.{path}" if prefix and path else path or prefix or "rule"
        raise ValidationError(field=field, reason=reason) from None


def parse_rule(data: dict[str, Any]) -> PointsRule:
    """A validated rule from JSON-like ``data``; raises :class:`ValidationError` naming the field.

    >>> parse_rule({"code": "base", "kind": "base_rate", "name": "1 point per yuan",
    ...             "params": {"points": 1, "per_amount": 100}}).params
    {'points': 1, 'per_amount': 100}
    """
    rule = _convert(data, PointsRule, "")
    if rule.kind not in PARAMS:
        raise ValidationError(
            field="kind", reason=Reason(f"must be one of {', '.join(PARAMS)}", f"只能是 {', '.join(PARAMS)} 之一")
        )
    if rule.stacking not in STACKING:
        raise ValidationError(
            field="stacking",
            reason=Reason(f"must be one of {', '.join(STACKING)}", f"只能是 {', '.join(STACKING)} 之一"),
        )
    if rule.starts_on and rule.ends_on and rule.starts_on > rule.ends_on:
        raise ValidationError(field="ends_on", reason=Reason("must not be before starts_on", "不能早于 starts_on"))
    params = _convert(rule.params, PARAMS[rule.kind], "params")
    params.check()
    return msgspec.structs.replace(rule, params=msgspec.structs.asdict(params))


# --- money and multiplier text (integers only) --------------------------------------------------


def _points_en(points: int) -> str:
    return f"{points} point" if points == 1 else f"{points} points"


def _times(pct: int) -> str:
    whole, hundredths = divmod(pct, 100)
    return f"×{whole}" + (f".{hundredths:02d}".rstrip("0") if hundredths else "")


# --- resolving which rules count ----------------------------------------------------------------

Earned = tuple[PointsRule, Award]


def _ordered(rules: Iterable[PointsRule], today: dt.date, kinds: Iterable[str]) -> list[PointsRule]:
    """Rules of ``kinds`` valid on ``today``, by priority (higher first), then code."""
    valid = [
        rule
        for rule in rules
        if rule.kind in kinds
        and (rule.starts_on is None or rule.starts_on <= today)
        and (rule.ends_on is None or today <= rule.ends_on)
    ]
    return sorted(valid, key=lambda rule: (-rule.priority, rule.code))


def _resolve(earned: list[Earned]) -> list[Earned]:
    """Stacking within one group of ``earned`` (already in priority order, all above 0 points)."""
    exclusive = [item for item in earned if item[0].stacking == "exclusive"]
    if exclusive:
        top = [item for item in exclusive if item[0].priority == exclusive[0][0].priority]
        return [max(top, key=lambda item: item[1].points)]  # of equal priorities the richest; then code
    best_of = [item for item in earned if item[0].stacking == "best_of"]
    best = max(best_of, key=lambda item: item[1].points, default=None)
    return [item for item in earned if item[0].stacking == "stack" or item is best]


def _award(rule: PointsRule, points: int, reason: str) -> list[Earned]:
    return [(rule, Award(rule.code, points, f"【{rule.name}】{reason}"))] if points > 0 else []


# --- purchases ----------------------------------------------------------------------------------


def _base_rate(rule: PointsRule, context: EarnContext) -> list[Earned]:
    points, per_amount = rule.params["points"], rule.params["per_amount"]
    earned = context.program.divide(context.earning_base * points, per_amount)  # the program's rounding
    spent, per = context.program.money(context.earning_base), context.program.money(per_amount)
    return _award(
        rule,
        earned,
        f"计积分金额 {spent}，每 {per} 得 {points} 积分：{earned} 积分"
        f" / {spent} earns {_points_en(points)} per {per}: {_points_en(earned)}",
    )


def _line_share(context: EarnContext, matches: Callable[[LineInput], bool]) -> int:
    """The matching lines' share of the earning base, pro rata to line amounts (rounded down)."""
    lines_total = sum(line.amount for line in context.lines)
    matched = sum(line.amount for line in context.lines if matches(line))
    return min(context.earning_base * matched // lines_total, context.earning_base) if lines_total > 0 else 0


def _multiplied(rule: PointsRule, base_points: int, what_zh: str, what_en: str) -> list[Earned]:
    pct = rule.params["multiplier_pct"]
    extra = base_points * (pct - 100) // 100
    return _award(
        rule,
        extra,
        f"{what_zh} {_times(pct)}：基础 {base_points} 积分加赠 {extra} 积分"
        f" / {what_en} {_times(pct)}: +{extra} on a base of {_points_en(base_points)}",
    )


def _lines_multiplied(rule: PointsRule, context: EarnContext, base_points: Callable[[int], int]) -> list[Earned]:
    if rule.kind == "category_multiplier":
        wanted, field = set(rule.params["categories"]), "category"
    else:
        wanted, field = set(rule.params["skus"]), "sku"
    share = _line_share(context, lambda line: getattr(line, field) in wanted)
    if not share:
        return []
    amount = context.program.money(share)
    label_zh = "指定品类" if field == "category" else "指定商品"
    label_en = "matching categories" if field == "category" else "matching products"
    return _multiplied(rule, base_points(share), f"{label_zh}（计积分金额 {amount}）", f"{label_en} ({amount})")


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


def _birthday(rule: PointsRule, facts: MemberFacts, today: dt.date, base_points: int) -> list[Earned]:
    if facts.birthday is None:
        return []
    window, pct, gift = rule.params["window"], rule.params["multiplier_pct"], rule.params["gift_points"]
    celebrated = birthday_in_year(facts.birthday, facts.birthday_calendar, today.year)
    if not _in_window(window, celebrated, today):
        return []
    extra = base_points * (pct - 100) // 100 if pct else 0
    gift = 0 if gift is None or facts.birthday_gift_given_this_year else gift
    zh, en = [f"{WINDOWS[window][0]}（{celebrated}）"], [f"{WINDOWS[window][1]} ({celebrated})"]
    if extra:
        zh.append(f"{_times(pct)}：基础 {base_points} 积分加赠 {extra} 积分")
        en.append(f"{_times(pct)}: +{extra} on a base of {_points_en(base_points)}")
    if gift:
        zh.append(f"生日礼 {gift} 积分")
        en.append(f"birthday gift {_points_en(gift)}")
    return _award(rule, extra + gift, f"{'，'.join(zh)} / {', '.join(en)}")


def _bonus(
    rule: PointsRule, context: EarnContext, facts: MemberFacts, today: dt.date, base_points: Callable[[int], int]
) -> list[Earned]:
    """The award of one bonus rule, or none when its kind's condition does not hold."""
    if rule.kind in ("category_multiplier", "sku_multiplier"):
        return _lines_multiplied(rule, context, base_points)
    if rule.kind == "member_day":
        if not _is_member_day(rule.params, today):
            return []
        return _multiplied(rule, base_points(context.earning_base), "会员日", "member day")
    if rule.kind == "birthday":
        return _birthday(rule, facts, today, base_points(context.earning_base))
    if rule.kind == "first_purchase" and facts.purchases_before == 0:
        points = rule.params["points"]
        return _award(rule, points, f"首次消费奖励 {points} 积分 / first purchase bonus {_points_en(points)}")
    return []


def _tier_bonus(facts: MemberFacts, base_points: int) -> list[Earned]:
    """The member's tier multiplier (a tier benefit) on the base: always stacks, trimmed first."""
    if facts.tier_multiplier_pct <= 100:
        return []
    params = {"multiplier_pct": facts.tier_multiplier_pct}
    tier = PointsRule(code="tier", kind="tier", name=facts.tier_name or "tier", priority=-(2**31), params=params)
    return _multiplied(tier, base_points, "等级", "tier")


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


def purchase_awards(
    rules: Iterable[PointsRule], context: EarnContext, facts: MemberFacts, today: dt.date
) -> list[Award]:
    """The awards a purchase earns under ``rules`` on the program's local date ``today``.

    Awards come in priority order (higher first, then code), each above 0 points unless a cap
    cut it to 0 (its reason says so); see the module docstring for which rules count.
    """
    kinds = BASE_KINDS | BONUS_KINDS | {"cap"}
    applicable = [rule for rule in _ordered(rules, today, kinds) if context.earning_base >= rule.min_spend]
    base = _resolve([item for rule in applicable if rule.kind == "base_rate" for item in _base_rate(rule, context)])

    def base_points(amount: int) -> int:
        return sum(
            context.program.divide(amount * rule.params["points"], rule.params["per_amount"]) for rule, _ in base
        )

    bonus = _resolve(
        [
            item
            for rule in applicable
            if rule.kind in BONUS_KINDS
            for item in _bonus(rule, context, facts, today, base_points)
        ]
    )
    earned = sorted(base + bonus, key=lambda item: (-item[0].priority, item[0].code))
    earned += _tier_bonus(facts, base_points(context.earning_base))
    for cap in (rule for rule in applicable if rule.kind == "cap"):
        earned = _capped(cap, earned, facts.points_earned_today)
    return [award for _, award in earned]


# --- sign-up, referral, sign-in -----------------------------------------------------------------


def sign_up_awards(rules: Iterable[PointsRule], today: dt.date) -> list[Award]:
    """The points a new member earns on signing up on ``today`` (``sign_up`` rules)."""
    earned: list[Earned] = []
    for rule in _ordered(rules, today, {"sign_up"}):
        points = rule.params["points"]
        earned += _award(rule, points, f"注册奖励 {points} 积分 / sign-up bonus {_points_en(points)}")
    return [award for _, award in _resolve(earned)]


def referral_awards(rules: Iterable[PointsRule], today: dt.date) -> tuple[list[Award], list[Award]]:
    """``(referrer's awards, referee's awards)`` when a referred member joins on ``today``.

    Stacking weighs each ``referral`` rule by the points it gives both members together.
    """
    together = [
        (rule, Award(rule.code, rule.params["referrer_points"] + rule.params["referee_points"], ""))
        for rule in _ordered(rules, today, {"referral"})
    ]
    referrer: list[Award] = []
    referee: list[Award] = []
    for rule, _ in _resolve(together):
        mine, theirs = rule.params["referrer_points"], rule.params["referee_points"]
        referrer += [
            award for _, award in _award(rule, mine, f"推荐新会员奖励 {mine} 积分 / referral bonus {_points_en(mine)}")
        ]
        welcome = f"受邀入会奖励 {theirs} 积分 / welcome bonus for a referred member {_points_en(theirs)}"
        referee += [award for _, award in _award(rule, theirs, welcome)]
    return referrer, referee


def sign_in_awards(rules: Iterable[PointsRule], today: dt.date, streak: int) -> list[Award]:
    """The points for signing in on ``today``, ``streak`` days in a row counting today.

    Each ``daily_sign_in`` rule gives its ``points``, plus its ``streak_bonus`` whenever the streak
    reaches a multiple of its ``streak_days``.
    """
    earned: list[Earned] = []
    for rule in _ordered(rules, today, {"daily_sign_in"}):
        points, days, bonus = rule.params["points"], rule.params["streak_days"], rule.params["streak_bonus"]
        bonus = bonus if streak > 0 and streak % days == 0 else 0
        zh, en = f"每日签到 {points} 积分", f"daily sign-in {_points_en(points)}"
        if bonus:
            zh += f"；连续签到 {streak} 天奖励 {bonus} 积分"
            en += f"; {streak}-day streak bonus {_points_en(bonus)}"
        earned += _award(rule, points + bonus, f"{zh} / {en}")
    return [award for _, award in _resolve(earned)]
