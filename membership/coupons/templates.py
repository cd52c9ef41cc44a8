"""Coupon templates (券模板) as validated data: what a coupon gives, when and where it is valid,
who gets it and how often.

:func:`parse_template` turns JSON-like data into a :class:`TemplateDef` or raises
:class:`~membership.errors.ValidationError` naming the field at fault.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.errors import Reason, ValidationError
from membership.ledger.conditions import parse_conditions
from membership.ledger.service import MAX_AMOUNT

TRIGGERS = ("manual", "birthday", "tier_upgrade", "sign_up", "referral", "purchase")

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Minor = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)]
Kind = Literal["amount_off", "percent_off", "free_item"]
Trigger = Literal["manual", "birthday", "tier_upgrade", "sign_up", "referral", "purchase"]
BirthdayWindow = Literal["day", "month"]


class TemplateTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a coupon template says, but its code (the API takes the code from the path on a change).

    ``kind``: ``amount_off`` takes ``amount_off`` minor units off; ``percent_off`` takes
    ``percent_off`` % (1–100, rounded down) capped by ``max_off``; ``free_item`` gives one unit of
    ``free_sku``. ``min_spend``: the lines' total before discounts must be at least this.

    Validity (inclusive local dates): a coupon runs from its issue day (or ``valid_from`` when
    later) to ``valid_until``, or for ``valid_days`` days counted from that first day; with both,
    the earlier end wins. At least one of ``valid_until`` and ``valid_days`` is required.

    ``per_member_limit``: how many coupons of this template a member may hold in all (void ones do
    not count); None is no limit. ``store_ids``: the stores it is valid at (empty: all).
    ``stackable``: whether it combines with other stackable coupons on one sale (a non-stackable
    coupon must be the sale's only one). ``issue_on``: what issues it — ``manual`` (an admin),
    ``birthday`` (the daily job, on the day or, with ``birthday_window="month"``, in the month),
    ``tier_upgrade`` (on reaching ``tier``; None: any tier), ``sign_up``, ``referral`` or
    ``purchase`` (下次消费券: a purchase that paid at least ``issue_min_spend`` and meets the
    ``issue_conditions`` — the conditions of points rules: lines by SKU, category, brand or label,
    a minimum quantity, a code typed at the till — issues one, usable from the next purchase;
    :mod:`membership.coupons.next_order`).
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Kind
    amount_off: Minor = 0
    percent_off: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    max_off: PositiveMinor | None = None
    free_sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    min_spend: Minor = 0
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] | None = None
    per_member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    store_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)] = []
    stackable: bool = False
    issue_on: Trigger = "manual"
    tier: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    birthday_window: BirthdayWindow = "day"
    issue_min_spend: Minor = 0
    issue_conditions: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=20)] = []


class TemplateDef(TemplateTerms, frozen=True, kw_only=True):
    """A coupon template: its terms (:class:`TemplateTerms`) and its code."""

    code: Code


def _convert(data: Any) -> TemplateDef:
    try:
        return msgspec.convert(data, TemplateDef)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "template", reason=reason) from None


def parse_template(data: dict[str, Any]) -> TemplateDef:
    """A validated template from JSON-like ``data``.

    >>> parse_template({"code": "ten-off", "name": "满100减10", "kind": "amount_off",
    ...                 "amount_off": 1000, "min_spend": 10000, "valid_days": 30}).amount_off
    1000
    """
    t = _convert(data)
    refuse = _refusal(t)
    if refuse:
        raise ValidationError(field=refuse[0], reason=refuse[1])
    try:
        conditions = parse_conditions(t.issue_conditions) if t.issue_conditions else []
    except ValidationError as exc:
        field = str(exc.params.get("field", "conditions")).replace("conditions", "issue_conditions", 1)
        raise ValidationError(field=field, reason=exc.params.get("reason", "")) from None
    return msgspec.structs.replace(t, store_ids=list(dict.fromkeys(t.store_ids)), issue_conditions=conditions)


def _refusal(t: TemplateDef) -> tuple[str, Reason] | None:
    """The first field that does not fit the rest, and why."""
    if t.kind == "amount_off" and t.amount_off < 1:
        return "amount_off", Reason("at least 1 for an amount_off coupon", "amount_off 优惠券须至少为 1")
    if t.kind != "amount_off" and t.amount_off:
        return "amount_off", Reason("only for an amount_off coupon", "仅用于 amount_off 优惠券")
    if t.kind == "percent_off" and not 1 <= t.percent_off <= 100:
        return "percent_off", Reason("1 to 100 for a percent_off coupon", "percent_off 优惠券须为 1 到 100")
    if t.kind != "percent_off" and (t.percent_off or t.max_off is not None):
        return "percent_off" if t.percent_off else "max_off", Reason(
            "only for a percent_off coupon", "仅用于 percent_off 优惠券"
        )
    if t.kind == "free_item" and not t.free_sku:
        return "free_sku", Reason("required for a free_item coupon", "free_item 优惠券必填")
    if t.kind != "free_item" and t.free_sku is not None:
        return "free_sku", Reason("only for a free_item coupon", "仅用于 free_item 优惠券")
    if t.valid_until is None and t.valid_days is None:
        return "valid_until", Reason(
            "give valid_until or valid_days (a coupon must end)",
            "请给出 valid_until 或 valid_days（优惠券必须有截止日期）",
        )
    if t.valid_from and t.valid_until and t.valid_from > t.valid_until:
        return "valid_until", Reason("must not be before valid_from", "不能早于 valid_from")
    if t.tier is not None and t.issue_on != "tier_upgrade":
        return "tier", Reason("only for issue_on tier_upgrade", "仅当 issue_on 为 tier_upgrade 时可用")
    if t.birthday_window != "day" and t.issue_on != "birthday":
        return "birthday_window", Reason("only for issue_on birthday", "仅当 issue_on 为 birthday 时可用")
    if (t.issue_min_spend or t.issue_conditions) and t.issue_on != "purchase":
        field = "issue_min_spend" if t.issue_min_spend else "issue_conditions"
        return field, Reason("only for issue_on purchase", "仅当 issue_on 为 purchase 时可用")
    return None


def validity(t: TemplateDef | dict[str, Any], issued_on: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive, local) of a coupon issued on ``issued_on``; the last
    day is before the first when the template's validity has ended.

    >>> validity(parse_template({"code": "a", "name": "a", "kind": "amount_off", "amount_off": 1,
    ...          "valid_days": 30}), dt.date(2026, 11, 30))
    (datetime.date(2026, 11, 30), datetime.date(2026, 12, 29))
    """
    get = t.get if isinstance(t, dict) else lambda name: getattr(t, name)
    valid_from, valid_until, valid_days = get("valid_from"), get("valid_until"), get("valid_days")
    first = max(issued_on, valid_from) if valid_from else issued_on
    ends = [valid_until] if valid_until else []
    if valid_days:
        ends.append(first + dt.timedelta(days=valid_days - 1))
    return first, min(ends)
