"""REST routes for tiers (会员等级): the program's tiers and policy, a member's tier history, a
tier set by hand until a date, paid membership plans and the memberships members buy (付费会员)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, QueryParameter

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.idempotent import REPLAYED_HEADER, OptionalIdempotencyKey, replayable
from membership.api.schemas import Page, PageSize
from membership.api.security import current_key, member_for, member_store, program_for
from membership.errors import TierAssignmentNotFound
from membership.ledger import idempotency
from membership.org.service import get_program
from membership.tiers import assignment, paid, service
from membership.tiers.policy import PaidPlan, TierConfig, paid_plans, tier_config

TAGS = ["tiers"]
CONFIG_EXAMPLE = {
    "tiers": [
        {"code": "silver", "name": "银卡", "threshold": 1000, "points_multiplier_pct": 120, "discount_pct": 0},
        {
            "code": "gold",
            "name": "金卡",
            "threshold": 5000,
            "points_multiplier_pct": 150,
            "discount_pct": 5,
            "free_items": ["生日蛋糕"],
            "upgrade_coupons": ["GOLD-WELCOME"],
        },
    ],
    "policy": {"metric": "growth", "window_days": 365, "period_days": 365, "grace_days": 30, "downgrade": "one_down"},
}


class TierChangeOut(msgspec.Struct):
    """One change of the member's tier and why (``upgrade``, ``renewal``, ``downgrade``…)."""

    from_tier: str | None
    to_tier: str | None
    reason: str
    metric: int
    created_at: dt.datetime


class TierHistoryPageOut(msgspec.Struct):
    """One page of a member's tier changes, newest first."""

    items: list[TierChangeOut]
    page: int
    page_size: int
    total: int


@get(
    "/programs/{program_id:uuid}/tiers",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's tiers and tier policy",
    responses=answers(200, TierConfig, CONFIG_EXAMPLE, 403, 404),
)
async def get_tiers(request: Request, program_id: FromPath[uuid.UUID]) -> TierConfig:
    """Tiers lowest first, and how they are earned and kept."""
    program = await program_for(current_key(request), program_id)
    return tier_config(program.settings)


@put(
    "/programs/{program_id:uuid}/tiers",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set a program's tiers and tier policy",
    responses=answers(200, TierConfig, CONFIG_EXAMPLE, 403, 404, 422),
)
async def set_tiers(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[TierConfig, body(CONFIG_EXAMPLE)]
) -> TierConfig:
    """Replace the tiers and policy; members move on their next purchase (up) or review (down)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    tiers = [msgspec.to_builtins(tier) for tier in data.tiers]
    return await service.configure(program.id, tiers, msgspec.to_builtins(data.policy), key.actor)


@get(
    "/members/{member_id:uuid}/tier-history",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's tier history",
    responses=answers(
        200,
        TierHistoryPageOut,
        {
            "items": [
                {
                    "from_tier": "silver",
                    "to_tier": "gold",
                    "reason": "upgrade",
                    "metric": 5120,
                    "created_at": "2026-11-30T04:40:00Z",
                }
            ],
            "page": 1,
            "page_size": 50,
            "total": 1,
        },
        403,
        404,
    ),
)
async def tier_history(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> TierHistoryPageOut:
    """Newest first, a page at a time."""
    await member_for(current_key(request), member_id)
    rows, total = await service.history(member_id, page, page_size)
    return TierHistoryPageOut([msgspec.convert(row, TierChangeOut) for row in rows], page, page_size, total)


class TierAssignmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A tier set by hand (手动指定等级): the tier's ``code``, the last day it holds (``ends_on``,
    inclusive, in the program's time zone) and why (kept in the audit log)."""

    tier: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    ends_on: dt.date
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TierAssignmentOut(msgspec.Struct):
    """A tier set by hand: a floor until ``ends_at`` (the review waits for it; purchases may still
    lift the member higher)."""

    id: uuid.UUID
    member_id: uuid.UUID
    tier: str
    reason: str
    actor: str
    starts_at: dt.datetime
    ends_at: dt.datetime

    @classmethod
    def of(cls, found: assignment.TierAssignment) -> TierAssignmentOut:
        """From the service's value."""
        return cls(found.id, found.member_id, found.tier, found.reason, found.actor, found.starts_at, found.ends_at)


ASSIGNMENT_EXAMPLE = {
    "id": "4d5e6f70-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "tier": "gold",
    "reason": "集团大客户，经理批准",
    "actor": "api-key:hq",
    "starts_at": "2026-12-05T08:00:00Z",
    "ends_at": "2027-06-30T16:00:00Z",
}


@put(
    "/members/{member_id:uuid}/tier-assignment",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set a member's tier by hand until a date (手动指定等级)",
    responses=answers(200, TierAssignmentOut, ASSIGNMENT_EXAMPLE, 403, 404, 409, 422),
)
async def assign_tier(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[
        TierAssignmentIn, body({"tier": "gold", "ends_on": "2027-06-30", "reason": "集团大客户，经理批准"})
    ],
) -> TierAssignmentOut:
    """The member holds ``tier`` at once (in the tier history as ``manual``) and at least that tier
    through ``ends_on``: the review waits for it; then the policy decides. Replaces the member's
    current assignment; audited."""
    key = current_key(request)
    row = await member_for(key, member_id)
    program = await get_program(row["program_id"])
    ends_at = dt.datetime.combine(data.ends_on + dt.timedelta(days=1), dt.time(), program.zone).astimezone(dt.UTC)
    return TierAssignmentOut.of(await assignment.assign_tier(member_id, data.tier, ends_at, data.reason, key.actor))


