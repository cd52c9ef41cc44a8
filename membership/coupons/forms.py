"""Coupon templates as the console's form shows them: the fields of each kind of coupon (from
:class:`~membership.coupons.templates.TemplateDef`, the type the API validates), named for
staff with amounts in yuan and discounts as 折, and the checks that warn before a template is
saved (a coupon worth its whole minimum spend, a deep discount without a cap, an end already
passed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from membership.console.i18n import money
from membership.console.struct_forms import DISCOUNT, MONEY, Label, discount_text, is_zh
from membership.coupons.templates import TemplateDef

KINDS = ("amount_off", "percent_off", "free_item")
KIND_FIELDS = {
    "amount_off": ("amount_off", "min_spend"),
    "percent_off": ("percent_off", "max_off", "min_spend"),
    "free_item": ("free_sku", "min_spend"),
}
VALIDITY_FIELDS = ("valid_from", "valid_until", "valid_days", "per_member_limit", "store_ids", "stackable")
ISSUE_FIELDS = ("issue_on", "tier", "birthday_window", "issue_min_spend")
TRIGGERS = {
    "manual": ("手动发放", "By hand"),
    "birthday": ("生日自动发放", "On birthdays"),
    "tier_upgrade": ("升级时发放", "On reaching a tier"),
    "sign_up": ("入会时发放", "On joining"),
    "referral": ("推荐成功时发放", "On a referral"),
    "purchase": ("消费后发放（下次可用）", "After a purchase, for the next one"),
    "reward": ("积分兑换", "Bought with points"),
}
KIND_NAMES = {
    "amount_off": ("满减券", "Amount off"),
    "percent_off": ("折扣券", "Percent off"),
    "free_item": ("赠品券", "Free item"),
}


def kind_name(kind: str) -> str:
    """A coupon kind's name in the page's language."""
    names = KIND_NAMES.get(kind)
    return (names[0] if is_zh() else names[1]) if names else kind


def trigger_name(trigger: str) -> str:
    """What issues a template's coupons, in the page's language."""
    names = TRIGGERS.get(trigger)
    return (names[0] if is_zh() else names[1]) if names else trigger


def fields_of(kind: str, creating: bool) -> list[str]:
    """The inputs of a template of ``kind`` (its code only when it is being created)."""
    return [*(["code"] if creating else []), "name", *KIND_FIELDS.get(kind, ()), *VALIDITY_FIELDS, *ISSUE_FIELDS]


def template_labels(stores: Mapping[str, str], tiers: Mapping[str, str]) -> dict[str, Label]:
    """A template's fields (``stores``: id → name; ``tiers``: code → name)."""
    return {
        "code": Label("券编码", "Code", "字母、数字、- 或 _，如 ten-off。", "Letters, digits, - or _, e.g. ten-off."),
        "name": Label("券名称", "Coupon name", "顾客看到的名称，如 满100减10。", "What members read."),
        "amount_off": Label("减免金额", "Amount off", unit=MONEY),
        "percent_off": Label("折扣", "Discount", "8 = 八折，85 = 八五折。", "Percent off the lines.", unit=DISCOUNT),
        "max_off": Label("最多减免", "At most off", "不封顶请留空。", "Empty: no cap.", unit=MONEY),
        "free_sku": Label("赠送商品编码", "Free item SKU", "收银系统里的商品编码。", "The SKU as the till knows it."),
        "min_spend": Label("使用门槛（满多少可用）", "Minimum spend", "0 表示无门槛。", "0: any amount.", unit=MONEY),
        "valid_from": Label("生效日期", "Valid from", "留空表示发券当天起。", "Empty: from the day it is issued."),
        "valid_until": Label("截止日期", "Valid until", "与“有效天数”至少填一项。", "Give this or the days."),
        "valid_days": Label(
            "有效天数",
            "Valid days",
            "从生效当天算起；与截止日期都填时取较早者。",
            "Counted from the first day.",
            suffix=("天", "days"),
        ),
        "per_member_limit": Label(
            "每人限领", "Per member", "不限请留空。", "Empty: no limit.", suffix=("张", "coupons")
        ),
        "store_ids": Label(
            "适用门店",
            "Stores",
            "都不选表示全部门店可用。",
            "None ticked: every store.",
            choices={store_id: (name, name) for store_id, name in stores.items()},
        ),
        "stackable": Label("可与其他券同时使用", "Combines with other coupons"),
        "issue_on": Label("发放方式", "Issued", choices=TRIGGERS),
        "tier": Label(
            "升到哪个等级时发放",
            "On reaching tier",
            "仅“升级时发放”使用；留空表示任何等级。",
            "Empty: any tier.",
            choices={code: (name, name) for code, name in tiers.items()},
        ),
        "birthday_window": Label(
            "生日券发放时间",
            "Birthday coupons come",
            choices={"day": ("生日当天", "On the day"), "month": ("生日当月", "In the birthday's month")},
        ),
        "issue_min_spend": Label(
            "消费满多少发券",
            "Issued from a purchase of",
            "仅“消费后发放”使用：本次实付满多少才发；0 表示每次消费都发。",
            "“After a purchase” only: what the purchase must reach; 0: every purchase.",
            unit=MONEY,
        ),
    }


def describe_terms(template: Mapping[str, Any], currency: str) -> str:
    """What a template gives, in one line: ``满100.00减10.00`` / ``8折，最多减20.00`` / ``赠 6901``."""
    zh = is_zh()
    spend = template.get("min_spend") or 0
    if template["kind"] == "amount_off":
        off = money(template["amount_off"], currency)
        if zh:
            return f"满{money(spend, currency)}减{off}" if spend else f"立减{off}"
        return f"{off} off" + (f" from {money(spend, currency)}" if spend else "")
    if template["kind"] == "percent_off":
        text = discount_text(template["percent_off"])
        if template.get("max_off"):
            cap = money(template["max_off"], currency)
            text += f"，最多减{cap}" if zh else f", at most {cap}"
        if spend:
            text += f"（满{money(spend, currency)}可用）" if zh else f" from {money(spend, currency)}"
        return text
    return f"赠送 {template.get('free_sku')}" if zh else f"Free {template.get('free_sku')}"


def _said(en: str, zh: str) -> str:
    return zh if is_zh() else en


def template_warnings(template: TemplateDef, today: dt.date, currency: str) -> list[str]:
    """What looks wrong in a template: a coupon worth its whole minimum spend, a discount of half
    or more without a cap, validity already over for coupons issued today."""
    warnings = []
    if template.kind == "amount_off" and template.min_spend and template.amount_off >= template.min_spend:
        off, spend = money(template.amount_off, currency), money(template.min_spend, currency)
        warnings.append(
            _said(
                f"It takes {off} off a purchase of {spend}: the goods come free.",
                f"满{spend}减{off}：减免不低于门槛，顾客可以白拿商品。",
            )
        )
    if template.kind == "percent_off" and template.percent_off >= 50 and template.max_off is None:
        warnings.append(
            _said(
                f"{template.percent_off}% off without a cap: large purchases get it too.",
                f"{discount_text(template.percent_off)}且没有“最多减免”：大额消费也按这个折扣减。",
            )
        )
    if template.valid_days is not None and template.valid_until is None and template.valid_days > 366:
        warnings.append(
            _said(
                f"Coupons stay valid {template.valid_days} days, more than a year.",
                f"券的有效期长达 {template.valid_days} 天，超过一年。",
            )
        )
    if template.valid_from and template.valid_from > today + dt.timedelta(days=366):
        warnings.append(_said("It starts more than a year from now.", "生效日期在一年以后。"))
    return warnings
