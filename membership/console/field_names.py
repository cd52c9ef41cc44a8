"""What the console calls the fields that errors name: a refusal says "金额无效：…", never
"amount 无效：…". The API keeps the field's key (integrators switch on it); the console shows its
name in the staff member's language."""

from __future__ import annotations

import re

from membership.console import i18n
from membership.errors import MembershipError

FIELD_NAMES: dict[str, tuple[str, str]] = {
    "amount": ("金额", "amount"),
    "amount_off": ("减免金额", "amount off"),
    "attributes": ("交易附加信息", "sale details"),
    "birthday": ("生日", "birthday"),
    "birthday_window": ("生日券发放时间", "birthday window"),
    "bonus": ("赠送金额", "bonus"),
    "categories": ("品类", "categories"),
    "channels": ("发送渠道", "channels"),
    "code": ("编码", "code"),
    "comment": ("留言", "comment"),
    "coupons": ("优惠券", "coupons"),
    "currency": ("币种", "currency"),
    "days": ("天数", "days"),
    "days_of_month": ("每月几号", "days of the month"),
    "dates": ("日期", "dates"),
    "delay_minutes": ("延迟分钟数", "delay in minutes"),
    "description": ("问题描述", "description"),
    "discount_pct": ("会员折扣", "member discount"),
    "email": ("电子邮箱", "e-mail"),
    "ends_on": ("结束日期", "ends on"),
    "expiry_days": ("有效天数", "days"),
    "face_value": ("面值", "face value"),
    "fee": ("售价", "price"),
    "free_sku": ("赠送商品编码", "free item SKU"),
    "gender": ("性别", "gender"),
    "gift_points": ("生日礼积分", "birthday gift points"),
    "hours": ("响应小时数", "hours"),
    "input": ("输入", "input"),
    "kind": ("类型", "kind"),
    "lines": ("商品", "lines"),
    "max_off": ("最多减免", "most off"),
    "member": ("会员", "member"),
    "member_ids": ("会员", "members"),
    "members": ("会员", "members"),
    "method": ("支付方式", "payment method"),
    "min_spend": ("最低消费", "minimum spend"),
    "multiplier_pct": ("倍数", "multiplier"),
    "name": ("名称", "name"),
    "note": ("备注", "note"),
    "params": ("规则参数", "rule parameters"),
    "password": ("密码", "password"),
    "pay": ("充值金额", "amount paid"),
    "payments": ("支付", "payments"),
    "per_amount": ("每消费", "per amount"),
    "per_day": ("每天最多", "most a day"),
    "per_member_limit": ("每人限领", "per member"),
    "per_transaction": ("每笔最多", "most a purchase"),
    "percent_off": ("折扣", "discount"),
    "phone": ("手机号", "phone"),
    "plan": ("方案", "plan"),
    "plans": ("套餐", "plans"),
    "points": ("积分", "points"),
    "points_policy": ("积分有效期", "points policy"),
    "priority": ("优先级", "priority"),
    "question_en": ("问题（英文）", "question (English)"),
    "question_zh": ("问题（中文）", "question (Chinese)"),
    "rate_limit": ("每秒请求数", "requests per second"),
    "reason": ("原因", "reason"),
    "receipt_no": ("小票号", "receipt number"),
    "referee_points": ("被推荐人积分", "points for the new member"),
    "referrer_points": ("推荐人积分", "points for the referrer"),
    "role": ("岗位", "role"),
    "sample_pct": ("抽样比例", "share asked"),
    "scopes": ("权限范围", "scopes"),
    "score": ("评分", "score"),
    "sku": ("商品编码", "SKU"),
    "skus": ("商品编码", "SKUs"),
    "stacking": ("叠加方式", "stacking"),
    "starts_on": ("开始日期", "starts on"),
    "store": ("门店", "store"),
    "store_id": ("门店", "store"),
    "streak_bonus": ("连续签到奖励", "streak bonus"),
    "streak_days": ("连续天数", "streak days"),
    "subject": ("标题", "subject"),
    "tags": ("标签", "tags"),
    "threshold": ("门槛", "threshold"),
    "tier": ("等级", "tier"),
    "tiers": ("等级", "tiers"),
    "username": ("用户名", "username"),
    "valid_days": ("有效天数", "valid days"),
    "valid_from": ("生效日期", "valid from"),
    "valid_until": ("截止日期", "valid until"),
    "value": ("卡号", "card number"),
    "weekdays": ("每周几", "weekdays"),
    "window": ("生日期间", "birthday window"),
}
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:_[a-z0-9]+)+|(?<![A-Za-z0-9_])[a-z]{3,}(?![A-Za-z0-9_])")


def _zh() -> bool:
    return i18n.current_language().startswith("zh")


def field_name(key: str) -> str:
    """A field's name in the page's language: its last part's (``params.weekdays`` → 每周几);
    an unknown key reads "输入" in Chinese and stays as it is in English."""
    last = re.split(r"[.\[\]]", key.strip("$."))
    parts = [part for part in last if part and not part.isdigit()]
    names = FIELD_NAMES.get(parts[-1]) if parts else None
    if names:
        return names[0] if _zh() else names[1]
    return "输入" if _zh() else (key or "input")


def plain(text: str) -> str:
    """A Chinese ``text`` with the field keys in it named as staff know them; English as it is."""
    if not _zh():
        return text
    named = _IDENTIFIER.sub(lambda m: f"“{FIELD_NAMES[m[0]][0]}”" if m[0] in FIELD_NAMES else m[0], text)
    return re.sub(r" (?=“)|(?<=”) ", "", named)


def error_text(error: MembershipError) -> str:
    """``error`` in the staff member's language, with the field it names called by its name."""
    if "field" not in error.params:
        return error.detail("zh" if _zh() else "en")
    named = type(error).__new__(type(error))
    named.params = {**error.params, "field": field_name(str(error.params["field"]))}
    return re.sub(r"(?<=[\u4e00-\u9fff]) 无效", "无效", plain(named.detail("zh" if _zh() else "en")))
