"""REST routes for the points mall (积分商城): a program's rewards priced in points, redeeming one
on its own for a member, a member's redemptions, cancelling one, and the registered reward kinds.
Rewards are redeemed inside a sale through ``POST /transactions`` (``rewards: [code]``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.idempotent import REPLAYED_HEADER, IdempotencyKey, replayable
from membership.api.schemas import BALANCES_EXAMPLE, BalancesOut, Page, PageSize, Reason, check_body_code
from membership.api.security import current_key, member_for, member_store, program_for
from membership.errors import MemberNotFound, ProgramNotFound, ValidationError
from membership.errors import Reason as ErrorReason  # Reason: the API's reason-text type
from membership.ledger import idempotency
from membership.rewards import redeeming, service
from membership.rewards.errors import RedemptionNotFound
from membership.rewards.service import Code, RewardTerms

TAGS = ["rewards"]


class RewardIn(RewardTerms, frozen=True, kw_only=True):
    """A reward of the points mall (兑换品). ``kind``: ``gift`` (``params``: ``sku``, one unit of it
    free) or ``discount`` (``params``: ``percent_off`` 1–99, 20 = 8折, capped by ``max_off``, or
    ``amount_off`` minor units; ``min_spend``), or a kind a pack registers (``GET
    /reward-kinds``). ``points``: the price. ``stock``: units left (null: unlimited).
    ``member_limit`` per ``limit_period`` (``day``, ``week``, ``month``, ``year``, ``total``).
    ``available_from``/``available_until``: inclusive local dates. ``store_ids``: where (empty:
    everywhere). ``coupon_days``: validity of the coupon a redemption on its own gives.
    ``stackable``: its coupon combines with other stackable coupons."""

    code: Code | None = None


class RewardOut(msgspec.Struct):
    """A reward as stored; ``gives_zh``/``gives_en`` say what it gives; ``active`` false once
    taken off the catalogue."""

    code: str
    name: str
    description: str
    kind: str
    params: dict[str, Any]
    points: int
    stock: int | None
    member_limit: int | None
    limit_period: str
    available_from: dt.date | None
    available_until: dt.date | None
    store_ids: list[uuid.UUID]
    coupon_days: int
    stackable: bool
    active: bool
    gives_zh: str
    gives_en: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RewardPageOut(msgspec.Struct):
    """One page of rewards, cheapest first."""

    items: list[RewardOut]
    page: int
    page_size: int
    total: int


class RedeemIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who redeems, and where (the key's own store when it is bound to one)."""

    member_id: uuid.UUID
    store_id: uuid.UUID | None = None


class RedeemedOut(msgspec.Struct):
    """A redemption on its own: the points spent, the coupon it gave (valid ``valid_from`` to
    ``valid_until``, local dates), the balances after it."""

    id: uuid.UUID
    reward: str
    name: str
    member_id: uuid.UUID
    points: int
    coupon: str
    valid_from: dt.date
    valid_until: dt.date
    balances: BalancesOut
    state: str


class RedemptionOut(msgspec.Struct):
    """One redemption: ``state`` ``redeemed``, ``cancelled`` or ``refunded`` (the points and the
    stock came back); ``sale_id`` when redeemed in a sale; its coupon and the coupon's state."""

    id: uuid.UUID
    reward: str
    name: str
    member_id: uuid.UUID
    store_id: uuid.UUID | None
    sale_id: uuid.UUID | None
    points: int
    state: str
    coupon: str
    coupon_state: str
    valid_from: dt.date
    valid_until: dt.date
    created_at: dt.datetime
    changed_at: dt.datetime


