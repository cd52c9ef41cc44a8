"""Typed business errors with stable codes and messages in Chinese and English.

Every error a use case raises is a :class:`MembershipError` subclass. Its ``code`` never changes
(clients switch on it); ``detail(lang)`` renders the human message. The API turns these into
RFC 9457 problem documents, the CLI into one clear line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Reason:
    """Why an input was refused, in English and Chinese.

    ``str(reason)`` is the English text: the API's machine-readable field errors and logs stay
    English, while :meth:`MembershipError.detail` picks the text of the reader's language.

    >>> reason = Reason("at least one line", "至少一行")
    >>> str(reason), f"{reason}"
    ('at least one line', 'at least one line')
    """

    en: str
    zh: str

    def __str__(self) -> str:
        return self.en


class MembershipError(Exception):
    """Base class: a business rule said no. Nothing was written."""

    code: ClassVar[str] = "membership_error"
    status: ClassVar[int] = 400
    message_en: ClassVar[str] = "The request could not be completed."
    message_zh: ClassVar[str] = "请求无法完成。"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.detail("en"))

    def detail(self, lang: str = "zh") -> str:
        """The human message in ``lang`` ("zh" or "en"), with the error's parameters filled in
        (a :class:`Reason` in the same language)."""
        zh = lang.lower().startswith("zh")
        return _render(self.message_zh if zh else self.message_en, self._params(zh))

    def _params(self, zh: bool) -> dict[str, Any]:
        """The parameters as a Chinese (``zh``) or English reader sees them."""
        return {key: (v.zh if zh else v.en) if isinstance(v, Reason) else v for key, v in self.params.items()}


def _render(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


# msgspec's validation messages (the reasons most bad input gets), as Chinese readers see them
_TYPE_ZH = {"int": "整数", "str": "文本", "array": "列表", "object": "对象", "float": "小数", "bool": "布尔值"}
_BOUND_ZH = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def _type_zh(name: str) -> str:
    return _TYPE_ZH.get(name, name)


_REASONS_ZH: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"Expected `(\w+)` (>=|<=|>|<) (-?\d+)"),
        lambda m: f"应为 {_BOUND_ZH[m[2]]} {m[3]} 的{_type_zh(m[1])}",
    ),
    (
        re.compile(r"Expected `(\w+)` of length (>=|<=) (\d+)"),
        lambda m: f"{_type_zh(m[1])}长度应{'至少' if m[2] == '>=' else '至多'}为 {m[3]}",
    ),
    (re.compile(r"Expected `\w+` matching regex (.+?)(?= - at|$)"), lambda m: f"格式不符（{m[1]}）"),
    (re.compile(r"Expected `([\w |]+)`, got `(\w+)`"), lambda m: f"应为{_type_zh(m[1])}，而不是{_type_zh(m[2])}"),
    (re.compile(r"Object missing required field `(\w+)`"), lambda m: f"缺少必填项 {m[1]}"),
    (re.compile(r"Object contains unknown field `(\w+)`"), lambda m: f"含有未知项 {m[1]}"),
    (re.compile(r"Invalid enum value (.+?)(?= - at|$)"), lambda m: f"不是可选的值：{m[1]}"),
    (re.compile(r" - at `(.+?)`"), lambda m: f"（位置 {m[1]}）"),
]


def reason_zh(reason: str) -> str:
    """``reason`` for a Chinese reader: msgspec's messages translated, the rest as given."""
    for pattern, render in _REASONS_ZH:
        reason = pattern.sub(render, reason)
    return reason


class ValidationError(MembershipError):
    """An input is wrong (422): ``field`` names it, ``reason`` (a :class:`Reason`) says why."""

    code = "validation_error"
    status = 422
    message_en = "Invalid {field}: {reason}"
    message_zh = "{field} 无效：{reason}"

    def _params(self, zh: bool) -> dict[str, Any]:
        """As :meth:`MembershipError._params`; for a Chinese reader a plain-text reason (msgspec's,
        passed through) is translated by :func:`reason_zh`, a :class:`Reason` gives its ``zh``."""
        params = super()._params(zh)
        if zh and isinstance(self.params.get("reason"), str):
            params["reason"] = reason_zh(self.params["reason"])
        return params


class InvalidPhone(ValidationError):
    code = "invalid_phone"
    message_en = "{value!r} is not a valid phone number."
    message_zh = "“{value}” 不是有效的手机号码。"


class EnrolmentRefused(ValidationError):
    """A plugin's ``membership_check_enrolment`` refused the enrolment (422); ``reason`` says why."""

    code = "enrolment_refused"
    message_en = "This member cannot be enrolled: {reason}"
    message_zh = "不能办理入会：{reason}"


class InvalidEmail(ValidationError):
    code = "invalid_email"
    message_en = "{value!r} is not a valid e-mail address."
    message_zh = "“{value}” 不是有效的电子邮箱。"


