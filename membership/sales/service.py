"""Purchases and refunds: what a sale pays with, earns and gives back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from typing import Any

from membership.coupons import next_order, redemption
from membership.coupons.discounts import AppliedCoupon
from membership.db import emit, fetch, fetch_one, is_sqlite, new_id, use_case
from membership.errors import (
    DuplicateReceipt,
    Reason,
    RefundExceedsSale,
    SaleFullyRefunded,
    SaleNotFound,
    ValidationError,
)
from membership.events import Event
from membership.giftcards import service as giftcards
from membership.ledger import idempotency
from membership.ledger.accounts import Kind
from membership.ledger.points_rules import active_rules, member_facts
from membership.ledger.purchase_rules import RuleCheck, explain_purchase
from membership.ledger.rulebook import MemberFacts
from membership.ledger.rules import Award, EarnContext, LineInput
from membership.ledger.service import (
    Balances,
    MemberAccounts,
    PostingWriter,
    check_redemption,
    credit_points,
    debit_points,
    debit_stored_value,
    give_back_points,
    give_back_stored_value,
    require_amount,
    reverse_points,
)
from membership.members.service import active_member, member_row
from membership.org.service import ProgramConfig, check_store, get_program
from membership.plugins import hooks
from membership.promotions import service as promotions
from membership.promotions.choice import Outcome
from membership.rewards import redeeming as reward_sales
from membership.sales.prices import LinePrice, line_prices, member_priced
from membership.tiers import service as tiers

TENDERS = ("cash", "card", "wechat_pay", "alipay")  # taken at the till, recorded with the sale
PAYMENT_METHODS = (*TENDERS, "stored_value", "points", "gift_card")
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # a till's clock a little ahead
SIMULATE_SPAN = dt.timedelta(days=366)  # how far back or ahead a simulation may look


@dataclasses.dataclass(frozen=True)
class PaymentInput:
    """One payment of a sale. For ``points`` give ``points`` (or an ``amount`` the program's point
    value divides); for ``gift_card`` the card's ``code``; ``amount`` is always in minor units."""

    method: str
    amount: int = 0
    points: int = 0
    code: str = ""


@dataclasses.dataclass(frozen=True)
class PurchaseResult:
    """A recorded purchase and what it earned. ``total`` is what the member paid: the lines'
    listed total less ``discount`` (``member_discount``, what member prices took off, plus the
    ``coupons`` used, the coupons of ``rewards`` redeemed in the sale among them);
    ``member_prices`` are the lines sold at a member price."""

    id: uuid.UUID
    member_id: uuid.UUID
    total: int
    points_earned: int
    points_redeemed: int
    growth_earned: int
    awards: list[Award]
    balances: Balances
    tier: str | None
    discount: int = 0
    coupons: tuple[AppliedCoupon, ...] = ()
    replayed: bool = False
    member_discount: int = 0
    member_prices: tuple[LinePrice, ...] = ()
    coupons_issued: tuple[str, ...] = ()
    rewards: tuple[reward_sales.RewardUse, ...] = ()
    promotions: tuple[Outcome, ...] = ()
    gift_cards_sold: int | None = None  # None in answers stored before it was counted


@dataclasses.dataclass(frozen=True)
class Simulation:
    """What a purchase would cost and earn, and why, without writing anything (member prices
    applied; coupons are checked and their discounts computed, not used)."""

    member_id: uuid.UUID
    total: int
    earning_base: int
    points_earned: int
    points_redeemed: int
    growth_earned: int
    awards: list[Award]
    growth_awards: list[Award]
    discount: int = 0
    coupons: tuple[AppliedCoupon, ...] = ()
    member_discount: int = 0
    member_prices: tuple[LinePrice, ...] = ()
    rules: tuple[RuleCheck, ...] = ()
    coupons_issued: tuple[str, ...] = ()
    rewards: tuple[reward_sales.RewardUse, ...] = ()
    promotions: tuple[Outcome, ...] = ()


@dataclasses.dataclass(frozen=True)
class RefundResult:
    """What a refund reversed and gave back. ``points_expired``: the refunded share of the earned
    points that had already expired, which is not taken back again (only points the member
    spent become ``points_debt``)."""

    id: uuid.UUID
    sale_id: uuid.UUID
    amount: int
    points_reversed: int
    points_debt: int
    points_returned: int
    growth_reversed: int
    stored_value_returned: int
    balances: Balances
    coupons_returned: tuple[str, ...] = ()
    replayed: bool = False
    points_expired: int = 0
    coupons_voided: tuple[str, ...] = ()
    reward_points_returned: int = 0
    rewards_returned: tuple[str, ...] = ()
    gift_card_returned: int = 0
    gift_cards_voided: tuple[str, ...] = ()
    promotions_returned: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class _Priced:
    subtotal: int
    discount: int  # member prices and coupons
    member_discount: int
    total: int
    points_spent: int
    points_amount: int
    stored_value_amount: int
    payments: tuple[PaymentInput, ...]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TILL_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_codes(codes: list[str] | None, field: str = "codes") -> tuple[str, ...]:
    """The codes typed at the till for a sale (活动码, for points rules with a ``code``
    condition; ``promotion_codes`` for promotions), checked (at most 10, letters, digits, ``-``
    and ``_``, up to 32 each), trimmed, upper case, each once; errors name ``field``."""
    codes = codes or []
    if len(codes) > 10:
        raise ValidationError(field=field, reason=Reason("at most 10", "最多 10 个"))
    for code in codes:
        if not isinstance(code, str) or not TILL_CODE.match(code.strip()):
            raise ValidationError(
                field=field,
                reason=Reason(
                    f"{code!r}: letters, digits, - and _, up to 32", f"{code!r}：只能用字母、数字、- 和 _，最多 32 个"
                ),
            )
    return tuple(dict.fromkeys(code.strip().upper() for code in codes))


