"""REST routes for member merges (会员合并): merge, list a member's merges, undo within a day."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import BALANCES_EXAMPLE, BalancesOut
from membership.api.security import current_key, member_for
from membership.db.sql import json_column
from membership.errors import MemberNotFound, MergeNotFound
from membership.members import merge

TAGS = ["members"]
Why = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MERGE_ID = "5e6f7081-0000-4a8e-9d7e-1f2a3b4c5d6e"
SURVIVOR = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"
MERGED = "1c8d7b63-3c1e-4a8e-9d7e-1f2a3b4c5d6e"


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The members to merge into the one in the path (1 to 10, of its program), and why."""

    merged: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=10)]
    reason: Why


class UndoIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the merge is undone (audited)."""

    reason: Why


class MergeOut(msgspec.Struct):
    """A merge (or its undo): the survivor, the members merged in, the survivor's balances after
    it, and until when it can be undone."""

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged: list[uuid.UUID]
    balances: BalancesOut
    created_at: dt.datetime
    undo_until: dt.datetime
    undone: bool


class MergeRecordOut(msgspec.Struct):
    """A merge as recorded: who was merged into whom, why, by whom, and its undo if any."""

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged: list[uuid.UUID]
    reason: str
    actor: str
    created_at: dt.datetime
    undone_at: dt.datetime | None
    undone_by: str
    undo_reason: str


MERGE_ANSWER = {
    "id": MERGE_ID,
    "survivor_id": SURVIVOR,
    "merged": [MERGED],
    "balances": BALANCES_EXAMPLE,
    "created_at": "2026-12-05T08:00:00Z",
    "undo_until": "2026-12-06T08:00:00Z",
    "undone": False,
}
RECORD_EXAMPLE = {
    "id": MERGE_ID,
    "survivor_id": SURVIVOR,
    "merged": [MERGED],
    "reason": "同一顾客办了两张卡",
    "actor": "api-key:hq",
    "created_at": "2026-12-05T08:00:00Z",
    "undone_at": None,
    "undone_by": "",
    "undo_reason": "",
}


def _out(result: merge.MergeResult) -> MergeOut:
    return MergeOut(
        result.id,
        result.survivor_id,
        list(result.merged),
        BalancesOut.of(result.balances),
        result.created_at,
        result.undo_until,
        result.undone,
    )


def _record(row: dict[str, Any]) -> MergeRecordOut:
    return MergeRecordOut(
        row["id"],
        row["survivor_id"],
        [uuid.UUID(m) for m in json_column(row["merged"])],
        row["reason"],
        row["actor"],
        row["created_at"],
        row["undone_at"],
        row["undone_by"],
        row["undo_reason"],
    )


@post(
    "/members/{member_id:uuid}/merges",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Merge members into this one (会员合并)",
    responses=answers(201, MergeOut, MERGE_ANSWER, 403, 404, 409, 422, description="Created"),
)
async def merge_members(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[MergeIn, body({"merged": [MERGED], "reason": "同一顾客办了两张卡"})],
) -> MergeOut:
    """The merged members' cards, points and stored-value lots (with their expiry), balances,
    sales, coupons, tier history and paid memberships become this member's; balances add up and
    the highest tier stays. A merged member forwards here: ``GET /members/{its id}`` answers with
    this member, identifying by its phone finds this member, and a write naming it is refused with
    409 ``member_merged``. Audited; undo within a day with ``POST /member-merges/{id}/undo``."""
    key = current_key(request)
    await member_for(key, member_id)
    for other in data.merged:
        await member_for(key, other)
    return _out(await merge.merge_members(member_id, data.merged, data.reason, key.actor))


@get(
    "/members/{member_id:uuid}/merges",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The merges into a member",
    responses=answers(200, list[MergeRecordOut], [RECORD_EXAMPLE], 403, 404),
)
async def list_merges(request: Request, member_id: FromPath[uuid.UUID]) -> list[MergeRecordOut]:
    """Newest first (at most 50), undone ones included."""
    await member_for(current_key(request), member_id)
    return [_record(row) for row in await merge.member_merges(member_id)]


@post(
    "/member-merges/{merge_id:uuid}/undo",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Undo a member merge (within a day)",
    responses=answers(201, MergeOut, {**MERGE_ANSWER, "undone": True}, 403, 404, 409, description="Created"),
)
async def undo_merge(
    request: Request,
    merge_id: FromPath[uuid.UUID],
    data: Annotated[UndoIn, body({"reason": "合并错了人"})],
) -> MergeOut:
    """Every moved row goes back; the merged members get back what their lots hold now. 409
    ``merge_not_undoable`` (saying why) after a day, once points or stored value that came with
    the merge were spent or a moved sale refunded, or once the survivor was merged again."""
    key = current_key(request)
    row = await merge.merge_row(merge_id)
    try:
        await member_for(key, row["survivor_id"])
    except MemberNotFound:  # another merchant's merge: answer as if it did not exist
        raise MergeNotFound(merge_id=merge_id) from None
    return _out(await merge.undo_merge(merge_id, data.reason, key.actor))


ROUTES = [merge_members, list_merges, undo_merge]
