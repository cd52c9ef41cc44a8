"""REST routes for points transfers between members (积分转赠): give, list, read, reverse."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.idempotent import REPLAYED_HEADER, IdempotencyKey, OptionalIdempotencyKey, replayable
from membership.api.schemas import BALANCES_EXAMPLE, BalancesOut, Page, PageSize, Points
from membership.api.security import current_key, member_for, member_store
from membership.errors import MemberNotFound, Reason, TransferNotFound, ValidationError
from membership.ledger import idempotency, transfer
from membership.members.credentials import CredentialKindName
from membership.members.service import identify

TAGS = ["points transfers"]
Why = Annotated[str, msgspec.Meta(max_length=200)]
TRANSFER_ID = "2b3c4d5e-0000-4a8e-9d7e-1f2a3b4c5d6e"


class Recipient(msgspec.Struct, forbid_unknown_fields=True):
    """The member who receives, by a card, code or phone they present (``kind`` as in
    ``GET /credential-kinds``)."""

    kind: CredentialKindName
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TransferIn(msgspec.Struct, forbid_unknown_fields=True):
    """Points to give another member of the program: ``to_member_id`` or ``to`` (a credential)."""

    points: Points
    to_member_id: uuid.UUID | None = None
    to: Recipient | None = None
    reason: Why = ""
    store_id: uuid.UUID | None = None


class ReverseIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the transfer is reversed (required; kept in the ledger and the audit log)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TransferOut(msgspec.Struct):
    """A transfer as made (or reversed), with both members' balances after it; ``debt`` is what a
    reversal could not take back because the receiver had spent it."""

    id: uuid.UUID
    from_member_id: uuid.UUID
    to_member_id: uuid.UUID
    points: int
    posting_id: uuid.UUID
    from_balances: BalancesOut
    to_balances: BalancesOut
    reversed: bool
    debt: int


class TransferRecordOut(msgspec.Struct):
    """A transfer as recorded: who, whom, how many, why, and its reversal if any."""

    id: uuid.UUID
    from_member_id: uuid.UUID
    to_member_id: uuid.UUID
    points: int
    reason: str
    actor: str
    created_at: dt.datetime
    reversed_at: dt.datetime | None
    reversed_by: str
    reversal_reason: str


class TransferPageOut(msgspec.Struct):
    """One page of a member's transfers (given and received), newest first."""

    items: list[TransferRecordOut]
    page: int
    page_size: int
    total: int


TRANSFER_ANSWER = {
    "id": TRANSFER_ID,
    "from_member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "to_member_id": "1c8d7b63-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "points": 500,
    "posting_id": "3c4d5e6f-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "from_balances": BALANCES_EXAMPLE,
    "to_balances": BALANCES_EXAMPLE,
    "reversed": False,
    "debt": 0,
}
RECORD_EXAMPLE = {
    "id": TRANSFER_ID,
    "from_member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "to_member_id": "1c8d7b63-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "points": 500,
    "reason": "送给家人",
    "actor": "api-key:till-1",
    "created_at": "2026-12-05T08:00:00Z",
    "reversed_at": None,
    "reversed_by": "",
    "reversal_reason": "",
}


def _out(result: transfer.TransferResult) -> TransferOut:
    return TransferOut(
        result.id,
        result.from_member_id,
        result.to_member_id,
        result.points,
        result.posting_id,
        BalancesOut.of(result.from_balances),
        BalancesOut.of(result.to_balances),
        result.reversed,
        result.debt,
    )


def _record(row: dict[str, Any]) -> TransferRecordOut:
    return msgspec.convert(
        {name: row[name] for name in TransferRecordOut.__struct_fields__}, TransferRecordOut, from_attributes=True
    )


@post(
    "/members/{member_id:uuid}/points-transfers",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Give points to another member (积分转赠)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, TransferOut, TRANSFER_ANSWER, 403, 404, 409, description="Created"),
)
async def give_points(
    request: Request,
    member_id: FromPath[uuid.UUID],
    idempotency_key: IdempotencyKey,
    data: Annotated[TransferIn, body({"points": 500, "to": {"kind": "phone", "value": "13912345678"}})],
) -> Response[TransferOut]:
    """Move points from this member to another of the same program, keeping their expiry: the
    program's settings must allow it (``points_transfer``; limits per transfer and per day, else
    409 ``transfer_not_allowed`` saying which); 409 ``insufficient_points`` when the giver has
    fewer spendable points. Idempotent like transactions."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    if (data.to_member_id is None) == (data.to is None):
        raise ValidationError(
            field="to_member_id/to", reason=Reason("give exactly one of them", "须且只能给出其中一项")
        )
    if data.to is not None:
        receiver = await identify(row["program_id"], data.to.kind, data.to.value)
    else:
        assert data.to_member_id is not None
        receiver = (await member_for(key, data.to_member_id))["id"]
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await transfer.transfer_points(
            member_id, receiver, data.points, data.reason, idempotency_key, key.actor, store
        )
    return replayable(_out(result), 201, result.replayed)


@get(
    "/members/{member_id:uuid}/points-transfers",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's points transfers, given and received",
    responses=answers(
        200, TransferPageOut, {"items": [RECORD_EXAMPLE], "page": 1, "page_size": 20, "total": 1}, 403, 404
    ),
)
async def list_transfers(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 20
) -> TransferPageOut:
    """Transfers the member gave or received, newest first, reversed ones included."""
    await member_for(current_key(request), member_id)
    rows, total = await transfer.member_transfers(member_id, page, page_size)
    return TransferPageOut([_record(row) for row in rows], page, page_size, total)


async def _transfer_for(request: Request, transfer_id: uuid.UUID) -> dict[str, Any]:
    """The transfer, when the key's merchant owns its program; else ``TransferNotFound``."""
    row = await transfer.transfer_row(transfer_id)
    try:
        await member_for(current_key(request), row["from_member_id"])
    except MemberNotFound:
        raise TransferNotFound(transfer_id=transfer_id) from None
    return row


@get(
    "/points-transfers/{transfer_id:uuid}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One points transfer",
    responses=answers(200, TransferRecordOut, RECORD_EXAMPLE, 403, 404),
)
async def get_transfer(request: Request, transfer_id: FromPath[uuid.UUID]) -> TransferRecordOut:
    """The transfer and its reversal, if any."""
    return _record(await _transfer_for(request, transfer_id))


@post(
    "/points-transfers/{transfer_id:uuid}/reverse",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Reverse a points transfer (admin)",
    response_headers=[REPLAYED_HEADER],
    responses=answers(201, TransferOut, {**TRANSFER_ANSWER, "reversed": True}, 403, 404, 409, description="Created"),
)
async def reverse_transfer(
    request: Request,
    transfer_id: FromPath[uuid.UUID],
    data: Annotated[ReverseIn, body({"reason": "会员误操作，申请撤回"})],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[TransferOut]:
    """Take the points back from the receiver (points that expired meanwhile are not; points
    they spent become their debt) and give them back to the giver with their original expiry;
    audited. 409 ``transfer_reversed`` for a transfer already reversed."""
    key = current_key(request)
    row = await _transfer_for(request, transfer_id)
    async with idempotency.in_flight(str(row["program_id"]), idempotency_key):
        result = await transfer.reverse_transfer(transfer_id, data.reason, key.actor, idempotency_key)
    return replayable(_out(result), 201, result.replayed)


ROUTES = [give_points, list_transfers, get_transfer, reverse_transfer]