def check_attributes(attributes: dict[str, str] | None) -> dict[str, str]:
    """A sale's attributes, checked: at most 20, keys like ``meal_period`` (lower-case letters,
    digits, ``_``), text values of at most 200 characters."""
    attributes = attributes or {}
    if len(attributes) > 20:
        raise ValidationError(field="attributes", reason=Reason("at most 20", "最多 20 项"))
    for key, value in attributes.items():
        if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
            raise ValidationError(
                field="attributes",
                reason=Reason(f"{key!r}: lower-case letters, digits and _", f"{key!r}：只能用小写字母、数字和下划线"),
            )
        if not isinstance(value, str) or len(value) > 200:
            raise ValidationError(
                field=f"attributes.{key}", reason=Reason("text of at most 200 characters", "最多 200 个字符的文字")
            )
    return dict(attributes)


def _check_lines(lines: list[LineInput]) -> None:
    if not lines:
        raise ValidationError(field="lines", reason=Reason("at least one line", "至少需要一行商品"))
    if len(lines) > 500:
        raise ValidationError(field="lines", reason=Reason("at most 500 lines", "最多 500 行商品"))
    for i, line in enumerate(lines, 1):
        if not line.sku or len(line.sku) > 64:
            raise ValidationError(field=f"lines[{i}].sku", reason=Reason("1 to 64 characters", "1 到 64 个字符"))
        require_amount(f"lines[{i}].quantity", line.quantity, minimum=1)
        require_amount(f"lines[{i}].unit_price", line.unit_price, minimum=0)
        if len(line.brand) > 64 or len(line.labels) > 20 or not all(0 < len(label) <= 64 for label in line.labels):
            raise ValidationError(
                field=f"lines[{i}].labels",
                reason=Reason(
                    "a brand of at most 64 characters; at most 20 labels of 1 to 64",
                    "品牌最多 64 个字符；标签最多 20 个，每个 1 到 64 个字符",
                ),
            )
    require_amount("lines", sum(line.amount for line in lines), minimum=0)  # the sale's total


