"""A program's points policy (积分有效期与冻结期): how long earned points wait before they can be
spent, when they expire, and how early members are warned. Kept in ``settings["points_policy"]``;
``PUT /programs/{id}/points-policy`` sets it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from membership.errors import Reason, ValidationError

Days = Annotated[int, msgspec.Meta(ge=1, le=36_500)]


class PointsPolicy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``pending_days``: points from purchases wait this many days (the return window) before they
    can be spent; a refund inside the window cancels them. ``expiry``: ``never``; ``days_after``
    earning (``expiry_days``); ``end_of_month`` or ``end_of_year`` of the month ``expiry_months``
    after earning (积分次年年底清零: ``end_of_year`` with 12 months). ``expiry_time``: ``exact``
    (``days_after`` points expire to the second, ``expiry_days`` after they were earned) or
    ``end_of_day`` (usable through the whole last day in the program's time zone: they expire at
    the local midnight that ends it); month and year ends are always local midnights.
    ``warn_days``: members hear (event ``points.expiring``) this many days before points expire;
    0 for no warning."""

    pending_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0
    expiry: Literal["never", "days_after", "end_of_month", "end_of_year"] = "never"
    expiry_days: Days | None = None
    expiry_months: Annotated[int, msgspec.Meta(ge=0, le=1200)] = 12
    expiry_time: Literal["exact", "end_of_day"] = "exact"
    warn_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0


def parse_points_policy(data: dict[str, Any]) -> PointsPolicy:
    """Validate a policy; ``ValidationError`` names what is wrong."""
    try:
        policy = msgspec.convert(data, PointsPolicy)
    except msgspec.ValidationError as exc:
        raise ValidationError(field="points_policy", reason=str(exc)) from exc
    if policy.expiry == "days_after" and policy.expiry_days is None:
        raise ValidationError(
            field="points_policy.expiry_days",
            reason=Reason("required when expiry is days_after", "expiry 为 days_after 时必填"),
        )
    return policy


def points_policy(settings: dict[str, Any], expiry_days: int | None) -> PointsPolicy:
    """The program's policy; a program that only set ``points_expiry_days`` expires points that
    many days after they are earned."""
    if "points_policy" in settings:
        return parse_points_policy(settings["points_policy"])
    if expiry_days is not None:
        return PointsPolicy(expiry="days_after", expiry_days=expiry_days)
    return PointsPolicy()


def _month_index(date: dt.date, months: int) -> int:
    return date.year * 12 + date.month - 1 + months


def expires_at(policy: PointsPolicy, earned_at: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """When points earned at ``earned_at`` expire (UTC); None for never. Month and year ends are
    local midnights of the program's zone (the first moment of the next month or year), and so is
    the end of a ``days_after`` expiry's last day under ``expiry_time`` ``end_of_day``."""
    if policy.expiry == "never":
        return None
    if policy.expiry == "days_after":
        moment = earned_at + dt.timedelta(days=policy.expiry_days or 0)
        if policy.expiry_time == "exact":
            return moment
        last_day = moment.astimezone(zone).date()
        return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    local = earned_at.astimezone(zone).date()
    index = _month_index(local, policy.expiry_months)
    if policy.expiry == "end_of_month":
        index += 1  # the first day of the following month
        year, month = divmod(index, 12)
        boundary = dt.date(year, month + 1, 1)
    else:
        boundary = dt.date(index // 12 + 1, 1, 1)
    return dt.datetime.combine(boundary, dt.time(), tzinfo=zone).astimezone(dt.UTC)
