"""REST routes for transactions: record a purchase (idempotent), simulate it, refund it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, post
from litestar.params import FromPath

from membership.access.service import ApiKeyInfo, Scope
from membership.api.docs import answers, body
from membership.api.idempotent import REPLAYED_HEADER, IdempotencyKey, OptionalIdempotencyKey, replayable
from membership.api.schemas import BALANCES_EXAMPLE, Amount, AwardOut, BalancesOut
from membership.api.security import current_key, member_for, program_for, required_store
from membership.errors import Forbidden, MemberNotFound, Reason, SaleNotFound, ValidationError
from membership.giftcards import service as giftcards
from membership.ledger import idempotency
from membership.ledger.rules import LineInput
from membership.ledger.service import MAX_AMOUNT
from membership.members import service as members
from membership.members.credentials import CredentialKindName
from membership.org.service import ProgramConfig, get_program, list_programs
from membership.sales import service

TAGS = ["transactions"]
CouponCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="A coupon's code (spaces and dashes ignored)")
]


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    """One sold line; ``unit_price`` in minor units (fen)."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    unit_price: Amount
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    category: Annotated[str, msgspec.Meta(max_length=64)] = ""
    brand: Annotated[str, msgspec.Meta(max_length=64)] = ""
    labels: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
        msgspec.Meta(max_length=20, description="Several per line: a colour, delivery, promo…"),
    ] = []


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    """How part of the sale was paid. For ``points`` give ``points`` (converted at the program's
    point value) or an ``amount`` in minor units. ``cash``, ``card``, ``wechat_pay`` and
    ``alipay`` are tenders the till took (recorded, not booked); ``stored_value`` and ``points``
    are taken from the member's balances; ``gift_card`` from the card whose ``code`` is given
    (礼品卡, any store of the program; part of its balance is fine)."""

    method: Literal["cash", "card", "wechat_pay", "alipay", "stored_value", "points", "gift_card"]
    amount: Amount = 0
    points: Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Whole points (method points)")] = 0
    code: Annotated[
        str,
        msgspec.Meta(
            max_length=40,
            description="The gift card's code, as printed or scanned (method gift_card; dashes and spaces ignored)",
        ),
    ] = ""


class CredentialRef(msgspec.Struct, forbid_unknown_fields=True):
    """A card or code presented at the till instead of a member id: ``kind`` is a registered
    kind (``GET /credential-kinds``)."""

    kind: CredentialKindName
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TransactionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A purchase: who (``member_id`` or ``credential``), where, what, and how it was paid.
    ``coupons`` are the member's coupon codes to use: their discounts come off the lines' total,
    and the ``payments`` (cash for all of it by default) add up to what is left. ``rewards`` are
    rewards of the points mall redeemed in the sale (积分兑换, one code per unit): their points
    are spent and their coupon's discount (or free item) comes off in the same sale."""

    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=500)]
    store_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    credential: CredentialRef | None = None
    program_id: uuid.UUID | None = None
    occurred_at: dt.datetime | None = None
    receipt_no: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    payments: Annotated[list[PaymentIn], msgspec.Meta(max_length=20)] | None = None
    coupons: Annotated[list[CouponCode], msgspec.Meta(max_length=20)] = []
    codes: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=r"^\s*[A-Za-z0-9_-]{1,32}\s*$")]],
        msgspec.Meta(
            max_length=10,
            description="Codes typed at the till (活动码): points rules with a code condition earn only with one of"
            " theirs; case does not matter",
        ),
    ] = []
    attributes: Annotated[
        dict[
            Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$")],
            Annotated[str, msgspec.Meta(max_length=200)],
        ],
        msgspec.Meta(
            max_length=20,
            description="What the till says about the whole sale, for a pack's rules: meal_period, service_mode,"
            " party_size, venue, mcc…",
        ),
    ] = {}
    rewards: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=48)]],
        msgspec.Meta(
            max_length=10,
            description="Codes of rewards priced in points redeemed in this sale (积分兑换), one per unit:"
            " their points are spent and their discount applied atomically; a refund of the whole sale gives"
            " the points and the stock back",
        ),
    ] = []
    promotion_codes: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=r"^\s*[A-Za-z0-9_-]{1,32}\s*$")]],
        msgspec.Meta(
            max_length=10,
            description="Promotion codes typed at the till (促销码): they unlock the promotions that need one;"
            " the program's other running promotions apply by themselves; case does not matter",
        ),
    ] = []


