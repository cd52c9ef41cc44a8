"""Top-up plans (储值方案, 充100送20): pay ``pay`` and get ``bonus`` more to spend, on the days
the plan runs. Kept in ``settings["top_up_plans"]``; ``PUT /programs/{id}/top-up-plans`` sets
them. The bonus is stored apart from the principal: spent last, never paid out as cash."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from membership.errors import Reason, ValidationError
from membership.org.service import ProgramConfig

Money = Annotated[int, msgspec.Meta(ge=1, le=10**12)]


class TopUpPlan(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Pay ``pay`` (minor units), receive ``bonus`` on top; ``starts_on``/``ends_on`` inclusive
    local dates (None: open)."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    pay: Money
    bonus: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


def top_up_plans(settings: dict[str, Any]) -> list[TopUpPlan]:
    """The program's plans."""
    return msgspec.convert(settings.get("top_up_plans", []), list[TopUpPlan])


def parse_top_up_plans(plans: list[dict[str, Any]]) -> list[TopUpPlan]:
    """Validate plans: codes once, dates in order."""
    try:
        parsed = msgspec.convert(plans, list[TopUpPlan])
    except msgspec.ValidationError as exc:
        raise ValidationError(field="plans", reason=str(exc)) from exc
    if len({plan.code for plan in parsed}) != len(parsed):
        raise ValidationError(field="plans", reason=Reason("each plan code once", "每个储值方案编码只能出现一次"))
    for plan in parsed:
        if plan.starts_on and plan.ends_on and plan.starts_on > plan.ends_on:
            raise ValidationError(
                field="plans",
                reason=Reason(
                    f"plan {plan.code!r} ends before it starts", f"储值方案 {plan.code!r} 的结束日期早于开始日期"
                ),
            )
    return parsed


def plan_bonus(program: ProgramConfig, code: str, amount: int, today: dt.date | None = None) -> int:
    """The bonus for paying ``amount`` under plan ``code`` today (local); refuses an unknown plan,
    an amount other than the plan's, or a day the plan does not run."""
    today = today or dt.datetime.now(program.zone).date()
    for plan in top_up_plans(program.settings):
        if plan.code != code:
            continue
        if amount != plan.pay:
            reason = Reason(
                f"plan {code!r} takes exactly {plan.pay} minor units ({program.money(plan.pay)})",
                f"储值方案 {code!r} 须正好充值 {plan.pay}（最小货币单位，即 {program.money(plan.pay)}）",
            )
            raise ValidationError(field="amount", reason=reason)
        if (plan.starts_on and today < plan.starts_on) or (plan.ends_on and today > plan.ends_on):
            raise ValidationError(
                field="plan", reason=Reason(f"plan {code!r} does not run today", f"储值方案 {code!r} 今天不可用")
            )
        return plan.bonus
    raise ValidationError(field="plan", reason=Reason(f"no top-up plan {code!r}", f"没有储值方案 {code!r}"))
