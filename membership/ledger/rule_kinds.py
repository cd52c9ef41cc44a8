"""The kinds of points rules and the ``params`` each one takes.

Each kind's params are a msgspec Struct: per-field limits are msgspec constraints (ints only, so
``true`` or ``1.5`` are refused), cross-field conditions are in ``check``. The engine that reads
them is :mod:`membership.ledger.rulebook`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from membership.errors import Reason, ValidationError

Points = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
Percent = Annotated[int, msgspec.Meta(ge=101, le=10_000)]
Names = Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]


class _Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Params of one kind; unknown fields are refused."""

    def check(self) -> None:
        """Cross-field checks msgspec's per-field constraints cannot express."""


class BaseRate(_Params):
    """``points`` per ``per_amount`` minor units of the earning base, rounded down."""

    points: Positive
    per_amount: Positive


class CategoryMultiplier(_Params):
    """Lines in ``categories`` earn ``multiplier_pct`` % of their base points (200 = double)."""

    categories: Names
    multiplier_pct: Percent


class SkuMultiplier(_Params):
    """Lines whose SKU is in ``skus`` earn ``multiplier_pct`` % of their base points."""

    skus: Names
    multiplier_pct: Percent


class Multiplier(_Params):
    """The lines the rule's conditions select (all lines without any) earn ``multiplier_pct`` %
    of their base points: 200 doubles them, 0 makes them earn nothing from any rule (50 halves
    what every rule gives them)."""

    multiplier_pct: Annotated[int, msgspec.Meta(ge=0, le=10_000)]

    def check(self) -> None:
        if self.multiplier_pct == 100:
            raise ValidationError(
                field="params.multiplier_pct",
                reason=Reason(
                    "100 changes nothing: below 100 lowers, above raises", "100 不起作用：低于 100 减少，高于 100 加赠"
                ),
            )


class PointsPerItem(_Params):
    """``points`` for each selected line (``per`` ``line``: a product, whatever its quantity) or
    for each item of it (``per`` ``unit``)."""

    points: Positive
    per: Literal["line", "unit"] = "unit"


class PointsPerOrder(_Params):
    """``points`` for the purchase (a visit) when the rule's conditions hold."""

    points: Positive


class MemberDay(_Params):
    """On ISO ``weekdays`` (1 = Monday), ``days_of_month`` or ``dates``: ``multiplier_pct`` % of the base."""

    multiplier_pct: Percent
    weekdays: list[Annotated[int, msgspec.Meta(ge=1, le=7)]] = []
    days_of_month: list[Annotated[int, msgspec.Meta(ge=1, le=31)]] = []
    dates: list[dt.date] = []

    def check(self) -> None:
        if not (self.weekdays or self.days_of_month or self.dates):
            raise ValidationError(
                field="params",
                reason=Reason("give weekdays, days_of_month or dates", "请给出 weekdays、days_of_month 或 dates"),
            )


class Birthday(_Params):
    """In the birthdays ``window``: ``multiplier_pct`` % of the base and/or ``gift_points`` once a year."""

    window: Literal["day", "week", "month"]
    multiplier_pct: Percent | None = None
    gift_points: Positive | None = None

    def check(self) -> None:
        if self.multiplier_pct is None and self.gift_points is None:
            raise ValidationError(
                field="params",
                reason=Reason("give multiplier_pct, gift_points or both", "请给出 multiplier_pct、gift_points 或两者"),
            )


class FixedPoints(_Params):
    """``points`` once (``sign_up``; ``first_purchase`` when the member never bought before)."""

    points: Positive


class Referral(_Params):
    """Points for the member who referred (``referrer_points``) and the one who joined."""

    referrer_points: Points
    referee_points: Points

    def check(self) -> None:
        if not (self.referrer_points or self.referee_points):
            raise ValidationError(
                field="params",
                reason=Reason(
                    "referrer_points or referee_points must be above 0", "referrer_points 或 referee_points 须大于 0"
                ),
            )


class DailySignIn(_Params):
    """``points`` a day, plus ``streak_bonus`` each time the streak reaches a multiple of ``streak_days``."""

    points: Points
    streak_days: Positive
    streak_bonus: Points

    def check(self) -> None:
        if not (self.points or self.streak_bonus):
            raise ValidationError(
                field="params",
                reason=Reason("points or streak_bonus must be above 0", "points 或 streak_bonus 须大于 0"),
            )


class Cap(_Params):
    """At most ``per_transaction`` points a purchase, and ``per_day`` points a day with earlier ones."""

    per_transaction: Points | None = None
    per_day: Points | None = None

    def check(self) -> None:
        if self.per_transaction is None and self.per_day is None:
            raise ValidationError(
                field="params",
                reason=Reason("give per_transaction, per_day or both", "请给出 per_transaction、per_day 或两者"),
            )


#: The params each rule kind takes.
PARAMS: dict[str, type[_Params]] = {
    "base_rate": BaseRate,
    "category_multiplier": CategoryMultiplier,
    "sku_multiplier": SkuMultiplier,
    "multiplier": Multiplier,
    "points_per_item": PointsPerItem,
    "points_per_order": PointsPerOrder,
    "member_day": MemberDay,
    "birthday": Birthday,
    "sign_up": FixedPoints,
    "first_purchase": FixedPoints,
    "referral": Referral,
    "daily_sign_in": DailySignIn,
    "cap": Cap,
}