class PromotionOut(msgspec.Struct):
    """A running promotion on the sale: whether it ``applied``, what it took off (minor units)
    and why it did or did not, in Chinese and English (the best combination for the customer
    is chosen among promotions that do not stack)."""

    code: str
    name: str
    kind: str
    applied: bool
    discount: int
    reason_zh: str
    reason_en: str


class CouponUseOut(msgspec.Struct):
    """A coupon used on the sale (or that would be, in a simulation) and what it took off."""

    code: str
    template: str
    name: str
    kind: str
    discount: int


class RewardUseOut(msgspec.Struct):
    """A reward redeemed in the sale (or that would be): its code and name, the ``points`` it
    cost, its ``coupon`` (none yet in a simulation) and what it took off (``discount``)."""

    reward: str
    name: str
    points: int
    coupon: str | None
    discount: int


class MemberPriceOut(msgspec.Struct):
    """A line sold at a member price (会员价): its number (from 1), listed and member unit price."""

    line_no: int
    unit_price: int
    member_price: int


class GiftCardSoldOut(msgspec.Struct):
    """A gift card the sale sold: its whole ``code`` (shown here only, and in this request's
    idempotent replay: print it now), the masked form staff see later, and its QR code (SVG)."""

    id: uuid.UUID
    code: str
    masked: str
    sku: str
    face_value: int
    balance: int
    qr_svg: str


class TransactionOut(msgspec.Struct):
    """A recorded purchase: ``subtotal`` (the lines at their listed prices) less ``discount``
    (``member_discount``, what member prices took off, the ``coupons`` and the ``promotions``
    applied) is the ``total`` paid;
    what it earned and redeemed, and the balances after it."""

    id: uuid.UUID
    member_id: uuid.UUID
    total: int
    points_earned: int
    points_redeemed: int
    growth_earned: int
    awards: list[AwardOut]
    balances: BalancesOut
    tier: str | None
    subtotal: int
    discount: int
    coupons: list[CouponUseOut]
    member_discount: int = 0
    member_prices: list[MemberPriceOut] = []
    coupons_issued: Annotated[
        list[str], msgspec.Meta(description="Codes of the next-order coupons the purchase issued (下次消费券)")
    ] = []
    rewards: Annotated[
        list[RewardUseOut], msgspec.Meta(description="Rewards redeemed in the sale, their points and discounts")
    ] = []
    gift_cards: Annotated[
        list[GiftCardSoldOut], msgspec.Meta(description="Gift cards the sale sold (礼品卡), one per unit")
    ] = []
    promotions: Annotated[
        list[PromotionOut],
        msgspec.Meta(description="The program's running promotions (促销活动): applied or not, what and why"),
    ] = []


class RuleCheckOut(msgspec.Struct):
    """One points rule in a simulation: whether it ``applied``, the ``points`` it kept, and why it
    did or did not (``【name】中文 / English``)."""

    rule: str
    name: str
    applied: bool
    points: int
    reason: str


class SimulationOut(msgspec.Struct):
    """What a purchase would cost, earn and redeem, rule by rule and coupon by coupon, with the
    lines' member prices; nothing was written and no coupon was used."""

    member_id: uuid.UUID
    total: int
    earning_base: int
    points_earned: int
    points_redeemed: int
    growth_earned: int
    awards: list[AwardOut]
    growth_awards: list[AwardOut]
    subtotal: int
    discount: int
    coupons: list[CouponUseOut]
    member_discount: int = 0
    member_prices: list[MemberPriceOut] = []
    rules: list[RuleCheckOut] = []
    coupons_issued: Annotated[
        list[str], msgspec.Meta(description="Templates of the next-order coupons the purchase would issue")
    ] = []
    rewards: Annotated[
        list[RewardUseOut], msgspec.Meta(description="Rewards the sale would redeem, their points and discounts")
    ] = []
    promotions: Annotated[
        list[PromotionOut],
        msgspec.Meta(description="The program's running promotions (促销活动): would apply or not, what and why"),
    ] = []