class RedemptionPageOut(msgspec.Struct):
    """One page of a member's redemptions, newest first."""

    items: list[RedemptionOut]
    page: int
    page_size: int
    total: int


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the redemption is cancelled (kept in the audit log)."""

    reason: Reason


class RewardKindOut(msgspec.Struct):
    """A registered reward kind: its name, labels and the JSON schema of its ``params``."""

    kind: str
    label_zh: str
    label_en: str
    params_schema: dict[str, Any]


MEMBER_ID = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"
REWARD_EXAMPLE = {
    "code": "drink300",
    "name": "300 积分换任意饮品",
    "kind": "gift",
    "params": {"sku": "DRINK-01"},
    "points": 300,
    "stock": 200,
    "member_limit": 2,
    "limit_period": "month",
    "available_until": "2027-03-31",
}
REWARD_OUT_EXAMPLE = {
    "code": "drink300",
    "name": "300 积分换任意饮品",
    "description": "",
    "kind": "gift",
    "params": {"sku": "DRINK-01"},
    "points": 300,
    "stock": 200,
    "member_limit": 2,
    "limit_period": "month",
    "available_from": None,
    "available_until": "2027-03-31",
    "store_ids": [],
    "coupon_days": 30,
    "stackable": False,
    "active": True,
    "gives_zh": "赠送 DRINK-01",
    "gives_en": "free DRINK-01",
    "created_at": "2026-12-10T08:00:00Z",
    "updated_at": "2026-12-10T08:00:00Z",
}
REDEEMED_EXAMPLE = {
    "id": "1f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "reward": "drink300",
    "name": "300 积分换任意饮品",
    "member_id": MEMBER_ID,
    "points": 300,
    "coupon": "K7M2QH4WPA3X",
    "valid_from": "2026-12-10",
    "valid_until": "2027-01-08",
    "balances": BALANCES_EXAMPLE,
    "state": "redeemed",
}
REDEMPTION_EXAMPLE = {
    "id": "1f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "reward": "drink300",
    "name": "300 积分换任意饮品",
    "member_id": MEMBER_ID,
    "store_id": None,
    "sale_id": None,
    "points": 300,
    "state": "redeemed",
    "coupon": "K7M2QH4WPA3X",
    "coupon_state": "issued",
    "valid_from": "2026-12-10",
    "valid_until": "2027-01-08",
    "created_at": "2026-12-10T08:00:00Z",
    "changed_at": "2026-12-10T08:00:00Z",
}


def _reward(row: dict[str, Any]) -> RewardOut:
    return msgspec.convert(row, RewardOut)


def _data(reward: RewardIn) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(reward).items() if not (k == "code" and v is None)}


@get(
    "/programs/{program_id:uuid}/rewards",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's points mall (积分商城)",
    responses=answers(
        200, RewardPageOut, {"items": [REWARD_OUT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_rewards(
    request: Request,
    program_id: FromPath[uuid.UUID],
    include_retired: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> RewardPageOut:
    """The rewards on the catalogue, cheapest first; those taken off too when asked."""
    program = await program_for(current_key(request), program_id)
    rows, total = await service.list_rewards(program.id, include_retired, page, page_size)
    return RewardPageOut([_reward(row) for row in rows], page, page_size, total)


@get(
    "/programs/{program_id:uuid}/rewards/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One reward",
    responses=answers(200, RewardOut, REWARD_OUT_EXAMPLE, 403, 404),
)
async def get_reward(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> RewardOut:
    """The reward, on the catalogue or taken off."""
    program = await program_for(current_key(request), program_id)
    return _reward(await service.get_reward(program.id, code))


@post(
    "/programs/{program_id:uuid}/rewards",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a reward",
    responses=answers(201, RewardOut, REWARD_OUT_EXAMPLE, 403, 404, 422, description="Created"),
)
async def add_reward(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[RewardIn, body(REWARD_EXAMPLE)]
) -> RewardOut:
    """Add a reward (``code`` new in the program; ``params`` checked by its kind); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=ErrorReason("required for a new reward", "新建兑换品时必填"))
    return _reward(await service.create_reward(program.id, _data(data), key.actor))


@put(
    "/programs/{program_id:uuid}/rewards/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a reward",
    responses=answers(200, RewardOut, REWARD_OUT_EXAMPLE, 403, 404, 422),
)
async def change_reward(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[RewardIn, body(REWARD_EXAMPLE)],
) -> RewardOut:
    """Replace the reward's terms (``stock`` is set to the value given); one taken off comes back
    on the catalogue. Audited."""
    check_body_code(data.code, code, ErrorReason("reward", "兑换品"))
    key = current_key(request)
    program = await program_for(key, program_id)
    return _reward(await service.change_reward(program.id, code, _data(data), key.actor))