class InvalidBirthday(ValidationError):
    code = "invalid_birthday"
    message_en = "Invalid birthday: {reason}"
    message_zh = "生日无效：{reason}"


class NotFound(MembershipError):
    """Something named does not exist, or is not the caller's to see (404)."""

    status = 404


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    message_en = "Merchant {merchant_id} does not exist."
    message_zh = "商户 {merchant_id} 不存在。"


class StoreNotFound(NotFound):
    code = "store_not_found"
    message_en = "Store {store_id} does not exist in this program's merchant."
    message_zh = "门店 {store_id} 不存在或不属于该商户。"


class ProgramNotFound(NotFound):
    code = "program_not_found"
    message_en = "Program {program_id} does not exist."
    message_zh = "会员计划 {program_id} 不存在。"


class MemberNotFound(NotFound):
    code = "member_not_found"
    message_en = "Member {member_id} does not exist."
    message_zh = "会员 {member_id} 不存在。"


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    message_en = "No member holds this {kind}."
    message_zh = "没有会员持有该{kind}。"


class SaleNotFound(NotFound):
    code = "sale_not_found"
    message_en = "Transaction {sale_id} does not exist."
    message_zh = "交易 {sale_id} 不存在。"


class JobNotFound(NotFound):
    code = "job_not_found"
    message_en = "No job is called {name!r}. Known jobs: {known}."
    message_zh = "没有名为 “{name}” 的任务。可用任务：{known}。"


class RuleNotFound(NotFound):
    code = "rule_not_found"
    message_en = "The program has no points rule {code!r}."
    message_zh = "会员方案中没有积分规则 “{code}”。"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    message_en = "The program has no paid plan {plan!r}."
    message_zh = "会员方案中没有付费会员套餐 “{plan}”。"


class PaidMembershipNotFound(NotFound):
    code = "paid_membership_not_found"
    message_en = "Paid membership {membership_id} does not exist."
    message_zh = "付费会员记录 {membership_id} 不存在。"


class ReportNotFound(NotFound):
    code = "report_not_found"
    message_en = "No report is called {name!r}."
    message_zh = "没有名为 “{name}” 的报表。"


class Conflict(MembershipError):
    """The request fits the rules but not the data as it is now (409), e.g. a receipt recorded
    already."""

    status = 409


class DuplicateMember(Conflict):
    code = "duplicate_member"
    message_en = "A member with this {field} already exists ({member_no})."
    message_zh = "已存在相同{field}的会员（{member_no}）。"


class CredentialExists(Conflict):
    code = "credential_exists"
    message_en = "This {kind} is already issued to an active member."
    message_zh = "该{kind}已绑定到其他会员。"


class DuplicateReceipt(Conflict):
    code = "duplicate_receipt"
    message_en = "Receipt {receipt_no!r} of this store was already recorded as transaction {sale_id}."
    message_zh = "本店小票 “{receipt_no}” 已记录为交易 {sale_id}。"


class CredentialBlocked(Conflict):
    code = "credential_blocked"
    message_en = "This card is {state}; it cannot be used."
    message_zh = "该卡已{state_zh}，不能使用。"


class CredentialReplaced(Conflict):
    code = "credential_replaced"
    message_en = "This card was replaced by a new one; use the new card."
    message_zh = "该卡已补换新卡，请使用新卡。"


class MemberErased(Conflict):
    code = "member_erased"
    message_en = "Member {member_id} was erased on request and can no longer be used."
    message_zh = "会员 {member_id} 已按本人要求注销，不能再使用。"


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    message_en = "Not enough points: {requested} requested, {available} available."
    message_zh = "积分不足：需要 {requested}，可用 {available}。"


class InsufficientStoredValue(Conflict):
    code = "insufficient_stored_value"
    message_en = "Not enough stored value: {requested} requested, {available} available."
    message_zh = "储值余额不足：需要 {requested}，可用 {available}。"


class RedemptionNotAllowed(Conflict):
    code = "redemption_not_allowed"
    message_en = "Redemption refused: {reason}"
    message_zh = "不允许兑换：{reason}"


class RefundExceedsSale(Conflict):
    code = "refund_exceeds_sale"
    message_en = "Cannot refund {requested} of line {line_no}: only {remaining} left to refund."
    message_zh = "第 {line_no} 行最多还能退 {remaining} 件，不能退 {requested} 件。"


class SaleFullyRefunded(Conflict):
    code = "sale_fully_refunded"
    message_en = "Sale {sale_id} is already fully refunded."
    message_zh = "交易 {sale_id} 已全部退款。"


class PaidMembershipNotActive(Conflict):
    code = "paid_membership_not_active"
    message_en = "The paid membership is {status}; only an active one can be refunded."
    message_zh = "该付费会员不在生效中（{status}），只有生效中的才能退款。"


