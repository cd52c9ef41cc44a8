"""The rulebook: points rules as data, parsed strictly, and the engine's shared parts.

A :class:`PointsRule` is plain data (stored as JSON, edited through the API); :func:`parse_rule`
validates one, including its kind's ``params`` and its ``conditions``
(:mod:`membership.ledger.conditions`). The engine reads no database: the caller passes the rules,
what it knows about the member (:class:`MemberFacts`) and the program's local date. All arithmetic
is on integers and rounds down per transaction. What a purchase earns is worked out in
:mod:`membership.ledger.purchase_rules`; sign-up, referral and daily sign-in rules here.

Stacking (:func:`resolve`), in a group of rules that earn: the highest-priority ``exclusive``
rule wins alone (of equal priorities, the one earning most, then by code); otherwise every
``stack`` rule counts, plus the ``best_of`` rule with the most points (ties: priority, code).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

import msgspec

from membership.errors import Reason, ValidationError
from membership.ledger.conditions import parse_conditions
from membership.ledger.rule_kinds import PARAMS, Points
from membership.ledger.rules import Award

STACKING = ("stack", "best_of", "exclusive")
BASE_KINDS = frozenset({"base_rate"})
BONUS_KINDS = frozenset(
    {
        "category_multiplier",
        "sku_multiplier",
        "multiplier",
        "member_day",
        "birthday",
        "first_purchase",
        "points_per_item",
        "points_per_order",
    }
)
PURCHASE_KINDS = BASE_KINDS | BONUS_KINDS | {"cap"}


RULE_CODE = r"^[A-Za-z0-9_.-]+$"
"""What a new rule's code may hold: it goes into URLs (``/points-rules/{code}``) and ledger entries."""
Priority = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]


class PointsRule(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One configured rule; build it with :func:`parse_rule`, which validates ``params``.

    ``priority``: higher is evaluated (and kept under a cap) first. ``stacking``: ``stack``,
    ``best_of`` or ``exclusive``. ``starts_on``/``ends_on``: inclusive local dates, None = open.
    ``min_spend``: the earning base must be at least this (minor units: the minimum order
    amount). ``params``: per ``kind``, see :data:`~membership.ledger.rule_kinds.PARAMS`.
    ``conditions``: which lines the rule counts and when it applies (SKUs, categories, brands,
    labels, a minimum quantity, a code typed at the till, a pack's own kinds; see
    :mod:`membership.ledger.conditions`). ``stop``: once this rule applies, the rules after it
    (lower priority; caps excepted) do not run.
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
    conditions: list[dict[str, Any]] = []
    stop: bool = False


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
    if (rule.conditions or rule.stop) and rule.kind not in BASE_KINDS | BONUS_KINDS:
        raise ValidationError(
            field="conditions" if rule.conditions else "stop",
            reason=Reason(
                "only rules that earn on purchases take conditions or stop", "只有消费积分规则可以设置条件或“到此为止”"
            ),
        )
    conditions = parse_conditions(rule.conditions) if rule.conditions else []
    return msgspec.structs.replace(rule, params=msgspec.structs.asdict(params), conditions=conditions)


# --- money and multiplier text (integers only) --------------------------------------------------


def points_en(points: int) -> str:
    """``1 point``, ``2 points``."""
    return f"{points} point" if points == 1 else f"{points} points"


def times(pct: int) -> str:
    """A multiplier in percent as staff read it: 200 → ``×2``, 150 → ``×1.5``."""
    whole, hundredths = divmod(pct, 100)
    return f"×{whole}" + (f".{hundredths:02d}".rstrip("0") if hundredths else "")


# --- resolving which rules count ----------------------------------------------------------------

Earned = tuple[PointsRule, Award]


def ordered(rules: Iterable[PointsRule], today: dt.date, kinds: Iterable[str]) -> list[PointsRule]:
    """Rules of ``kinds`` valid on ``today``, by priority (higher first), then code."""
    valid = [
        rule
        for rule in rules
        if rule.kind in kinds
        and (rule.starts_on is None or rule.starts_on <= today)
        and (rule.ends_on is None or today <= rule.ends_on)
    ]
    return sorted(valid, key=lambda rule: (-rule.priority, rule.code))


def resolve(earned: list[Earned]) -> list[Earned]:
    """Stacking within one group of ``earned`` (already in priority order, all above 0 points)."""
    exclusive = [item for item in earned if item[0].stacking == "exclusive"]
    if exclusive:
        top = [item for item in exclusive if item[0].priority == exclusive[0][0].priority]
        return [max(top, key=lambda item: item[1].points)]  # of equal priorities the richest; then code
    best_of = [item for item in earned if item[0].stacking == "best_of"]
    best = max(best_of, key=lambda item: item[1].points, default=None)
    return [item for item in earned if item[0].stacking == "stack" or item is best]


def award_of(rule: PointsRule, points: int, reason: str) -> list[Earned]:
    """``rule``'s award of ``points`` (none when 0), its reason headed by the rule's name."""
    return [(rule, Award(rule.code, points, f"【{rule.name}】{reason}"))] if points > 0 else []


# --- sign-up, referral, sign-in -----------------------------------------------------------------


def sign_up_awards(rules: Iterable[PointsRule], today: dt.date) -> list[Award]:
    """The points a new member earns on signing up on ``today`` (``sign_up`` rules)."""
    earned: list[Earned] = []
    for rule in ordered(rules, today, {"sign_up"}):
        points = rule.params["points"]
        earned += award_of(rule, points, f"注册奖励 {points} 积分 / sign-up bonus {points_en(points)}")
    return [award for _, award in resolve(earned)]


def referral_awards(rules: Iterable[PointsRule], today: dt.date) -> tuple[list[Award], list[Award]]:
    """``(referrer's awards, referee's awards)`` when a referred member joins on ``today``.

    Stacking weighs each ``referral`` rule by the points it gives both members together.
    """
    together = [
        (rule, Award(rule.code, rule.params["referrer_points"] + rule.params["referee_points"], ""))
        for rule in ordered(rules, today, {"referral"})
    ]
    referrer: list[Award] = []
    referee: list[Award] = []
    for rule, _ in resolve(together):
        mine, theirs = rule.params["referrer_points"], rule.params["referee_points"]
        referrer += [
            award for _, award in award_of(rule, mine, f"推荐新会员奖励 {mine} 积分 / referral bonus {points_en(mine)}")
        ]
        welcome = f"受邀入会奖励 {theirs} 积分 / welcome bonus for a referred member {points_en(theirs)}"
        referee += [award for _, award in award_of(rule, theirs, welcome)]
    return referrer, referee


def sign_in_awards(rules: Iterable[PointsRule], today: dt.date, streak: int) -> list[Award]:
    """The points for signing in on ``today``, ``streak`` days in a row counting today.

    Each ``daily_sign_in`` rule gives its ``points``, plus its ``streak_bonus`` whenever the streak
    reaches a multiple of its ``streak_days``.
    """
    earned: list[Earned] = []
    for rule in ordered(rules, today, {"daily_sign_in"}):
        points, days, bonus = rule.params["points"], rule.params["streak_days"], rule.params["streak_bonus"]
        bonus = bonus if streak > 0 and streak % days == 0 else 0
        zh, en = f"每日签到 {points} 积分", f"daily sign-in {points_en(points)}"
        if bonus:
            zh += f"；连续签到 {streak} 天奖励 {bonus} 积分"
            en += f"; {streak}-day streak bonus {points_en(bonus)}"
        earned += award_of(rule, points + bonus, f"{zh} / {en}")
    return [award for _, award in resolve(earned)]