@delete(
    "/programs/{program_id:uuid}/rewards/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Take a reward off the catalogue (下架)",
    status_code=204,
    responses=answers(204, None, None, 403, 404),
)
async def retire_reward(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """It can no longer be redeemed; coupons already given stay usable until they end."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await service.retire_reward(program.id, code, key.actor)


@post(
    "/programs/{program_id:uuid}/rewards/{code:str}/redeem",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Redeem a reward for a member (积分兑换)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, RedeemedOut, REDEEMED_EXAMPLE, 403, 404, 409, description="Created"),
)
async def redeem_reward(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    idempotency_key: IdempotencyKey,
    data: Annotated[RedeemIn, body({"member_id": MEMBER_ID})],
) -> Response[RedeemedOut]:
    """Spend the reward's points (nearest expiry first) and give its coupon, in one transaction.
    Refused with a code saying why (409): ``insufficient_points``, ``reward_out_of_stock``,
    ``reward_limit_reached``, ``reward_expired``, ``reward_not_yet_available``,
    ``reward_wrong_store``, ``reward_retired``. Retrying with the same ``Idempotency-Key`` and body
    returns the first answer (header ``Idempotent-Replayed: true``)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    member = await member_for(key, data.member_id)
    if member["program_id"] != program.id:
        raise MemberNotFound(member_id=data.member_id)
    store = await member_store(key, member, data.store_id)
    async with idempotency.in_flight(str(program.id), idempotency_key):
        result = await redeeming.redeem_reward(
            program.id, code, data.member_id, store, idempotency_key=idempotency_key, actor=key.actor
        )
    out = RedeemedOut(
        id=result.id,
        reward=result.reward,
        name=result.name,
        member_id=result.member_id,
        points=result.points,
        coupon=result.coupon,
        valid_from=result.valid_from,
        valid_until=result.valid_until,
        balances=BalancesOut.of(result.balances),
        state=result.state,
    )
    return replayable(out, 201, result.replayed)


@get(
    "/members/{member_id:uuid}/reward-redemptions",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's reward redemptions",
    responses=answers(
        200, RedemptionPageOut, {"items": [REDEMPTION_EXAMPLE], "page": 1, "page_size": 20, "total": 1}, 403, 404
    ),
)
async def member_redemptions(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 20
) -> RedemptionPageOut:
    """Newest first, each with its coupon and whether it was cancelled or refunded."""
    await member_for(current_key(request), member_id)
    rows, total = await redeeming.member_redemptions(member_id, page, page_size)
    return RedemptionPageOut([msgspec.convert(row, RedemptionOut) for row in rows], page, page_size, total)


@post(
    "/reward-redemptions/{redemption_id:uuid}/cancel",
    status_code=200,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Cancel a redemption (撤销兑换)",
    responses=answers(200, RedemptionOut, {**REDEMPTION_EXAMPLE, "state": "cancelled"}, 403, 404, 409),
)
async def cancel_redemption(
    request: Request,
    redemption_id: FromPath[uuid.UUID],
    data: Annotated[CancelIn, body({"reason": "顾客改换其他礼品"})],
) -> RedemptionOut:
    """A redemption made on its own whose coupon is unused: the coupon is voided, the points come
    back with their expiry and the stock too (409 when its coupon was used, or it was redeemed in
    a sale: refund that sale). Audited."""
    key = current_key(request)
    row = await redeeming.redemption_row(redemption_id)
    try:
        await program_for(key, row["program_id"])
    except ProgramNotFound:  # another merchant's redemption: answer as if it did not exist
        raise RedemptionNotFound(redemption_id=redemption_id) from None
    return msgspec.convert(await redeeming.cancel_redemption(redemption_id, data.reason, key.actor), RedemptionOut)


@get(
    "/reward-kinds",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Kinds of rewards (built-in and packs')",
    responses=answers(
        200,
        list[RewardKindOut],
        [{"kind": "gift", "label_zh": "赠品", "label_en": "gift", "params_schema": {"type": "object"}}],
        403,
    ),
)
async def reward_kinds() -> list[RewardKindOut]:
    """Every registered reward kind with the JSON schema of its ``params``."""
    return [RewardKindOut(k.kind, k.label_zh, k.label_en, k.params_schema) for k in service.kinds_info()]


ROUTES = [
    list_rewards,
    get_reward,
    add_reward,
    change_reward,
    retire_reward,
    redeem_reward,
    member_redemptions,
    cancel_redemption,
    reward_kinds,
]