@get(
    "/members/{member_id:uuid}/tier-assignment",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's tier set by hand, if one holds now",
    responses=answers(200, TierAssignmentOut, ASSIGNMENT_EXAMPLE, 403, 404),
)
async def get_tier_assignment(request: Request, member_id: FromPath[uuid.UUID]) -> TierAssignmentOut:
    """The assignment that holds now; 404 ``tier_assignment_not_found`` when none does."""
    await member_for(current_key(request), member_id)
    found = await assignment.current_assignment(member_id)
    if found is None:
        raise TierAssignmentNotFound(member_id=member_id)
    return TierAssignmentOut.of(found)


@delete(
    "/members/{member_id:uuid}/tier-assignment",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=204,
    summary="End a member's tier set by hand now",
    responses=answers(204, None, None, 403, 404, 409),
)
async def end_tier_assignment(
    request: Request,
    member_id: FromPath[uuid.UUID],
    reason: Annotated[str, QueryParameter(max_length=200, description="Why (audited)")] = "",
) -> None:
    """The tier stays until the next review, which decides as the policy says; audited."""
    key = current_key(request)
    await member_for(key, member_id)
    await assignment.end_assignment(member_id, key.actor, reason)


PLANS_EXAMPLE = [{"code": "prime-year", "name": "年卡", "tier": "gold", "fee": 19900, "days": 365}]


@get(
    "/programs/{program_id:uuid}/paid-plans",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's paid membership plans",
    responses=answers(200, list[PaidPlan], PLANS_EXAMPLE, 403, 404),
)
async def get_paid_plans(request: Request, program_id: FromPath[uuid.UUID]) -> list[PaidPlan]:
    """Each plan: the fee, the tier it buys and for how many days."""
    program = await program_for(current_key(request), program_id)
    return paid_plans(program.settings)


@put(
    "/programs/{program_id:uuid}/paid-plans",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set a program's paid membership plans",
    responses=answers(200, list[PaidPlan], PLANS_EXAMPLE, 403, 404, 422),
)
async def set_paid_plans(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[list[PaidPlan], body(PLANS_EXAMPLE)]
) -> list[PaidPlan]:
    """Replace the plans; each must buy one of the program's tiers. Memberships sold keep theirs."""
    key = current_key(request)
    program = await program_for(key, program_id)
    return await paid.set_plans(program.id, [msgspec.to_builtins(plan) for plan in data], key.actor)


class BuyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A plan bought at the till, paid by ``method`` (``stored_value`` takes it from the balance)."""

    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    method: Literal["cash", "card", "wechat_pay", "alipay", "stored_value"] = "cash"
    store_id: uuid.UUID | None = None


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the membership is refunded."""

    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class PaidMembershipOut(msgspec.Struct):
    """A paid membership and the member's tier after the change."""

    id: uuid.UUID
    member_id: uuid.UUID
    plan: str
    tier: str
    fee: int
    method: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    refunded_amount: int
    member_tier: str | None

    @classmethod
    def of(cls, result: paid.PaidMembershipResult) -> PaidMembershipOut:
        """From the service's value."""
        return cls(**{f: getattr(result, f) for f in cls.__struct_fields__})


class PaidMembershipPageOut(msgspec.Struct):
    """One page of a member's paid memberships, newest first."""

    items: list[PaidMembershipOut]
    page: int
    page_size: int
    total: int


PAID_EXAMPLE = {
    "id": "6e5d4c3b-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "plan": "prime-year",
    "tier": "gold",
    "fee": 19900,
    "method": "wechat_pay",
    "starts_at": "2026-11-30T05:00:00Z",
    "ends_at": "2027-11-30T05:00:00Z",
    "status": "active",
    "refunded_amount": 0,
    "member_tier": "gold",
}


@post(
    "/members/{member_id:uuid}/paid-memberships",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Buy or renew a paid membership (付费会员)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, PaidMembershipOut, PAID_EXAMPLE, 403, 404, 409, description="Created"),
)
async def buy_paid_membership(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[BuyIn, body({"plan": "prime-year", "method": "wechat_pay"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[PaidMembershipOut]:
    """The plan's tier at once; a renewal starts when the current membership ends."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await paid.buy(member_id, data.plan, data.method, store, idempotency_key, key.actor)
    return replayable(PaidMembershipOut.of(result), 201, result.replayed)


@get(
    "/members/{member_id:uuid}/paid-memberships",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's paid memberships",
    responses=answers(
        200, PaidMembershipPageOut, {"items": [PAID_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_paid_memberships(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> PaidMembershipPageOut:
    """Newest first, a page at a time."""
    await member_for(current_key(request), member_id)
    results, total = await paid.memberships(member_id, page, page_size)
    return PaidMembershipPageOut([PaidMembershipOut.of(result) for result in results], page, page_size, total)


@post(
    "/paid-memberships/{membership_id:uuid}/refund",
    status_code=200,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Refund a paid membership",
    responses=answers(200, PaidMembershipOut, {**PAID_EXAMPLE, "status": "refunded"}, 403, 404, 422),
)
async def refund_paid_membership(
    request: Request, membership_id: FromPath[uuid.UUID], data: Annotated[RefundIn, body({"reason": "顾客退卡"})]
) -> PaidMembershipOut:
    """The unused days' share of the fee comes back; the member returns to the tier they earn."""
    key = current_key(request)
    row = await paid.membership_row(membership_id)
    await member_for(key, row["member_id"])
    return PaidMembershipOut.of(await paid.refund(membership_id, key.actor, data.reason))


ROUTES = [
    get_tiers,
    set_tiers,
    tier_history,
    get_paid_plans,
    set_paid_plans,
    buy_paid_membership,
    list_paid_memberships,
    refund_paid_membership,
    assign_tier,
    get_tier_assignment,
    end_tier_assignment,
]
