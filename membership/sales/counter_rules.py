"""What a clerk may do alone at the counter, and a manager's approval for the rest.

The owner sets two limits in the program's settings: ``clerk_sale_limit_minor`` (the most one
sale or top-up of a clerk may take; none: no limit) and ``clerk_void_minutes`` (how long after a
sale a clerk may void or refund it). A staff member whose role holds
:attr:`~membership.staff.roles.Permission.APPROVE_AT_COUNTER` (a manager, the owner) has
neither limit and may approve a clerk's sale or void by typing their name and password on the
clerk's screen. The approver's password is checked (throttled like a login) *before* the use
case's transaction, so a wrong guess is counted even though nothing is written; the use case then
checks the limit against the amount it actually records and rolls everything back when an
approval was needed and not given. Approved sales and top-ups, and every void or refund, are
written to the audit log with who approved them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import use_case
from membership.errors import ApprovalRefused, ApprovalRequired, Reason, ValidationError
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.org.service import ProgramConfig, get_program
from membership.org.settings import DEFAULT_CLERK_SALE_LIMIT, DEFAULT_CLERK_VOID_MINUTES
from membership.sales import service as sales
from membership.staff import service as staff_service
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo

REASON_MAX = 200


@dataclasses.dataclass(frozen=True)
class CounterLimits:
    """A clerk's limits: the most one sale or top-up may take (minor units; None: no limit) and
    the minutes after a sale in which they may void it."""

    sale_limit: int | None
    void_minutes: int


def counter_limits(program: ProgramConfig) -> CounterLimits:
    """The program's clerk limits (the defaults where the owner set none)."""
    limit = program.settings.get("clerk_sale_limit_minor", DEFAULT_CLERK_SALE_LIMIT)
    minutes = program.settings.get("clerk_void_minutes", DEFAULT_CLERK_VOID_MINUTES)
    return CounterLimits(None if limit is None else int(limit), int(minutes))


def over_limit(operator: StaffInfo, program: ProgramConfig, amount: int) -> bool:
    """True when ``amount`` is more than ``operator`` may take without an approval."""
    limit = counter_limits(program).sale_limit
    return limit is not None and amount > limit and not operator.can(Permission.APPROVE_AT_COUNTER)


def past_void_window(operator: StaffInfo, program: ProgramConfig, sold_at: dt.datetime, now: dt.datetime) -> bool:
    """True when a sale recorded at ``sold_at`` is past ``operator``'s void window at ``now``."""
    if operator.can(Permission.APPROVE_AT_COUNTER):
        return False
    return now - sold_at > dt.timedelta(minutes=counter_limits(program).void_minutes)


def _limit_reason(program: ProgramConfig, amount: int) -> Reason:
    limit = counter_limits(program).sale_limit or 0
    return Reason(
        f"{_yuan(amount, program)} is above the clerk's limit of {_yuan(limit, program)}",
        f"金额 {_yuan(amount, program)} 超过收银员单笔限额 {_yuan(limit, program)}",
    )


def _window_reason(program: ProgramConfig) -> Reason:
    minutes = counter_limits(program).void_minutes
    return Reason(
        f"the sale is more than {minutes} minutes old (the clerk's void window)",
        f"已超过收银员可作废时限（收款后 {minutes} 分钟）",
    )


def _yuan(minor: int, program: ProgramConfig) -> str:
    whole, fraction = divmod(minor, program.minor_per_unit)
    digits = len(str(program.minor_per_unit)) - 1
    text = f"{whole:,}.{fraction:0{digits}d}" if digits else f"{whole:,}"
    return f"¥{text}" if program.currency == "CNY" else f"{text} {program.currency}"


async def check_approver(
    username: str, password: str, operator: StaffInfo, store_id: uuid.UUID, address: str = ""
) -> StaffInfo:
    """The manager or owner whose name and password were typed on ``operator``'s screen at
    ``store_id``. ``LoginFailed``/``LoginThrottled`` for a wrong password (counted against
    ``address`` like a login); ``ApprovalRefused`` (audited) for someone who may not approve
    here: no approver's role, another merchant's or another store's staff, the clerk themselves."""
    approver = await staff_service.confirm_password(username, password, address)
    refusal = None
    if approver.id == operator.id:
        refusal = Reason("a clerk cannot approve their own sale", "收银员不能为自己授权")
    elif not approver.can(Permission.APPROVE_AT_COUNTER) or approver.merchant_id != operator.merchant_id:
        refusal = Reason("only a manager or the owner of this shop may approve", "只有本店的店长或老板可以授权")
    elif approver.store_id is not None and approver.store_id != store_id:
        refusal = Reason("this manager works at another store", "该店长不属于本门店")
    if refusal is not None:
        await _refused(operator, approver, store_id, refusal)
        raise ApprovalRefused(reason=refusal)
    return approver