class IdempotencyConflict(MembershipError):
    code = "idempotency_conflict"
    status = 422
    message_en = "Idempotency key {key!r} was already used with a different request."
    message_zh = "幂等键 “{key}” 已用于另一笔不同的请求。"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message_en = "A request with idempotency key {key!r} is still being processed; retry shortly."
    message_zh = "幂等键 “{key}” 的请求仍在处理中，请稍后重试。"


class CouponNotFound(ValidationError):
    code = "coupon_not_found"
    message_en = "Coupon {code!r} does not exist or cannot be used here."
    message_zh = "优惠券 “{code}” 不存在或不能在此使用。"


class CouponCodeNotFound(NotFound):
    code = "coupon_code_not_found"  # looked up by code; at the till an unknown code is CouponNotFound (422)
    message_en = "Coupon {code!r} does not exist."
    message_zh = "优惠券 “{code}” 不存在。"


class CouponTemplateNotFound(NotFound):
    code = "coupon_template_not_found"
    message_en = "The program has no coupon template {code!r}."
    message_zh = "会员方案中没有优惠券模板 “{code}”。"


class CouponTemplateRetired(Conflict):
    code = "coupon_template_retired"
    message_en = "Coupon template {code!r} is retired or its coupons' validity has ended; it issues no more coupons."
    message_zh = "优惠券模板 “{code}” 已停用或已过有效期，不能再发券。"


class CouponNotUsable(Conflict):
    """A coupon that exists but cannot be used on this sale; each reason has its own code."""

    code = "coupon_not_usable"
    message_en = "Coupon {code} cannot be used."
    message_zh = "优惠券 {code} 不能使用。"


class CouponAlreadyRedeemed(CouponNotUsable):
    code = "coupon_redeemed"
    message_en = "Coupon {code} was already used (transaction {sale_id})."
    message_zh = "优惠券 {code} 已使用（交易 {sale_id}）。"


class CouponExpired(CouponNotUsable):
    code = "coupon_expired"
    message_en = "Coupon {code} expired: it was valid until {valid_until}."
    message_zh = "优惠券 {code} 已过期：有效期至 {valid_until}。"


class CouponNotYetValid(CouponNotUsable):
    code = "coupon_not_yet_valid"
    message_en = "Coupon {code} is not valid yet: it may be used from {valid_from}."
    message_zh = "优惠券 {code} 尚未生效：{valid_from} 起可用。"


class CouponVoid(CouponNotUsable):
    code = "coupon_void"
    message_en = "Coupon {code} was voided."
    message_zh = "优惠券 {code} 已作废。"


class CouponOtherMember(CouponNotUsable):
    code = "coupon_other_member"
    message_en = "Coupon {code} belongs to another member."
    message_zh = "优惠券 {code} 属于其他会员，不能用于本单。"


class CouponWrongStore(CouponNotUsable):
    code = "coupon_wrong_store"
    message_en = "Coupon {code} is not valid at this store."
    message_zh = "优惠券 {code} 不适用于本门店。"


class CouponMinimumSpend(CouponNotUsable):
    code = "coupon_min_spend"
    message_en = "Coupon {code} needs a spend of at least {min_spend}; this sale's lines total {total}."
    message_zh = "优惠券 {code} 需消费满 {min_spend} 方可使用，本单商品合计 {total}。"


class CouponItemMissing(CouponNotUsable):
    code = "coupon_item_missing"
    message_en = "Coupon {code} gives one {sku} free, but the sale has no (more) {sku}."
    message_zh = "优惠券 {code} 可免费兑换一件 {sku}，但本单没有（更多）该商品。"


class CouponNotStackable(CouponNotUsable):
    code = "coupon_not_stackable"
    message_en = "Coupon {code} cannot be combined with other coupons; use it alone."
    message_zh = "优惠券 {code} 不能与其他优惠券同时使用，请单独使用。"


class Unauthorized(MembershipError):
    code = "unauthorized"
    status = 401
    message_en = "A valid API key is required (Authorization: Bearer <key>)."
    message_zh = "需要有效的 API 密钥（Authorization: Bearer <key>）。"


class Forbidden(MembershipError):
    """The caller may not do this (403): ``action`` and ``action_zh`` say what."""

    code = "forbidden"
    status = 403
    message_en = "This API key may not {action}."
    message_zh = "该 API 密钥无权{action_zh}。"


class RateLimited(MembershipError):
    code = "rate_limited"
    status = 429
    message_en = "Too many requests for this API key; retry after {retry_after} s."
    message_zh = "该 API 密钥请求过于频繁，请 {retry_after} 秒后重试。"


