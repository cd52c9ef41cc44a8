"""REST routes for a member's balances and ledger: read, adjust, redeem (积分兑换), top up (储值)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.idempotent import REPLAYED_HEADER, IdempotencyKey, OptionalIdempotencyKey, replayable
from membership.api.schemas import (
    BALANCES_EXAMPLE,
    NEXT_EXPIRY_EXAMPLE,
    AwardOut,
    BalancesOut,
    NextExpiryOut,
    Page,
    PositiveAmount,
    Reason,
)
from membership.api.security import current_key, member_for, member_store
from membership.errors import MemberErased
from membership.ledger import bonuses, idempotency, service, transfer_api

TAGS = ["balances"]
MEMBER_ID = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"
POSTING_ID = "4c3b2a19-0000-4a8e-9d7e-1f2a3b4c5d6e"
SignedPoints = Annotated[int, msgspec.Meta(ge=-10_000_000_000, le=10_000_000_000, description="Non-zero points")]


class EntryOut(msgspec.Struct):
    """One ledger entry of the member, with the rule and the human reason behind it."""

    id: uuid.UUID
    created_at: dt.datetime
    posting: str
    account: str
    amount: int
    rule: str
    reason: str
    store_id: uuid.UUID | None
    sale_id: uuid.UUID | None
    operator: str


class LedgerPageOut(msgspec.Struct):
    """One page of ledger entries, newest first."""

    items: list[EntryOut]
    page: int
    page_size: int
    total: int


class MemberBalancesOut(BalancesOut):
    """A member's balances (spendable points: lots past their expiry are left out even before the
    expiry job writes them off), with the points expiring soon: ``points_expiring`` within
    ``points_expiring_days`` (the program's ``warn_days``, else 30), and ``next_expiry_at``, the
    next time any of their points expire (null: none will); ``next_expiry``: how many points
    expire then (on that local day) and the last date they can be spent."""

    points_expiring: int = 0
    points_expiring_days: int = 30
    next_expiry_at: dt.datetime | None = None
    next_expiry: NextExpiryOut | None = None


MEMBER_BALANCES_EXAMPLE = {
    **BALANCES_EXAMPLE,
    "points_expiring": 300,
    "points_expiring_days": 30,
    "next_expiry_at": "2027-03-01T16:00:00Z",
    "next_expiry": NEXT_EXPIRY_EXAMPLE,
}


class PointsLotOut(msgspec.Struct):
    """Points earned together (一批积分) and what became of them, as of now: ``remaining`` can
    still be spent (0 once past ``expires_at``), ``expired`` (past their expiry, written off by the
    job or about to be), ``spent``; ``state`` is ``pending`` (waiting for the return window until
    ``available_at``), ``available``, ``expired`` or ``spent``."""

    id: uuid.UUID
    points: int
    remaining: int
    expired: int
    spent: int
    state: Literal["pending", "available", "expired", "spent"]
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    available_at: dt.datetime | None
    store_id: uuid.UUID | None
    posting_id: uuid.UUID


class PointsLotPageOut(msgspec.Struct):
    """One page of points lots, latest earned first."""

    items: list[PointsLotOut]
    page: int
    page_size: int
    total: int


class AdjustIn(msgspec.Struct, forbid_unknown_fields=True):
    """A manual points adjustment (手工调整): positive adds, negative removes (0 is refused);
    reason required."""

    points: SignedPoints
    reason: Reason
    store_id: uuid.UUID | None = None


class RedeemIn(msgspec.Struct, forbid_unknown_fields=True):
    """Points exchanged for a gift or service (积分兑换)."""

    points: Annotated[int, msgspec.Meta(ge=1, le=10_000_000_000)]
    store_id: uuid.UUID | None = None
    reason: Reason = "积分兑换"


class TopUpIn(msgspec.Struct, forbid_unknown_fields=True):
    """Stored value paid in (储值充值), in minor units; with a top-up ``plan`` (充100送20) the
    amount must be the plan's and its bonus is added."""

    amount: PositiveAmount
    method: Literal["cash", "card", "wechat_pay", "alipay", "transfer"] = "cash"
    store_id: uuid.UUID | None = None
    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class CashOutIn(msgspec.Struct, forbid_unknown_fields=True):
    """Stored value paid back as cash (退储值): principal only."""

    amount: PositiveAmount
    store_id: uuid.UUID | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class PointsOut(msgspec.Struct):
    """What a redemption or adjustment did, and the balances after it."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    points: int
    balances: BalancesOut


class TopUpOut(msgspec.Struct):
    """What a top-up did (the bonus its plan added), and the balances after it."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount: int
    balances: BalancesOut
    bonus: int = 0


class CashOutOut(msgspec.Struct):
    """What paying back did: principal paid, bonus forfeited with it, the balances after."""

    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount: int
    bonus_forfeited: int
    balances: BalancesOut


def _points_out(result: service.PointsResult, status: int) -> Response[PointsOut]:
    out = PointsOut(result.posting_id, result.member_id, result.points, BalancesOut.of(result.balances))
    return replayable(out, status, result.replayed)


POINTS_ANSWER = {"posting_id": POSTING_ID, "member_id": MEMBER_ID, "points": 500, "balances": BALANCES_EXAMPLE}


@get(
    "/members/{member_id:uuid}/balances",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's balances",
    responses=answers(200, MemberBalancesOut, MEMBER_BALANCES_EXAMPLE, 403, 404, 409),
)
async def get_balances(request: Request, member_id: FromPath[uuid.UUID]) -> MemberBalancesOut:
    """Spendable points (points past their expiry never count), points debt, stored value and
    growth; the points expiring soon and the next expiry."""
    await member_for(current_key(request), member_id)
    accounts = await service.member_accounts(member_id)
    out = BalancesOut.of(accounts.balances())
    return MemberBalancesOut(
        **{name: getattr(out, name) for name in out.__struct_fields__},
        points_expiring=accounts.expiring.points,
        points_expiring_days=accounts.expiring.days,
        next_expiry_at=accounts.expiring.next_at,
        next_expiry=NextExpiryOut.of(await service.next_expiry(accounts)),
    )


@get(
    "/members/{member_id:uuid}/points-lots",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's points lots (积分批次：获得、到期、剩余)",
    responses=answers(
        200,
        PointsLotPageOut,
        {
            "items": [
                {
                    "id": "6e5d4c3b-0000-4a8e-9d7e-1f2a3b4c5d6e",
                    "points": 257,
                    "remaining": 200,
                    "expired": 0,
                    "spent": 57,
                    "state": "available",
                    "earned_at": "2026-11-23T08:31:00Z",
                    "expires_at": "2027-11-23T08:31:00Z",
                    "available_at": None,
                    "store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
                    "posting_id": POSTING_ID,
                }
            ],
            "page": 1,
            "page_size": 50,
            "total": 1,
        },
        403,
        404,
        409,
    ),
)
async def get_points_lots(
    request: Request,
    member_id: FromPath[uuid.UUID],
    page: Page = 1,
    page_size: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
) -> PointsLotPageOut:
    """Every lot of the member's points, latest earned first: earned, expires, remaining, spent
    and expired (lots past their expiry too, before and after the expiry job wrote them off)."""
    row = await member_for(current_key(request), member_id)
    if row["status"] == "erased":
        raise MemberErased(member_id=member_id)
    rows, total = await service.points_lots_page(member_id, page, page_size)
    return PointsLotPageOut([msgspec.convert(row, PointsLotOut) for row in rows], page, page_size, total)


@get(
    "/members/{member_id:uuid}/ledger",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's ledger (积分/储值明细)",
    responses=answers(
        200,
        LedgerPageOut,
        {
            "items": [
                {
                    "id": "5d4c3b2a-0000-4a8e-9d7e-1f2a3b4c5d6e",
                    "created_at": "2026-11-23T08:31:00Z",
                    "posting": "purchase",
                    "account": "points",
                    "amount": 61,
                    "rule": "base",
                    "reason": "消费 61 元 × 1 分/元",
                    "store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
                    "sale_id": "9d8c7b6a-0000-4a8e-9d7e-1f2a3b4c5d6e",
                    "operator": "api-key:till-1",
                }
            ],
            "page": 1,
            "page_size": 50,
            "total": 1,
        },
        403,
        404,
        409,
    ),
)
async def get_ledger(
    request: Request,
    member_id: FromPath[uuid.UUID],
    page: Page = 1,
    page_size: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
) -> LedgerPageOut:
    """Every entry on the member's accounts, newest first, each with its rule and reason."""
    await member_for(current_key(request), member_id)
    rows, total = await service.ledger_page(member_id, page, page_size)
    return LedgerPageOut([msgspec.convert(row, EntryOut) for row in rows], page, page_size, total)


@post(
    "/members/{member_id:uuid}/points/adjust",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Adjust points by hand (admin; audited)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, PointsOut, POINTS_ANSWER, 403, 404, 409, description="Created"),
)
async def adjust_points(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[AdjustIn, body({"points": 500, "reason": "补录 11 月 20 日漏积分小票 S1-0038"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[PointsOut]:
    """Add or remove points with a reason; written to the audit log with the key's name."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await service.adjust_points(
            member_id, data.points, data.reason, key.actor, store_id=store, idempotency_key=idempotency_key
        )
    return _points_out(result, 201)


@post(
    "/members/{member_id:uuid}/points/redeem",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Redeem points for a gift (积分兑换)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, PointsOut, POINTS_ANSWER, 403, 404, 409, description="Created"),
)
async def redeem_points(
    request: Request,
    member_id: FromPath[uuid.UUID],
    idempotency_key: IdempotencyKey,
    data: Annotated[RedeemIn, body({"points": 500, "reason": "兑换保温杯"})],
) -> Response[PointsOut]:
    """Take points (nearest expiry first) for a gift or service; idempotent like transactions."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await service.redeem_points(
            member_id, data.points, store, data.reason, idempotency_key=idempotency_key, actor=key.actor
        )
    return _points_out(result, 201)


@post(
    "/members/{member_id:uuid}/stored-value/top-up",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Top up stored value (储值充值)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(
        201,
        TopUpOut,
        {
            "posting_id": POSTING_ID,
            "member_id": MEMBER_ID,
            "amount": 10000,
            "balances": BALANCES_EXAMPLE,
            "bonus": 2000,
        },
        403,
        404,
        409,
        description="Created",
    ),
)
async def top_up(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[TopUpIn, body({"amount": 10000, "method": "wechat_pay", "plan": "100-20"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[TopUpOut]:
    """Add stored value paid by cash, card or a wallet; idempotent with a key."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await service.top_up(
            member_id, data.amount, store, data.method, idempotency_key=idempotency_key, actor=key.actor, plan=data.plan
        )
    out = TopUpOut(result.posting_id, result.member_id, result.amount, BalancesOut.of(result.balances), result.bonus)
    return replayable(out, 201, result.replayed)


@post(
    "/members/{member_id:uuid}/stored-value/cash-out",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Pay stored value back as cash (退储值)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(
        201,
        CashOutOut,
        {
            "posting_id": POSTING_ID,
            "member_id": MEMBER_ID,
            "amount": 5000,
            "bonus_forfeited": 1000,
            "balances": BALANCES_EXAMPLE,
        },
        403,
        404,
        409,
        description="Created",
    ),
)
async def cash_out(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[CashOutIn, body({"amount": 5000, "reason": "顾客退卡"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[CashOutOut]:
    """Principal only; the bonus that came with it is forfeited in proportion; audited."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await service.cash_out(member_id, data.amount, store, data.reason, idempotency_key, key.actor)
    out = CashOutOut(
        result.posting_id, result.member_id, result.amount, result.bonus_forfeited, BalancesOut.of(result.balances)
    )
    return replayable(out, 201, result.replayed)


class SignInOut(msgspec.Struct):
    """A day's sign-in (签到): the streak it makes and what it earned; signing in twice on one
    day earns nothing more (``already_signed_in``)."""

    member_id: uuid.UUID
    day: dt.date
    streak: int
    points: int
    awards: list[AwardOut]
    balances: BalancesOut
    already_signed_in: bool


@post(
    "/members/{member_id:uuid}/sign-ins",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Sign a member in for today (每日签到)",
    status_code=200,
    responses=answers(
        200,
        SignInOut,
        {
            "member_id": MEMBER_ID,
            "day": "2026-11-30",
            "streak": 7,
            "points": 15,
            "awards": [
                {"rule": "sign-in", "points": 15, "reason": "【每日签到】每日签到 5 积分；连续签到 7 天奖励 10 积分"}
            ],
            "balances": BALANCES_EXAMPLE,
            "already_signed_in": False,
        },
        403,
        404,
        409,
    ),
)
async def sign_in(request: Request, member_id: FromPath[uuid.UUID]) -> SignInOut:
    """Once a day in the program's time zone; the streak continues from yesterday or restarts."""
    key = current_key(request)
    await member_for(key, member_id)
    result = await bonuses.sign_in(member_id, key.actor)
    return SignInOut(
        result.member_id,
        result.day,
        result.streak,
        result.points,
        [AwardOut(a.rule, a.points, a.reason) for a in result.awards],
        BalancesOut.of(result.balances),
        result.already_signed_in,
    )


ROUTES = [
    get_balances,
    get_points_lots,
    get_ledger,
    adjust_points,
    redeem_points,
    top_up,
    cash_out,
    sign_in,
    *transfer_api.ROUTES,
]