class RefundLineIn(msgspec.Struct, forbid_unknown_fields=True):
    """How many items of a sold line (numbered from 1) come back."""

    line_no: Annotated[int, msgspec.Meta(ge=1, le=500)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    """A refund (退货): the listed lines, or everything not yet refunded when ``lines`` is left out."""

    lines: Annotated[list[RefundLineIn], msgspec.Meta(min_length=1, max_length=500)] | None = None
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "退货"


class RefundOut(msgspec.Struct):
    """What a refund reversed (points earned, growth) and gave back (points paid, stored value)."""

    id: uuid.UUID
    sale_id: uuid.UUID
    amount: int
    points_reversed: int
    points_debt: int
    points_returned: int
    growth_reversed: int
    stored_value_returned: int
    balances: BalancesOut
    coupons_returned: list[str]
    points_expired: Annotated[
        int, msgspec.Meta(description="earned points of the refunded share that had expired: not taken back again")
    ] = 0
    coupons_voided: Annotated[
        list[str], msgspec.Meta(description="Unused next-order coupons the refunded sale had issued, now void")
    ] = []
    reward_points_returned: Annotated[
        int, msgspec.Meta(description="Points the rewards redeemed in the sale cost, given back with the whole sale")
    ] = 0
    rewards_returned: Annotated[
        list[str], msgspec.Meta(description="Codes of the rewards given back (their stock returned)")
    ] = []
    gift_card_returned: Annotated[
        int, msgspec.Meta(description="What the gift cards that paid for the sale got back (minor units)")
    ] = 0
    gift_cards_voided: Annotated[
        list[str], msgspec.Meta(description="Masked codes of the unused gift cards the refunded lines sold, now void")
    ] = []
    promotions_returned: Annotated[
        list[str], msgspec.Meta(description="Codes of the promotions whose uses the refund of the whole sale gave back")
    ] = []


SALE_ID = "9d8c7b6a-0000-4a8e-9d7e-1f2a3b4c5d6e"
MEMBER_ID = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"
TRANSACTION_EXAMPLE = {
    "store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "credential": {"kind": "card_uid", "value": "04A1B2C37A21"},
    "receipt_no": "S1-20261123-0042",
    "lines": [
        {"sku": "6901234567892", "name": "拿铁", "category": "coffee", "quantity": 2, "unit_price": 2800},
        {"sku": "6909876543210", "name": "可颂", "category": "bakery", "quantity": 1, "unit_price": 1500},
    ],
    "coupons": ["K7M2QH4WPA3X"],
    "payments": [{"method": "card", "amount": 5100}, {"method": "points", "points": 1000}],
}
AWARD_EXAMPLE = {"rule": "base", "points": 51, "reason": "消费 51 元 × 1 分/元"}
COUPON_USE_EXAMPLE = {
    "code": "K7M2QH4WPA3X",
    "template": "ten-off-70",
    "name": "满 70 减 10",
    "kind": "amount_off",
    "discount": 1000,
}
TRANSACTION_ANSWER = {
    "id": SALE_ID,
    "member_id": MEMBER_ID,
    "total": 6100,
    "points_earned": 51,
    "points_redeemed": 1000,
    "growth_earned": 51,
    "awards": [AWARD_EXAMPLE],
    "balances": BALANCES_EXAMPLE,
    "tier": "silver",
    "subtotal": 7100,
    "discount": 1000,
    "coupons": [COUPON_USE_EXAMPLE],
}


async def _buyer(key: ApiKeyInfo, data: TransactionIn) -> tuple[ProgramConfig, uuid.UUID]:
    """The program and member a transaction is for, checked against the key's merchant."""
    if (data.member_id is None) == (data.credential is None):
        raise ValidationError(
            field="member_id/credential", reason=Reason("give exactly one of them", "须且只能给出其中一项")
        )
    if data.member_id is not None:
        program = await _merchant_program(key, data.program_id)
        if program is None:  # the member's row says which program
            row = await member_for(key, data.member_id)
            program = await get_program(row["program_id"])
            if data.program_id not in (None, program.id):
                raise MemberNotFound(member_id=data.member_id)
        return program, data.member_id
    assert data.credential is not None
    program = await program_for(key, data.program_id)
    return program, await members.identify(program.id, data.credential.kind, data.credential.value)


async def _cards_sold(program_id: uuid.UUID, result: service.PurchaseResult) -> list[giftcards.IssuedCard]:
    """The gift cards the sale sold, read only when it sold any (an answer stored before the count
    was kept is read)."""
    return [] if result.gift_cards_sold == 0 else await giftcards.sold_by(program_id, result.id)


async def _merchant_program(key: ApiKeyInfo, program_id: uuid.UUID | None) -> ProgramConfig | None:
    """The program a merchant's key buys in when it is known without reading the member: the one
    named, if the merchant owns it, or the merchant's only program. The purchase then checks, under
    the member's lock, that the member belongs to it (``MemberNotFound`` otherwise), which saves
    the till a round trip to the database. None: read the member."""
    if key.merchant_id is None:
        return None
    programs = [p for p in await list_programs() if p.merchant_id == key.merchant_id]
    if program_id is not None:
        return next((p for p in programs if p.id == program_id), None)
    return programs[0] if len(programs) == 1 else None


def _sale_input(data: TransactionIn) -> tuple[list[LineInput], list[service.PaymentInput] | None]:
    lines = [
        LineInput(li.sku, li.quantity, li.unit_price, li.name, li.category, li.brand, tuple(li.labels))
        for li in data.lines
    ]
    payments = None
    if data.payments is not None:
        payments = [service.PaymentInput(p.method, p.amount, p.points, p.code) for p in data.payments]
    return lines, payments


def _awards(awards: list) -> list[AwardOut]:
    return [AwardOut(a.rule, a.points, a.reason) for a in awards]


def _coupons(applied: tuple) -> list[CouponUseOut]:
    return [CouponUseOut(a.code, a.template, a.name, a.kind, a.discount) for a in applied]


def _rewards(uses: tuple) -> list[RewardUseOut]:
    return [RewardUseOut(u.reward, u.name, u.points, u.coupon, u.discount) for u in uses]


def _promotions(outcomes: tuple) -> list[PromotionOut]:
    return [PromotionOut(o.code, o.name, o.kind, o.applied, o.discount, o.reason_zh, o.reason_en) for o in outcomes]


def _member_prices(prices: tuple) -> list[MemberPriceOut]:
    return [MemberPriceOut(p.line_no, p.unit_price, p.member_price) for p in prices]


@post(
    "/transactions",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Record a purchase (消费)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, TransactionOut, TRANSACTION_ANSWER, 403, 404, 409, description="Created"),
)
async def record_transaction(
    request: Request,
    idempotency_key: IdempotencyKey,
    data: Annotated[TransactionIn, body(TRANSACTION_EXAMPLE)],
) -> Response[TransactionOut]:
    """Use the coupons, apply the program's running promotions (the combination best for the
    customer; ``promotion_codes`` unlock those that need a code; each applied takes one of its
    uses), pay with points and stored value, earn points and growth through the points rules on
    what is paid after discounts, re-evaluate the tier: one database transaction.
    A coupon that cannot be used is refused with a code saying why (``coupon_expired``,
    ``coupon_min_spend``, ``coupon_wrong_store`` …, 409; an unknown code is ``coupon_not_found``,
    422) and nothing is recorded; a coupon is used by one sale only. Retrying with the same ``Idempotency-Key`` and
    body returns the first answer (header ``Idempotent-Replayed: true``); the same key with another
    body is refused (422), a key still being processed gets 409."""
    key = current_key(request)
    program, member_id = await _buyer(key, data)
    store = await required_store(key, program, data.store_id)
    lines, payments = _sale_input(data)
    async with idempotency.in_flight(str(program.id), idempotency_key):
        result = await service.record_purchase(
            program.id,
            store,
            member_id,
            lines,
            payments,
            occurred_at=data.occurred_at,
            receipt_no=data.receipt_no,
            idempotency_key=idempotency_key,
            actor=key.actor,
            coupons=data.coupons,
            attributes=data.attributes,
            codes=data.codes,
            rewards=data.rewards,
            promotion_codes=data.promotion_codes,
        )
    out = TransactionOut(
        id=result.id,
        member_id=result.member_id,
        total=result.total,
        points_earned=result.points_earned,
        points_redeemed=result.points_redeemed,
        growth_earned=result.growth_earned,
        awards=_awards(result.awards),
        balances=BalancesOut.of(result.balances),
        tier=result.tier,
        subtotal=result.total + result.discount,
        discount=result.discount,
        coupons=_coupons(result.coupons),
        member_discount=result.member_discount,
        member_prices=_member_prices(result.member_prices),
        coupons_issued=list(result.coupons_issued),
        rewards=_rewards(result.rewards),
        gift_cards=[GiftCardSoldOut(**dataclasses.asdict(card)) for card in await _cards_sold(program.id, result)],
        promotions=_promotions(result.promotions),
    )
    return replayable(out, 201, result.replayed)