class PluginError(MembershipError):
    code = "plugin_error"
    status = 500
    message_en = "Plugin {plugin!r} failed in {hook}: {error}"
    message_zh = "插件 “{plugin}” 在 {hook} 中出错：{error}"


class NotConfigured(MembershipError):
    code = "not_configured"
    status = 500
    message_en = "{what} is not configured: {hint}"
    message_zh = "{what} 未配置：{hint}"


class LoginFailed(MembershipError):
    code = "login_failed"
    status = 401
    message_en = "Wrong username or password."
    message_zh = "用户名或密码错误。"


class ApprovalRequired(MembershipError):
    """A clerk's sale above their limit, or a void after their window (403): a manager or the
    owner approves it at the counter; ``reason`` (a :class:`Reason`) says which. Nothing was
    written."""

    code = "approval_required"
    status = 403
    message_en = "A manager's approval is needed: {reason}"
    message_zh = "需要店长授权：{reason}"


class ApprovalRefused(MembershipError):
    """The staff member named to approve at the counter may not (403): ``reason`` says why (not
    a manager or owner of this store, or the clerk themselves)."""

    code = "approval_refused"
    status = 403
    message_en = "Not approved: {reason}"
    message_zh = "授权无效：{reason}"


class LoginThrottled(MembershipError):
    """Too many failed logins from this address (for one account, or across accounts): the next
    attempt must wait ``seconds``. Nothing was checked; the answer is 429 with ``Retry-After``."""

    code = "login_throttled"
    status = 429
    message_en = (
        "Too many failed logins; try again in {seconds} seconds."
        " If it cannot wait, the owner can unlock the account on the Staff page."
    )
    message_zh = "登录失败次数过多，请 {seconds} 秒后再试。急需登录请找老板在“员工”页面解锁。"

    @property
    def retry_after(self) -> int:
        """Whole seconds until the next attempt is checked (the ``Retry-After`` header)."""
        return int(self.params["seconds"])


class WrongSecretKey(MembershipError):
    """The configured secret key is not the one this database's personal data is sealed with
    (``expected`` and ``given`` are fingerprints, which reveal nothing of the keys). Starting
    anyway would answer real members as unknown and enrol them twice, so nothing starts."""

    code = "wrong_secret_key"
    status = 500
    message_en = (
        "The secret key does not match this database: its personal data is sealed with key {expected},"
        " the configured key is {given}. Set MEMBERSHIP_SECRET_KEY (or secret_key in membership.toml)"
        " to this database's key.{hint_en}"
    )
    message_zh = (
        "密钥与数据库不符：数据库中的个人信息由密钥 {expected} 加密，当前配置的密钥是 {given}。"
        "请把 MEMBERSHIP_SECRET_KEY（或 membership.toml 中的 secret_key）设为该数据库的密钥。{hint_zh}"
    )


class StoreClosed(Conflict):
    code = "store_closed"
    message_en = "Store {store_id} is closed: nothing more happens there."
    message_zh = "门店 {store_id} 已闭店，不能再在此办理业务。"


class PluginNotFound(NotFound):
    code = "plugin_not_found"
    message_en = "No per-program plugin {name!r} is installed; installed: {known}."
    message_zh = "没有安装可按会员方案启用的插件 “{name}”；已安装：{known}。"


class MemberMerged(Conflict):
    """The member was merged into another (会员合并): use ``survivor_id``, which holds their
    cards, balances and history now."""

    code = "member_merged"
    message_en = "Member {member_id} was merged into member {survivor_id}; use that member."
    message_zh = "会员 {member_id} 已合并到会员 {survivor_id}，请使用该会员。"


class MergeNotFound(NotFound):
    code = "merge_not_found"
    message_en = "Member merge {merge_id} not found."
    message_zh = "找不到会员合并记录 {merge_id}。"


class MergeNotUndoable(Conflict):
    """A member merge that cannot be undone any more; ``reason`` says why."""

    code = "merge_not_undoable"
    message_en = "This merge cannot be undone: {reason}"
    message_zh = "无法撤销该合并：{reason}"


class TransferNotAllowed(Conflict):
    """A points transfer the program's settings refuse; ``reason`` says which limit."""

    code = "transfer_not_allowed"
    message_en = "Points transfer refused: {reason}"
    message_zh = "不能转赠积分：{reason}"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    message_en = "Points transfer {transfer_id} not found."
    message_zh = "找不到积分转赠记录 {transfer_id}。"


class TransferReversed(Conflict):
    code = "transfer_reversed"
    message_en = "Points transfer {transfer_id} was already reversed."
    message_zh = "积分转赠 {transfer_id} 已撤回。"


class TierAssignmentNotFound(NotFound):
    code = "tier_assignment_not_found"
    message_en = "Member {member_id} has no tier set by hand now."
    message_zh = "会员 {member_id} 当前没有手动指定的等级。"
