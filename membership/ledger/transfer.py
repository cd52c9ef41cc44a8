"""Points transfers between members of one program (积分转赠), and an admin's reversal.

A transfer is one posting: the giver's points account loses the points (nearest expiry first, as
any spending) and the receiver's gains them, member to member, with no contra account between.
The receiver's new lots keep the expiry and the issuing store of the lots the points came from,
so a transfer never extends a point's life and the settlement between stores stays right. Points
the receiver owes (``points_debt``) are repaid first, as with any points they receive.

The program's settings decide whether members may transfer at all (``points_transfer``), the
smallest and largest transfer, and how much one member may give in a local day (reversed
transfers do not count). Each transfer is idempotent with a key, audited, announced
(``points.transferred``) and listed for both members.

An admin's reversal takes the points back from the receiver (the transfer's own lots first);
points of those lots that expired meanwhile are not taken back (the giver would have lost them
too), and points the receiver already spent become their debt, as a refund does. The giver gets
the rest back with the original expiry. Transfers and reversals lock both members, in id order,
then their points accounts: a transfer racing a redemption or a purchase never overdraws.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import emit, fetch, fetch_one, fetch_page, is_sqlite, new_id, use_case
from membership.errors import (
    InsufficientPoints,
    MemberNotFound,
    Reason,
    TransferNotAllowed,
    TransferNotFound,
    TransferReversed,
    ValidationError,
)
from membership.events import Event
from membership.ledger import idempotency
from membership.ledger.accounts import Kind
from membership.ledger.rules import Award, PointsExpiry
from membership.ledger.service import (
    Balances,
    MemberAccounts,
    PostingWriter,
    consume_lots,
    credit_points,
    lock_points,
    require_amount,
    reverse_points,
)
from membership.members.service import active_member
from membership.org.service import ProgramConfig, get_program
from membership.org.settings import settings_of

REASON_MAX = 200


@dataclasses.dataclass(frozen=True)
class TransferResult:
    """A transfer (or its reversal): who gave whom how many points, and both members' balances
    after it. ``debt``: what a reversal could not take back because the receiver had spent it."""

    id: uuid.UUID
    from_member_id: uuid.UUID
    to_member_id: uuid.UUID
    points: int
    posting_id: uuid.UUID
    from_balances: Balances
    to_balances: Balances
    reversed: bool = False
    debt: int = 0
    replayed: bool = False


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError(
            field="reason", reason=Reason(f"at most {REASON_MAX} characters", f"最多 {REASON_MAX} 个字符")
        )
    return reason


async def _lock_members(program_id: uuid.UUID, first: uuid.UUID, second: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    """Both members' rows (of the program), locked in id order (two transfers between the same members, in either
    direction, wait for each other instead of deadlocking)."""
    rows = {}
    for member_id in sorted((first, second)):
        rows[member_id] = await active_member(member_id, lock=True, program_id=program_id)
    return rows


async def _given_today(program: ProgramConfig, member_id: uuid.UUID, now: dt.datetime) -> int:
    """Points ``member_id`` gave today (the program's local day), reversed transfers left out."""
    midnight = now.astimezone(program.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    row = await fetch_one(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) AS n FROM points_transfer WHERE program_id = {}"
        " AND from_member_id = {} AND created_at >= {} AND reversed_at IS NULL",
        program.id,
        member_id,
        midnight.astimezone(dt.UTC),
    )
    return int(row["n"])


async def _check_limits(program: ProgramConfig, member_id: uuid.UUID, points: int, now: dt.datetime) -> None:
    settings = settings_of(program)
    if not settings.points_transfer:
        raise TransferNotAllowed(
            reason=Reason("this program does not allow points transfers", "本会员方案未开放积分转赠")
        )
    if points < settings.transfer_min_points:
        least = settings.transfer_min_points
        raise TransferNotAllowed(reason=Reason(f"at least {least} points a transfer", f"每次至少转赠 {least} 积分"))
    most = settings.transfer_max_points
    if most is not None and points > most:
        raise TransferNotAllowed(reason=Reason(f"at most {most} points a transfer", f"每次最多转赠 {most} 积分"))
    daily = settings.transfer_daily_max_points
    if daily is not None:
        given = await _given_today(program, member_id, now)
        if given + points > daily:
            raise TransferNotAllowed(
                reason=Reason(
                    f"at most {daily} points given a day ({given} given today)",
                    f"每天最多转出 {daily} 积分（今天已转出 {given}）",
                )
            )


async def _receive(
    writer: PostingWriter, accounts: MemberAccounts, rows: list[dict[str, Any]], rule: str, reason: str
) -> None:
    """Credit ``rows`` (``points``, ``expires_at``, ``store_id``) to the member as lots keeping
    each expiry and issuing store (debt repaid first); the caller wrote the other side."""
    for row in rows:
        expiry = PointsExpiry(row["expires_at"])
        award = Award(rule, int(row["points"]), reason)
        await credit_points(writer, accounts, [award], None, [(award.points, expiry)], issuer=row["store_id"])


async def _consumed(program_id: uuid.UUID, posting_id: uuid.UUID, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """What a posting took from an account's lots, by expiry and issuing store."""
    return await fetch(
        "SELECT CAST(SUM(c.points) AS BIGINT) AS points, l.expires_at, l.store_id FROM points_lot_consumption c"
        " JOIN points_lot l ON l.program_id = c.program_id AND l.id = c.lot_id"
        " WHERE c.program_id = {} AND c.posting_id = {} AND l.account_id = {}"
        " GROUP BY l.expires_at, l.store_id ORDER BY l.expires_at, l.store_id",
        program_id,
        posting_id,
        account_id,
    )


@use_case
async def transfer_points(
    from_member_id: uuid.UUID,
    to_member_id: uuid.UUID,
    points: int,
    reason: str = "",
    idempotency_key: str | None = None,
    actor: str = "system",
    store_id: uuid.UUID | None = None,
) -> TransferResult:
    """Give ``points`` of one member to another of the same program (see the module); idempotent
    with a key. ``InsufficientPoints`` when the giver has fewer spendable points,
    ``TransferNotAllowed`` when the program's settings refuse it."""
    require_amount("points", points)
    reason = _reason(reason)
    if from_member_id == to_member_id:
        raise ValidationError(
            field="to_member_id", reason=Reason("a member cannot give points to themselves", "不能转赠给自己")
        )
    giver = await active_member(from_member_id)
    receiver = await active_member(to_member_id)
    if receiver["program_id"] != giver["program_id"]:
        raise MemberNotFound(member_id=to_member_id)
    program = await get_program(giver["program_id"])

    async def run() -> TransferResult:
        now = dt.datetime.now(dt.UTC)
        await _lock_members(program.id, from_member_id, to_member_id)
        await _check_limits(program, from_member_id, points, now)
        source = await MemberAccounts.load(program, from_member_id, now)
        target = await MemberAccounts.load(program, to_member_id, now)
        text = f"积分转赠 / points transfer {reason}".strip()
        writer = await PostingWriter(
            program, "transfer", from_member_id, now, store_id, operator=actor, reason=text
        ).open()
        available = await lock_points(source, now)
        if not await source.change(Kind.POINTS, -points, now):
            raise InsufficientPoints(requested=points, available=available)
        await consume_lots(writer, source.ids[Kind.POINTS], points, None)
        writer.add(source.ids[Kind.POINTS], -points, "transfer_out", text)
        await target.lock(Kind.POINTS)
        await _receive(
            writer, target, await _consumed(program.id, writer.id, source.ids[Kind.POINTS]), "transfer_in", text
        )
        await writer.close()
        transfer_id = new_id()
        await fetch(
            "INSERT INTO points_transfer (id, program_id, from_member_id, to_member_id, points, posting_id, reason,"
            " actor, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
            *(transfer_id, program.id, from_member_id, to_member_id, points, writer.id, reason, actor, now),
        )
        details = {"transfer_id": str(transfer_id), "to_member_id": str(to_member_id), "points": points}
        await audit.record(actor, "points.transfer", "member", from_member_id, program.id, details)
        data = {"transfer_id": transfer_id, "to_member_id": to_member_id, "points": points}
        emit(Event("points.transferred", program.id, from_member_id, data))
        return TransferResult(
            transfer_id, from_member_id, to_member_id, points, writer.id, source.balances(), target.balances()
        )

    payload = {"from": from_member_id, "to": to_member_id, "points": points, "reason": reason}
    return await idempotency.once(program.id, idempotency_key, "transfer_points", payload, TransferResult, run)


async def transfer_row(transfer_id: uuid.UUID) -> dict[str, Any]:
    """A transfer's row; ``TransferNotFound`` when there is none."""
    row = await fetch_one("SELECT * FROM points_transfer WHERE id = {}", transfer_id)
    if row is None:
        raise TransferNotFound(transfer_id=transfer_id)
    return row


async def _expired_of(program_id: uuid.UUID, posting_id: uuid.UUID, account_id: uuid.UUID) -> int:
    """Points of the lots a posting gave the account that have expired (written off)."""
    row = await fetch_one(
        "SELECT CAST(COALESCE(SUM(expired), 0) AS BIGINT) AS n FROM points_lot"
        " WHERE program_id = {} AND account_id = {} AND posting_id = {}",
        program_id,
        account_id,
        posting_id,
    )
    return int(row["n"])


def _latest_first(rows: list[dict[str, Any]], points: int) -> list[dict[str, Any]]:
    """``points`` of ``rows`` (as :func:`_consumed` gives them), the latest expiries first: what
    goes back when the earliest ones expired at the receiver's."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    given = []
    for row in sorted(rows, key=lambda r: (r["expires_at"] or far, str(r["store_id"])), reverse=True):
        part = min(int(row["points"]), points)
        if part:
            given.append({**row, "points": part})
            points -= part
    return given


@use_case
async def reverse_transfer(
    transfer_id: uuid.UUID, reason: str, actor: str = "admin", idempotency_key: str | None = None
) -> TransferResult:
    """Undo a transfer (an admin's decision, reason required; see the module): the receiver gives
    the points back, the giver gets them with their original expiry. Audited and announced
    (``points.transfer_reversed``); a transfer is reversed once."""
    reason = _reason(reason)
    if not reason:
        raise ValidationError(field="reason", reason=Reason("required to reverse a transfer", "撤回转赠须填写原因"))
    row = await transfer_row(transfer_id)
    program = await get_program(row["program_id"])
    giver_id, receiver_id, points = row["from_member_id"], row["to_member_id"], int(row["points"])

    async def run() -> TransferResult:
        now = dt.datetime.now(dt.UTC)
        await _lock_members(program.id, giver_id, receiver_id)
        suffix = "" if is_sqlite() else " FOR NO KEY UPDATE"
        fresh = await fetch_one(
            f"SELECT reversed_at FROM points_transfer WHERE program_id = {{}} AND id = {{}}{suffix}",
            program.id,
            transfer_id,
        )
        if fresh["reversed_at"] is not None:
            raise TransferReversed(transfer_id=transfer_id)
        giver = await MemberAccounts.load(program, giver_id, now)
        receiver = await MemberAccounts.load(program, receiver_id, now)
        text = f"撤回积分转赠 / transfer reversed: {reason}"
        writer = await PostingWriter(
            program, "transfer_reversal", receiver_id, now, None, operator=actor, reason=text
        ).open()
        await lock_points(receiver, now)  # lots past their expiry are written off first
        back = points - min(points, await _expired_of(program.id, row["posting_id"], receiver.ids[Kind.POINTS]))
        debt = 0
        if back:
            debt = await reverse_points(writer, receiver, back, row["posting_id"], text, None, "transfer_reversal")
            await giver.lock(Kind.POINTS)
            given = await _consumed(program.id, row["posting_id"], giver.ids[Kind.POINTS])
            await _receive(writer, giver, _latest_first(given, back), "transfer_reversal", text)
        await writer.close()
        await fetch(
            "UPDATE points_transfer SET reversed_at = {}, reversal_posting_id = {}, reversed_by = {},"
            " reversal_reason = {} WHERE program_id = {} AND id = {}",
            *(now, writer.id, actor, reason, program.id, transfer_id),
        )
        details = {"transfer_id": str(transfer_id), "points": back, "debt": debt, "reason": reason}
        await audit.record(actor, "points.transfer_reverse", "member", giver_id, program.id, details)
        data = {"transfer_id": transfer_id, "points": back, "debt": debt}
        emit(Event("points.transfer_reversed", program.id, giver_id, data))
        return TransferResult(
            transfer_id, giver_id, receiver_id, back, writer.id, giver.balances(), receiver.balances(), True, debt
        )

    payload = {"transfer_id": transfer_id, "reason": reason}
    return await idempotency.once(program.id, idempotency_key, "reverse_transfer", payload, TransferResult, run)


async def member_transfers(
    member_id: uuid.UUID, page: int = 1, page_size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of the transfers a member gave or received, newest first, and how many there are."""
    return await fetch_page(
        "SELECT *, COUNT(*) OVER () AS listed FROM points_transfer WHERE from_member_id = {} OR to_member_id = {}"
        " ORDER BY created_at DESC, id DESC",
        member_id,
        member_id,
        page=page,
        page_size=page_size,
    )