@post(
    "/transactions/simulate",
    status_code=200,
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="What would this purchase earn? (no writes)",
    responses=answers(
        200,
        SimulationOut,
        {
            "member_id": MEMBER_ID,
            "total": 6100,
            "earning_base": 5100,
            "points_earned": 51,
            "points_redeemed": 1000,
            "growth_earned": 51,
            "awards": [AWARD_EXAMPLE],
            "growth_awards": [{"rule": "growth", "points": 51, "reason": "消费 51 元"}],
            "subtotal": 7100,
            "discount": 1000,
            "coupons": [COUPON_USE_EXAMPLE],
        },
        403,
        404,
        409,
    ),
)
async def simulate_transaction(
    request: Request, data: Annotated[TransactionIn, body(TRANSACTION_EXAMPLE)]
) -> SimulationOut:
    """Run the same checks and rules as ``POST /transactions`` (coupons and promotions included)
    and explain every point and discount, each of the program's purchase rules (``rules``) and
    each running promotion (``promotions``): whether it applied and why not; nothing is written,
    no coupon is used and no promotion use is taken."""
    key = current_key(request)
    program, member_id = await _buyer(key, data)
    store = await required_store(key, program, data.store_id)
    lines, payments = _sale_input(data)
    sim = await service.simulate_purchase(
        program.id,
        store,
        member_id,
        lines,
        payments,
        data.occurred_at,
        coupons=data.coupons,
        attributes=data.attributes,
        codes=data.codes,
        rewards=data.rewards,
        promotion_codes=data.promotion_codes,
    )
    return SimulationOut(
        member_id=sim.member_id,
        total=sim.total,
        earning_base=sim.earning_base,
        points_earned=sim.points_earned,
        points_redeemed=sim.points_redeemed,
        growth_earned=sim.growth_earned,
        awards=_awards(sim.awards),
        growth_awards=_awards(sim.growth_awards),
        subtotal=sim.total + sim.discount,
        discount=sim.discount,
        coupons=_coupons(sim.coupons),
        member_discount=sim.member_discount,
        member_prices=_member_prices(sim.member_prices),
        rules=[RuleCheckOut(c.rule, c.name, c.applied, c.points, c.reason) for c in sim.rules],
        coupons_issued=list(sim.coupons_issued),
        rewards=_rewards(sim.rewards),
        promotions=_promotions(sim.promotions),
    )