def _payments(program: ProgramConfig, payments: list[PaymentInput] | None) -> list[PaymentInput] | None:
    """Check each payment; points paid are converted at the program's point value."""
    if payments is None:
        return None
    resolved: list[PaymentInput] = []
    for i, pay in enumerate(payments, 1):
        if pay.method not in PAYMENT_METHODS:
            raise ValidationError(
                field=f"payments[{i}].method",
                reason=Reason(f"one of {PAYMENT_METHODS}", f"只能是 {PAYMENT_METHODS} 之一"),
            )
        if pay.method == "gift_card":
            require_amount(f"payments[{i}].amount", pay.amount)
            pay = PaymentInput("gift_card", pay.amount, code=giftcards.normalize_code(pay.code))
        elif pay.code:
            raise ValidationError(
                field=f"payments[{i}].code", reason=Reason("only for method gift_card", "仅用于 gift_card 支付方式")
            )
        if pay.points and (pay.amount or pay.method != "points"):
            raise ValidationError(
                field=f"payments[{i}].points",
                reason=Reason("only for method points, instead of amount", "仅用于 points 支付方式，用以代替 amount"),
            )
        if pay.method == "points":
            if pay.points:
                require_amount(f"payments[{i}].points", pay.points)
                pay = PaymentInput("points", pay.points * program.point_value_minor, pay.points)
            else:
                require_amount(f"payments[{i}].amount", pay.amount)
                if pay.amount % program.point_value_minor:
                    raise ValidationError(
                        field=f"payments[{i}].amount",
                        reason=Reason(
                            f"a multiple of {program.point_value_minor}", f"须为 {program.point_value_minor} 的整数倍"
                        ),
                    )
                pay = PaymentInput("points", pay.amount, pay.amount // program.point_value_minor)
        elif pay.method != "gift_card":
            require_amount(f"payments[{i}].amount", pay.amount, minimum=0)
        resolved.append(pay)
    return resolved


def _price(
    lines: list[LineInput], payments: list[PaymentInput] | None, discount: int = 0, promoted: int = 0
) -> _Priced:
    """The sale's amounts; the (checked) payments must add up to the lines' listed total less
    what member prices took off, the coupons' ``discount`` and what promotions took off
    (``promoted``; all cash when no payments are given)."""
    subtotal = sum(line.listed_amount for line in lines)
    member_discount = subtotal - sum(line.amount for line in lines)
    total = subtotal - member_discount - discount - promoted
    resolved = payments if payments is not None else [PaymentInput("cash", total)]
    paid = sum(pay.amount for pay in resolved)
    if paid != total:
        if promoted:
            reason = Reason(
                f"add up to {paid}; the lines total {subtotal}, less {member_discount} off at member prices,"
                f" {discount} coupon discount and {promoted} off by promotions, is {total}",
                f"合计 {paid}；商品合计 {subtotal} 减去会员价优惠 {member_discount}、优惠券折扣 {discount}"
                f" 和促销优惠 {promoted}，应为 {total}",
            )
        elif member_discount:
            reason = Reason(
                f"add up to {paid}; the lines total {subtotal}, less {member_discount} off at member prices"
                f" and {discount} coupon discount, is {total}",
                f"合计 {paid}；商品合计 {subtotal} 减去会员价优惠 {member_discount}"
                f" 和优惠券折扣 {discount}，应为 {total}",
            )
        elif discount:
            reason = Reason(
                f"add up to {paid}; the lines total {subtotal}, less {discount} coupon discount, is {total}",
                f"合计 {paid}；商品合计 {subtotal} 减去优惠券折扣 {discount}，应为 {total}",
            )
        else:
            reason = Reason(f"add up to {paid}, the lines to {total}", f"合计 {paid}，与商品合计 {total} 不符")
        raise ValidationError(field="payments", reason=reason)
    return _Priced(
        subtotal=subtotal,
        discount=member_discount + discount + promoted,
        member_discount=member_discount,
        total=total,
        points_spent=sum(p.points for p in resolved if p.method == "points"),
        points_amount=sum(p.amount for p in resolved if p.method == "points"),
        stored_value_amount=sum(p.amount for p in resolved if p.method == "stored_value"),
        payments=tuple(resolved),
    )


async def _earn_context(
    program: ProgramConfig,
    member: dict[str, Any],
    store_id: uuid.UUID,
    lines: list[LineInput],
    priced: _Priced,
    occurred_at: dt.datetime,
    sale_id: uuid.UUID | None,
    written_at: dt.datetime,
    attributes: dict[str, str] | None = None,
    codes: tuple[str, ...] = (),
) -> EarnContext:
    """What the points-rules hooks see: the purchase, the program's active rules and, when there
    are rules, the member's facts they need (daily figures of the day the points are
    ``written_at``)."""
    base = priced.total if program.earning_base == "after_discounts" else priced.subtotal - priced.member_discount
    if not program.points_payment_earns:
        base -= priced.points_amount
    if not program.stored_value_earns:
        base -= priced.stored_value_amount
    cards = await giftcards.on_sale(program.id)
    if cards:  # a gift card earns when it is spent, not when it is sold
        base -= sum(line.amount for line in lines if line.sku in cards)
        lines = [line for line in lines if line.sku not in cards]
    base = max(base, 0)
    rules = await active_rules(program.id)
    facts = None
    if rules:
        benefits = hooks().tier_benefits(program, member["tier"])
        facts = await member_facts(program, member["id"], occurred_at, written_at, sale_id, rules, benefits)
    return EarnContext(
        program=program,
        member_id=member["id"],
        store_id=store_id,
        tier=member["tier"],
        lines=tuple(lines),
        total=priced.total,
        earning_base=base,
        occurred_at=occurred_at,
        sale_id=sale_id,
        rules=tuple(rules),
        facts=facts,
        attributes=attributes or {},
        codes=codes,
    )


def _valid(awards: list[Award]) -> list[Award]:
    """``awards`` (from the hooks), each checked to be a whole number ≥ 0 of points."""
    for award in awards:
        if isinstance(award.points, bool) or not isinstance(award.points, int) or award.points < 0:
            raise ValidationError(
                field=f"award {award.rule!r}", reason=Reason("points must be a whole number ≥ 0", "积分须为 ≥ 0 的整数")
            )
    return awards


def _positive(awards: list[Award]) -> list[Award]:
    """The valid awards that earn something: the ledger writes no 0-point entry."""
    return [award for award in _valid(awards) if award.points > 0]


def _occurred(
    program: ProgramConfig, occurred_at: dt.datetime | None, now: dt.datetime, ahead: bool = False
) -> dt.datetime:
    """When a sale happened (``now`` by default): at most the program's
    :attr:`~ProgramConfig.backdate_days` before ``now``, and not after it. A simulation
    (``ahead``), which writes nothing, may look up to :data:`SIMULATE_SPAN` back or forward."""
    if occurred_at is None:
        return now
    if occurred_at.tzinfo is None:
        raise ValidationError(field="occurred_at", reason=Reason("needs a time zone offset", "须带时区偏移"))
    try:
        when = occurred_at.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-10:00
        raise ValidationError(field="occurred_at", reason=Reason("out of range", "超出可用的日期范围")) from None
    days = program.backdate_days
    if ahead and when < now - SIMULATE_SPAN:
        raise ValidationError(field="occurred_at", reason=Reason("more than a year ago", "不能早于一年之前"))
    if not ahead and when < now - dt.timedelta(days=days):
        raise ValidationError(
            field="occurred_at",
            reason=Reason(
                f"more than {days} days ago (the program's back-dating window)",
                f"早于 {days} 天前（超出会员方案允许补录的天数）",
            ),
        )
    if when > now + (SIMULATE_SPAN if ahead else FUTURE_TOLERANCE):
        if ahead:
            reason = Reason("more than a year ahead", "不能晚于一年之后")
        else:
            reason = Reason("is in the future", "不能是将来的时间")
        raise ValidationError(field="occurred_at", reason=reason)
    return when


async def _checked(
    program_id: uuid.UUID,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    lines: list[LineInput],
    payments: list[PaymentInput] | None,
    lock: bool = False,
) -> tuple[ProgramConfig, dict[str, Any], list[PaymentInput] | None]:
    """The program, the member (who must belong to it; locked for the purchase when ``lock``) and
    the checked payments; the lines are checked too (whether the payments add up is known once
    the coupons are)."""
    program = await get_program(program_id)
    await check_store(program, store_id)
    member = await active_member(member_id, lock=lock, program_id=program.id)
    _check_lines(lines)
    return program, member, _payments(program, payments)


async def simulate_purchase(
    program_id: uuid.UUID,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    lines: list[LineInput],
    payments: list[PaymentInput] | None = None,
    occurred_at: dt.datetime | None = None,
    coupons: list[str] | None = None,
    attributes: dict[str, str] | None = None,
    codes: list[str] | None = None,
    rewards: list[str] | None = None,
    promotion_codes: list[str] | None = None,
) -> Simulation:
    """What :func:`record_purchase` would earn, with every award's rule and reason, each of the
    program's purchase rules with whether it applied and why (``rules``), what the ``coupons``
    would take off (they are checked, not used), the ``rewards`` it would redeem (checked as a
    purchase checks them, with their discounts) and the templates of the next-order coupons it
    would issue (``coupons_issued``), and every running promotion with whether the sale gets it
    and why (``promotions``); writes nothing. ``occurred_at`` may
    be ahead, to preview a member day or a rule that starts later."""
    program, member, resolved = await _checked(program_id, store_id, member_id, lines, payments)
    now = _now()
    when = _occurred(program, occurred_at, now, ahead=True)
    attributes = check_attributes(attributes)
    typed = check_codes(codes)
    lines = await member_priced(program, member, store_id, lines, when, attributes)
    taken = await reward_sales.preview(
        program, member_id, store_id, reward_sales.check_reward_codes(rewards), when, now
    )
    cards = await giftcards.on_sale(program.id)
    discountable = _discountable(lines, cards)
    quoted, used = await reward_sales.quote(program, member_id, store_id, coupons or [], discountable, when, taken)
    promo_typed = check_codes(promotion_codes, "promotion_codes")
    promoted = await promotions.quote(
        program, member, store_id, *_promotable(lines, cards, quoted.discount), when, attributes, typed, promo_typed
    )
    priced = _price(lines, resolved, quoted.discount, promoted.discount)
    giftcards.card_lines(lines, cards)
    await giftcards.check_payments(program.id, _gift_card_payments(priced))
    context = await _earn_context(
        program, member, store_id, lines, priced, when, None, max(now, when), attributes, typed
    )
    awards = _valid(await hooks().points_awards(context))  # with those a cap cut to 0: their reason says why
    growth = _positive(await hooks().growth_awards(context))
    today = when.astimezone(program.zone).date()
    checks = explain_purchase(context.rules, context, context.facts or MemberFacts(), today) if context.rules else []
    next_time = tuple(template["code"] for template in await next_order.due_templates(context, now))
    return Simulation(
        member_id=member_id,
        total=priced.total,
        earning_base=context.earning_base,
        points_earned=sum(a.points for a in awards),
        points_redeemed=priced.points_spent,
        growth_earned=sum(a.points for a in growth),
        awards=awards,
        growth_awards=growth,
        discount=priced.discount,
        coupons=quoted.applied,
        member_discount=priced.member_discount,
        member_prices=line_prices(lines),
        rules=tuple(checks),
        coupons_issued=next_time,
        rewards=used,
        promotions=promoted.outcomes,
    )


@use_case
async def record_purchase(
    program_id: uuid.UUID,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    lines: list[LineInput],
    payments: list[PaymentInput] | None = None,
    occurred_at: dt.datetime | None = None,
    receipt_no: str | None = None,
    idempotency_key: str | None = None,
    actor: str = "pos",
    coupons: list[str] | None = None,
    now: dt.datetime | None = None,
    attributes: dict[str, str] | None = None,
    codes: list[str] | None = None,
    rewards: list[str] | None = None,
    promotion_codes: list[str] | None = None,
) -> PurchaseResult:
    """Record a member's purchase (消费): use the ``coupons`` (their discounts lower what is paid
    and what earns), take points and stored value paid, earn points and growth through the
    points-rules hooks, issue the next-order coupons the sale qualifies for
    (:mod:`membership.coupons.next_order`), re-evaluate the tier. One transaction; idempotent.

    ``occurred_at`` may lie up to the program's ``backdate_days`` back (an offline till's queue);
    the points are written, and counted against daily caps, on the day they are recorded.
    ``now`` is the clock (default: the real time) for callers that replay history, such as the
    demo; the API never sets it. The member is locked for the transaction, so concurrent
    purchases of one member see each other's caps and first-purchase bonuses. ``codes`` are
    typed at the till: they unlock points rules with a ``code`` condition. ``rewards`` are
    codes of rewards priced in points (one per unit) redeemed in the sale: their points are spent
    and their coupons used by it (:mod:`membership.rewards.redeeming`). The program's running
    promotions apply automatically, the combination best for the member chosen
    (:mod:`membership.promotions`); ``promotion_codes`` typed at the till unlock those that need
    one, and each promotion applied takes one of its uses."""
    program, member, resolved = await _checked(program_id, store_id, member_id, lines, payments, lock=True)
    attributes = check_attributes(attributes)
    typed = check_codes(codes)
    promo_typed = check_codes(promotion_codes, "promotion_codes")
    now = now or _now()
    when = _occurred(program, occurred_at, now)
    codes = redemption.checked_codes(coupons) if coupons else []
    wanted_rewards = reward_sales.check_reward_codes(rewards)
    if receipt_no is not None and not 1 <= len(receipt_no) <= 64:
        raise ValidationError(field="receipt_no", reason=Reason("1 to 64 characters", "1 到 64 个字符"))

    async def run() -> PurchaseResult:
        if receipt_no is not None:
            existing = await _receipt_recorded(program, store_id, receipt_no)
            if existing:
                raise DuplicateReceipt(receipt_no=receipt_no, sale_id=existing["id"])
        sale_id = new_id()
        sold = await member_priced(program, member, store_id, lines, when, attributes)
        taken = await reward_sales.take(program, member_id, store_id, wanted_rewards, sale_id, when, now, actor)
        cards = await giftcards.on_sale(program.id)
        discountable = _discountable(sold, cards)
        quoted, used = await reward_sales.quote(program, member_id, store_id, codes, discountable, when, taken)
        promotable, room = _promotable(discountable, cards, quoted.discount)
        promoted = await promotions.take(
            program, member, store_id, promotable, room, when, sale_id, now, attributes, typed, promo_typed
        )
        priced = _price(sold, resolved, quoted.discount, promoted.discount)
        accounts = await MemberAccounts.load(program, member_id)
        await _insert_sale(program, sale_id, member_id, store_id, receipt_no, when, sold, priced, now, attributes)
        if quoted.applied:
            await redemption.redeem(program, member_id, quoted, sale_id, store_id, now)
        cards_sold = await giftcards.issue_for_sale(program, sale_id, store_id, sold, now, actor)
        if gift_card_paid := _gift_card_payments(priced):
            await giftcards.spend_for_sale(program, gift_card_paid, store_id, sale_id, now, actor)
        writer = await PostingWriter(
            program,
            "purchase",
            member_id,
            now,
            store_id,
            sale_id,
            operator=actor,
            reason=f"消费 / purchase {receipt_no or ''}".strip(),
        ).open()
        if priced.points_spent:
            await check_redemption(accounts, priced.points_spent, store_id, "purchase")
            await debit_points(
                writer,
                accounts,
                priced.points_spent,
                Kind.POINTS_REDEEMED,
                "pay_with_points",
                "积分抵现 / paid with points",
            )
        if priced.stored_value_amount:
            await debit_stored_value(writer, accounts, priced.stored_value_amount, "储值支付 / paid with stored value")
        context = await _earn_context(program, member, store_id, sold, priced, when, sale_id, now, attributes, typed)
        awards = _positive(await hooks().points_awards(context))
        growth = _positive(await hooks().growth_awards(context))
        growth_total = sum(a.points for a in growth)
        accounts.credit_later(Kind.GROWTH, growth_total)  # written with the points, in one statement
        for award in growth:
            writer.add(accounts.ids[Kind.GROWTH], award.points, award.rule, award.reason)
            await writer.contra(Kind.GROWTH_ISSUED, -award.points, award.rule, award.reason)
        await credit_points(writer, accounts, awards, Kind.POINTS_ISSUED, earned_at=when)
        await accounts.settle(now)  # the growth, when no points were credited
        await writer.close()
        points_earned = sum(a.points for a in awards)
        await fetch(
            "UPDATE sale SET points_earned = {}, growth_earned = {} WHERE program_id = {} AND id = {}",
            points_earned,
            growth_total,
            program.id,
            sale_id,
        )
        issued = await next_order.issue_after_purchase(context, sale_id, actor, now)
        tier = await tiers.reevaluate(program, member_id, member["tier"], now)
        emit(
            Event(
                "purchase.recorded",
                program.id,
                member_id,
                {
                    "sale_id": sale_id,
                    "store_id": store_id,
                    "total": priced.total,
                    "discount": priced.discount,
                    "points_earned": points_earned,
                },
            )
        )
        return PurchaseResult(
            id=sale_id,
            member_id=member_id,
            total=priced.total,
            points_earned=points_earned,
            points_redeemed=priced.points_spent,
            growth_earned=growth_total,
            awards=awards,
            balances=accounts.balances(),
            tier=tier,
            discount=priced.discount,
            coupons=quoted.applied,
            member_discount=priced.member_discount,
            member_prices=line_prices(sold),
            coupons_issued=issued,
            rewards=used,
            promotions=promoted.outcomes,
            gift_cards_sold=cards_sold,
        )

    paid = resolved if resolved is not None else [PaymentInput("cash", sum(line.amount for line in lines))]
    payload: dict[str, Any] = {
        "store_id": store_id,
        "member_id": member_id,
        "lines": [_line_payload(line) for line in lines],
        "payments": [_payment_payload(p) for p in paid],
        "occurred_at": occurred_at,
        "receipt_no": receipt_no,
    }
    if codes:
        payload["coupons"] = codes
    if attributes:
        payload["attributes"] = attributes
    if typed:
        payload["codes"] = list(typed)
    if wanted_rewards:
        payload["rewards"] = wanted_rewards
    if promo_typed:
        payload["promotion_codes"] = list(promo_typed)
    return await idempotency.once(program.id, idempotency_key, "record_purchase", payload, PurchaseResult, run)


async def _receipt_recorded(program: ProgramConfig, store_id: uuid.UUID, receipt_no: str) -> dict[str, Any] | None:
    """The sale that already has this receipt number: at the store, or anywhere in the program
    when its ``receipt_unique_per`` says so (PostgreSQL then holds the number until the commit,
    since no unique index spans the program's stores)."""
    if program.receipt_unique_per != "program":
        return await fetch_one("SELECT id FROM sale WHERE store_id = {} AND receipt_no = {}", store_id, receipt_no)
    if not is_sqlite():
        await fetch("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", f"receipt:{program.id}:{receipt_no}")
    return await fetch_one("SELECT id FROM sale WHERE program_id = {} AND receipt_no = {}", program.id, receipt_no)


def _discountable(lines: list[LineInput], cards: dict[str, Any]) -> list[LineInput]:
    """The lines coupons and promotions may discount: not the gift cards sold (sold at face value,
    or a coupon would buy stored money below its value)."""
    return [line for line in lines if line.sku not in cards]


def _promotable(lines: list[LineInput], cards: dict[str, Any], coupon_discount: int) -> tuple[list[LineInput], int]:
    """The lines promotions may discount (not the gift cards sold: they are sold at face value)
    and the most they may take off: what is left of those lines after the coupons."""
    promotable = [line for line in lines if line.sku not in cards]
    return promotable, max(sum(line.amount for line in promotable) - coupon_discount, 0)


def _gift_card_payments(priced: _Priced) -> list[tuple[str, int]]:
    """(code, amount) of each gift-card payment."""
    return [(pay.code, pay.amount) for pay in priced.payments if pay.method == "gift_card"]


def _payment_payload(pay: PaymentInput) -> dict[str, Any]:
    """A payment as an idempotency key's request remembers it: a gift card by its code's keyed
    hash (never the code), other payments as before there were gift cards."""
    data = dataclasses.asdict(pay)
    del data["code"]
    if pay.code:
        data["card"] = giftcards.code_hash(pay.code)
    return data


def _line_payload(line: LineInput) -> dict[str, Any]:
    """A line as an idempotency key's request remembers it (brand and labels only when given, so
    keys stored before lines had them still match their replays)."""
    data = dataclasses.asdict(line)
    for optional in ("brand", "labels", "member_price"):
        if not data[optional]:
            del data[optional]
    return data


async def _insert_sale(
    program: ProgramConfig,
    sale_id: uuid.UUID,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    receipt_no: str | None,
    occurred_at: dt.datetime,
    lines: list[LineInput],
    priced: _Priced,
    now: dt.datetime,
    attributes: dict[str, str],
) -> None:
    sale_sql = (
        "INSERT INTO sale (id, program_id, member_id, store_id, receipt_no, occurred_at, total, subtotal, discount,"
        " member_discount, points_earned, points_redeemed, growth_earned, refunded_amount, status, attributes,"
        " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}, 0, 0, 'completed', {}, {})"
    )
    sale_args: list[Any] = [
        sale_id,
        program.id,
        member_id,
        store_id,
        receipt_no,
        occurred_at,
        priced.total,
        priced.subtotal,
        priced.discount,
        priced.member_discount,
        priced.points_spent,
        json.dumps(attributes, ensure_ascii=False),
        now,
    ]
    line_args: list[Any] = []
    for no, line in enumerate(lines, 1):
        line_args += [
            new_id(),
            program.id,
            sale_id,
            no,
            line.sku,
            line.name,
            line.category,
            line.quantity,
            line.unit_price,
            line.member_price,
            line.amount,
            line.brand,
            json.dumps(list(line.labels), ensure_ascii=False),
        ]
    lines_sql = (
        "INSERT INTO sale_line (id, program_id, sale_id, line_no, sku, name, category, quantity, unit_price,"
        " member_price, amount, brand, labels, refunded_quantity) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0)" for _ in lines)
    )
    pay_args: list[Any] = []
    for pay in priced.payments:
        pay_args += [new_id(), program.id, sale_id, pay.method, pay.amount, pay.points]
    payments_sql = "INSERT INTO sale_payment (id, program_id, sale_id, method, amount, points) VALUES " + ", ".join(
        "({}, {}, {}, {}, {}, {})" for _ in priced.payments
    )
    if is_sqlite():  # in-process: three statements cost microseconds
        await fetch(sale_sql, *sale_args)
        await fetch(lines_sql, *line_args)
        await fetch(payments_sql, *pay_args)
        return
    # PostgreSQL: one round trip (the foreign keys are checked at the end of the statement)
    await fetch(
        f"WITH sold AS ({sale_sql}), sold_lines AS ({lines_sql}) {payments_sql}", *sale_args, *line_args, *pay_args
    )


