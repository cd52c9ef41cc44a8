"""REST routes for tiers (会员等级): the program's tiers and policy, a member's tier history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Request, get, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.security import current_key, member_for, program_for
from membership.tiers import service
from membership.tiers.policy import TierConfig, tier_config

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
        list[TierChangeOut],
        [
            {
                "from_tier": "silver",
                "to_tier": "gold",
                "reason": "upgrade",
                "metric": 5120,
                "created_at": "2026-11-30T04:40:00Z",
            }
        ],
        403,
        404,
    ),
)
async def tier_history(request: Request, member_id: FromPath[uuid.UUID]) -> list[TierChangeOut]:
    """Newest first (the last 50 changes)."""
    await member_for(current_key(request), member_id)
    return [msgspec.convert(row, TierChangeOut) for row in await service.history(member_id)]


ROUTES = [get_tiers, set_tiers, tier_history]