@post(
    "/transactions/{sale_id:uuid}/refund",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Refund a purchase (退货)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(
        201,
        RefundOut,
        {
            "id": "1a2b3c4d-0000-4a8e-9d7e-1f2a3b4c5d6e",
            "sale_id": SALE_ID,
            "amount": 1500,
            "points_reversed": 13,
            "points_debt": 0,
            "points_expired": 0,
            "points_returned": 211,
            "growth_reversed": 13,
            "stored_value_returned": 0,
            "balances": BALANCES_EXAMPLE,
            "coupons_returned": [],
        },
        403,
        404,
        409,
        description="Created",
    ),
)
async def refund_transaction(
    request: Request,
    sale_id: FromPath[uuid.UUID],
    data: Annotated[RefundIn, body({"lines": [{"line_no": 2, "quantity": 1}], "reason": "商品质量问题"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[RefundOut]:
    """Refund listed lines or the rest of the sale: ``amount`` is the lines' share of what was
    paid (a coupon discount spreads over the lines); earned points and growth are reversed pro
    rata (points that expired are not taken back again: ``points_expired``; points already spent
    become a debt), points and stored value paid are given back. Once the whole sale is refunded
    its coupons come back, usable while within their validity (``coupons_returned``), and so do
    its promotions' uses (``promotions_returned``). A key bound
    to a store refunds only that store's sales (403)."""
    key = current_key(request)
    sale = await service.sale_row(sale_id)
    try:
        await member_for(key, sale["member_id"])
    except MemberNotFound:  # another merchant's sale: answer as if it did not exist
        raise SaleNotFound(sale_id=sale_id) from None
    if key.store_id is not None and sale["store_id"] != key.store_id:
        raise Forbidden(action="refund another store's sale", action_zh="退其他门店的交易")
    lines = None
    if data.lines is not None:
        lines = {}
        for line in data.lines:
            lines[line.line_no] = lines.get(line.line_no, 0) + line.quantity
    async with idempotency.in_flight(str(sale["program_id"]), idempotency_key):
        result = await service.refund(sale_id, lines, data.reason, idempotency_key=idempotency_key, actor=key.actor)
    out = RefundOut(
        id=result.id,
        sale_id=result.sale_id,
        amount=result.amount,
        points_reversed=result.points_reversed,
        points_debt=result.points_debt,
        points_expired=result.points_expired,
        points_returned=result.points_returned,
        growth_reversed=result.growth_reversed,
        stored_value_returned=result.stored_value_returned,
        balances=BalancesOut.of(result.balances),
        coupons_returned=list(result.coupons_returned),
        coupons_voided=list(result.coupons_voided),
        reward_points_returned=result.reward_points_returned,
        rewards_returned=list(result.rewards_returned),
        gift_card_returned=result.gift_card_returned,
        gift_cards_voided=list(result.gift_cards_voided),
        promotions_returned=list(result.promotions_returned),
    )
    return replayable(out, 201, result.replayed)


ROUTES = [record_transaction, simulate_transaction, refund_transaction]