def _paid_price(line: dict[str, Any]) -> int:
    """A sold line's unit price as the member paid it: its member price, else its listed price."""
    return line["unit_price"] if line["member_price"] is None else line["member_price"]


def _pro_rata(value: int, before: int, after: int, whole: int) -> int:
    """The part of ``value`` that moving from ``before`` to ``after`` of ``whole`` refunds; the
    parts of successive partial refunds add up to ``value`` exactly."""
    if whole == 0:
        return value if after and not before else 0
    return value * after // whole - value * before // whole


async def sale_row(sale_id: uuid.UUID) -> dict[str, Any]:
    """A sale's row; ``SaleNotFound`` when there is none."""
    sale = await fetch_one("SELECT * FROM sale WHERE id = {}", sale_id)
    if sale is None:
        raise SaleNotFound(sale_id=sale_id)
    return sale


@use_case
async def refund(
    sale_id: uuid.UUID,
    lines: dict[int, int] | None = None,
    reason: str = "退货",
    idempotency_key: str | None = None,
    actor: str = "pos",
    now: dt.datetime | None = None,
) -> RefundResult:
    """Refund a whole sale or some of its lines (退货). The amount given back is the refunded
    lines' share of what was paid (at their member prices where they had one; coupon discounts
    spread pro rata over the lines). Earned points
    and growth are reversed pro rata: points of the sale that have expired are not taken back a
    second time, points already spent become debt that later earnings repay;
    points and stored value the sale paid with are given back, points keeping their original
    expiry. When the whole sale has been refunded its coupons are given back (usable again while
    within their validity), the next-order coupons it issued are voided unless used, the
    rewards redeemed in it come back (their points, keeping their expiry, and their stock) and so
    do the uses of its promotions. Gift
    cards the sale paid with get their share back; refunded lines that sold gift cards void as many
    unused cards (refused with ``GiftCardUsed`` when fewer are unused). ``now`` is the clock, as in
    :func:`record_purchase`. The member is locked for the transaction, so two refunds of one sale
    at once cannot both take its lines."""
    sale = await sale_row(sale_id)
    program = await get_program(sale["program_id"])
    await member_row(sale["member_id"], lock=True, program_id=program.id)
    now = now or _now()

    async def run() -> RefundResult:
        sold = await fetch("SELECT * FROM sale_line WHERE sale_id = {} ORDER BY line_no", sale_id)
        by_no = {row["line_no"]: row for row in sold}
        wanted = (
            lines
            if lines is not None
            else {no: row["quantity"] - row["refunded_quantity"] for no, row in by_no.items()}
        )
        gross, changed = 0, []
        for line_no, quantity in sorted(wanted.items()):
            if line_no not in by_no:
                raise ValidationError(
                    field="lines", reason=Reason(f"the sale has no line {line_no}", f"该交易没有第 {line_no} 行")
                )
            row = by_no[line_no]
            remaining = row["quantity"] - row["refunded_quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0 or quantity > remaining:
                raise RefundExceedsSale(line_no=line_no, requested=quantity, remaining=remaining)
            if quantity:
                gross += quantity * _paid_price(row)
                changed.append((line_no, quantity))
        if not changed and lines is None:
            raise SaleFullyRefunded(sale_id=sale_id)
        if not changed:
            raise ValidationError(field="lines", reason=Reason("nothing to refund", "没有可退的商品"))
        sold_qty = sum(r["quantity"] for r in sold)
        before_qty = sum(r["refunded_quantity"] for r in sold)
        after_qty = before_qty + sum(q for _, q in changed)
        value = sum(r["quantity"] * _paid_price(r) for r in sold)
        if value:  # shares of the lines' value as sold, so a coupon discount spreads over every line
            before = sum(r["refunded_quantity"] * _paid_price(r) for r in sold)
            after, whole = before + gross, value
        else:
            before, after, whole = before_qty, after_qty, sold_qty
        amount = _pro_rata(sale["total"], before, after, whole)
        earned = await _earning_share(program.id, sale_id, sold, changed) or (before, after, whole)
        points_back = _pro_rata(sale["points_earned"], *earned)
        growth_back = _pro_rata(sale["growth_earned"], *earned)
        points_return = _pro_rata(sale["points_redeemed"], before, after, whole)
        paid_sv = await fetch_one(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM sale_payment WHERE sale_id = {} AND method = 'stored_value'",
            sale_id,
        )
        sv_return = _pro_rata(int(paid_sv["n"]), before, after, whole)
        paid_gc = await fetch_one(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM sale_payment WHERE sale_id = {} AND method = 'gift_card'",
            sale_id,
        )
        gc_return = _pro_rata(int(paid_gc["n"]), before, after, whole)

        accounts = await MemberAccounts.load(program, sale["member_id"])
        purchase = await fetch_one("SELECT id FROM ledger_posting WHERE sale_id = {} AND kind = 'purchase'", sale_id)
        writer = await PostingWriter(
            program, "refund", sale["member_id"], now, sale["store_id"], sale_id, operator=actor, reason=reason
        ).open()
        expired = await _expired_share(sale_id, purchase["id"], accounts, points_back)
        points_back -= expired
        debt = await reverse_points(writer, accounts, points_back, purchase["id"], reason) if points_back else 0
        if points_return:
            already = _pro_rata(sale["points_redeemed"], 0, before, whole)
            await give_back_points(writer, accounts, purchase["id"], already, points_return, reason)
        growth_taken = min(growth_back, await accounts.lock(Kind.GROWTH))
        if growth_taken:
            await accounts.change(Kind.GROWTH, -growth_taken, now)
            writer.add(accounts.ids[Kind.GROWTH], -growth_taken, "refund", reason)
            await writer.contra(Kind.GROWTH_ISSUED, growth_taken, "refund", reason)
        if sv_return:
            already = _pro_rata(int(paid_sv["n"]), 0, before, whole)
            await give_back_stored_value(writer, accounts, purchase["id"], already, sv_return, reason)
        await writer.close()
        cards_voided = await giftcards.void_refunded(program, sale_id, sale["store_id"], changed, now, actor, reason)
        if gc_return:
            await giftcards.give_back(program, sale_id, sale["store_id"], gc_return, now, actor, reason)

        for line_no, quantity in changed:
            await fetch(
                "UPDATE sale_line SET refunded_quantity = refunded_quantity + {}"
                " WHERE program_id = {} AND sale_id = {} AND line_no = {}",
                quantity,
                program.id,
                sale_id,
                line_no,
            )
        status = "refunded" if after_qty == sold_qty else "partially_refunded"
        await fetch(
            "UPDATE sale SET refunded_amount = refunded_amount + {}, status = {} WHERE program_id = {} AND id = {}",
            amount,
            status,
            program.id,
            sale_id,
        )
        returned, voided, reward_points, rewards_back, promotions_back = [], [], 0, (), ()
        if status == "refunded":
            promotions_back = await promotions.give_back(program, sale_id, now)
            reward_points, rewards_back = await reward_sales.give_back_sale(program, accounts, sale, reason, actor, now)
            returned = await redemption.give_back(program, sale_id, now, actor)
            voided = await next_order.void_after_refund(program, sale["member_id"], sale_id, sale["created_at"], now)
        refund_id = new_id()
        await fetch(
            "INSERT INTO sale_refund (id, program_id, sale_id, amount, lines, points_reversed, points_debt,"
            " points_expired, points_returned, growth_reversed, stored_value_returned, created_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            refund_id,
            program.id,
            sale_id,
            amount,
            json.dumps([{"line_no": n, "quantity": q} for n, q in changed]),
            points_back,
            debt,
            expired,
            points_return,
            growth_taken,
            sv_return,
            now,
        )
        member = await fetch_one("SELECT tier FROM member WHERE id = {}", sale["member_id"])
        await tiers.after_refund(program, sale["member_id"], member["tier"], now)
        emit(
            Event("sale.refunded", program.id, sale["member_id"], {"sale_id": sale_id, "amount": amount, "debt": debt})
        )
        return RefundResult(
            id=refund_id,
            sale_id=sale_id,
            amount=amount,
            points_reversed=points_back,
            points_debt=debt,
            points_expired=expired,
            points_returned=points_return,
            growth_reversed=growth_taken,
            stored_value_returned=sv_return,
            balances=accounts.balances(),
            coupons_returned=tuple(returned),
            coupons_voided=tuple(voided),
            reward_points_returned=reward_points,
            rewards_returned=rewards_back,
            gift_card_returned=gc_return,
            gift_cards_voided=cards_voided,
            promotions_returned=promotions_back,
        )

    payload = {"sale_id": sale_id, "lines": lines, "reason": reason}
    return await idempotency.once(program.id, idempotency_key, "refund", payload, RefundResult, run)


async def _earning_share(
    program_id: uuid.UUID, sale_id: uuid.UUID, sold: list[dict[str, Any]], changed: list[tuple[int, int]]
) -> tuple[int, int, int] | None:
    """(before, after, whole) of a refund over the lines that earned, for a sale that sold gift
    cards (which earn nothing): refunding a card takes back none of what the other lines earned.
    None when the sale sold no gift card (every line earned)."""
    cards = await giftcards.lines_sold(program_id, sale_id)
    if not cards:
        return None
    prices = {row["line_no"]: _paid_price(row) for row in sold if row["line_no"] not in cards}
    whole = sum(row["quantity"] * prices[row["line_no"]] for row in sold if row["line_no"] in prices)
    before = sum(row["refunded_quantity"] * prices[row["line_no"]] for row in sold if row["line_no"] in prices)
    return before, before + sum(quantity * prices[no] for no, quantity in changed if no in prices), whole


async def _expired_share(sale_id: uuid.UUID, posting_id: uuid.UUID, accounts: MemberAccounts, points: int) -> int:
    """How many of the ``points`` a refund would take back had expired: the sale's expired points
    not yet set against an earlier refund of it. The member already lost those; taking them again
    would make them pay twice."""
    if not points:
        return 0
    row = await fetch_one(
        "SELECT COALESCE(SUM(expired), 0) AS n FROM points_lot WHERE program_id = {} AND account_id = {}"
        " AND posting_id = {}",
        accounts.program.id,
        accounts.ids[Kind.POINTS],
        posting_id,
    )
    counted = await fetch_one(
        "SELECT COALESCE(SUM(points_expired), 0) AS n FROM sale_refund WHERE program_id = {} AND sale_id = {}",
        accounts.program.id,
        sale_id,
    )
    return min(points, int(row["n"]) - int(counted["n"]))


async def member_sales(member_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """A member's latest purchases, newest first, with the store's code."""
    return await fetch(
        "SELECT s.id, s.occurred_at, s.total, s.points_earned, s.points_redeemed, s.refunded_amount, s.status,"
        " s.receipt_no, st.code AS store FROM sale s JOIN store st ON st.id = s.store_id"
        " WHERE s.member_id = {} ORDER BY s.occurred_at DESC LIMIT {}",
        member_id,
        limit,
    )