@use_case
async def _refused(operator: StaffInfo, approver: StaffInfo, store_id: uuid.UUID, reason: Reason) -> None:
    details = {"approver": approver.actor, "store_id": store_id, "reason": reason.en}
    await audit.record(operator.actor, "counter.approval_refused", "staff", approver.id, None, details)


@use_case
async def sell(
    operator: StaffInfo,
    program: ProgramConfig,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    lines: list[LineInput],
    payments: list[sales.PaymentInput] | None = None,
    coupons: list[str] | None = None,
    receipt_no: str | None = None,
    idempotency_key: str | None = None,
    approver: StaffInfo | None = None,
    promotion_codes: list[str] | None = None,
    rewards: list[str] | None = None,
) -> sales.PurchaseResult:
    """Record a sale at the counter (:func:`~membership.sales.service.record_purchase`), taken
    by ``operator``. A total above their limit needs ``approver`` (from :func:`check_approver`):
    without one, ``ApprovalRequired`` and nothing is written. An approved sale is audited."""
    result = await sales.record_purchase(
        program.id,
        store_id,
        member_id,
        lines,
        payments,
        receipt_no=receipt_no,
        idempotency_key=idempotency_key,
        actor=operator.actor,
        coupons=coupons,
        promotion_codes=promotion_codes,
        rewards=rewards,
    )
    if not result.replayed and over_limit(operator, program, result.total):
        if approver is None:
            raise ApprovalRequired(reason=_limit_reason(program, result.total))
        details = {"total": result.total, "approved_by": approver.actor, "store_id": store_id}
        await audit.record(operator.actor, "counter.sale_approved", "sale", result.id, program.id, details)
    return result


@use_case
async def top_up(
    operator: StaffInfo,
    program: ProgramConfig,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    amount: int,
    method: str = "cash",
    plan: str | None = None,
    idempotency_key: str | None = None,
    approver: StaffInfo | None = None,
) -> ledger.TopUpResult:
    """Top up stored value at the counter (:func:`~membership.ledger.service.top_up`), with the
    same limit as a sale: above it, ``approver`` or ``ApprovalRequired``. Approved top-ups are
    audited."""
    limited = over_limit(operator, program, amount)
    if limited and approver is None:
        raise ApprovalRequired(reason=_limit_reason(program, amount))
    result = await ledger.top_up(
        member_id, amount, store_id, method=method, idempotency_key=idempotency_key, actor=operator.actor, plan=plan
    )
    if limited and approver is not None and not result.replayed:
        details = {"amount": amount, "approved_by": approver.actor, "store_id": store_id}
        await audit.record(operator.actor, "counter.top_up_approved", "member", member_id, program.id, details)
    return result


def void_reason(text: str) -> str:
    """A void's or refund's reason as typed: required, at most :data:`REASON_MAX` characters."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError(field="reason", reason=Reason("say why", "请填写原因"))
    if len(text) > REASON_MAX:
        raise ValidationError(
            field="reason", reason=Reason(f"at most {REASON_MAX} characters", f"最多 {REASON_MAX} 个字符")
        )
    return text


@use_case
async def void(
    operator: StaffInfo,
    sale_id: uuid.UUID,
    lines: dict[int, int] | None,
    reason: str,
    idempotency_key: str | None = None,
    approver: StaffInfo | None = None,
    now: dt.datetime | None = None,
) -> sales.RefundResult:
    """Void a whole sale (``lines`` None) or refund the chosen quantities of some lines
    (:func:`~membership.sales.service.refund`: points, stored value and coupons come back), with
    a ``reason``. Past ``operator``'s void window it needs ``approver``, else
    ``ApprovalRequired`` and nothing changes. Every void and refund is audited: who, why, which
    lines, how much, how long after the sale, who approved."""
    reason = void_reason(reason)
    now = now or dt.datetime.now(dt.UTC)
    sale = await sales.sale_row(sale_id)
    program = await get_program(sale["program_id"])
    late = past_void_window(operator, program, sale["created_at"], now)
    if late and approver is None:
        raise ApprovalRequired(reason=_window_reason(program))
    result = await sales.refund(sale_id, lines, reason, idempotency_key=idempotency_key, actor=operator.actor, now=now)
    if not result.replayed:
        details: dict[str, Any] = {
            "amount": result.amount,
            "lines": "all" if lines is None else {str(no): quantity for no, quantity in sorted(lines.items())},
            "reason": reason,
            "minutes_after_sale": int((now - sale["created_at"]).total_seconds() // 60),
            "approved_by": approver.actor if late and approver is not None else None,
        }
        action = "sale.void" if lines is None else "sale.refund"
        await audit.record(operator.actor, action, "sale", sale_id, program.id, details)
    return result
