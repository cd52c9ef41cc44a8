"""Next-order coupons (下次消费券): coupons a purchase issues, usable from the next purchase.

A template with ``issue_on`` ``purchase`` is issued to the buyer once per sale (occasion
``purchase:<sale id>``) when the sale qualifies: what the member paid reaches the template's
``issue_min_spend`` (inclusive) and its ``issue_conditions`` hold. Those are the conditions of
points rules (:mod:`membership.ledger.conditions`): lines by SKU, category, brand or label, a
minimum quantity of those lines, a code typed at the till, a pack's own kinds. The coupons are
issued at the end of the purchase, after it used its own coupons, so they serve from the next
purchase (their validity starts on the day of issue, as the template says). ``simulate`` says
which templates a purchase would issue. Refunding the whole sale voids the coupons it issued that
are still unused; a partial refund leaves them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.coupons.service import ended, issue_rows, purchase_templates, void_unused
from membership.db.sql import json_column
from membership.ledger.conditions import (
    LineCondition,
    OrderFacts,
    compile_conditions,
    order_refusal,
    selected_lines,
)
from membership.ledger.rules import EarnContext
from membership.org.service import ProgramConfig


def occasion_of(sale_id: uuid.UUID) -> str:
    """The occasion of the coupons a sale issues: each template once per sale."""
    return f"purchase:{sale_id}"


def qualifies(template: dict[str, Any], context: EarnContext) -> bool:
    """Whether the purchase ``context`` issues ``template`` (a coupon_template row)."""
    if context.total < int(template["issue_min_spend"]):
        return False
    conditions = compile_conditions(json_column(template["issue_conditions"]) or [])
    if not isinstance(conditions, list):  # a kind no plugin registers now
        return False
    lines = selected_lines(conditions, context.lines)
    if not lines and any(isinstance(c.kind, LineCondition) for c in conditions):
        return False
    today = context.occurred_at.astimezone(context.program.zone).date()
    return order_refusal(conditions, OrderFacts(context, tuple(context.lines[i] for i in lines), today)) is None


async def due_templates(context: EarnContext, now: dt.datetime) -> list[dict[str, Any]]:
    """The program's purchase templates the purchase qualifies for and that can still issue."""
    found = await purchase_templates(context.program.id)
    return [t for t in found if not ended(t, context.program, now) and qualifies(t, context)]


async def issue_after_purchase(
    context: EarnContext, sale_id: uuid.UUID, actor: str, now: dt.datetime
) -> tuple[str, ...]:
    """Inside the purchase's transaction: issue the templates the sale qualifies for to the buyer
    (a member at a template's limit gets none); the codes issued."""
    issued: list[str] = []
    for template in await due_templates(context, now):
        coupons, _ = await issue_rows(context.program, template, [context.member_id], occasion_of(sale_id), actor, now)
        issued += [coupon["code"] for coupon in coupons]
    return tuple(issued)


async def void_after_refund(
    program: ProgramConfig, member_id: uuid.UUID, sale_id: uuid.UUID, sold_at: dt.datetime, now: dt.datetime
) -> list[str]:
    """Inside a refund of the whole sale: void the coupons it issued that are still unused."""
    why = "the purchase that issued it was refunded"
    return await void_unused(program.id, member_id, occasion_of(sale_id), sold_at, why, now)
