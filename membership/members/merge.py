"""Member merge (会员合并): two or more members of a program become one, and the undo.

The survivor takes everything the merged members have: their cards and other credentials (each
value sealed again under the survivor's data key), their points and stored-value lots with
their expiry dates and issuing stores (spent and expired ones too, so a refund of an old sale
finds them), their balances (one balanced ``merge`` posting: each merged account gives its
balance to the survivor's account of the same kind, so the balances add up), their sales,
coupons, tier history, paid memberships and tiers set by hand. The survivor keeps the highest
of the tiers. Each row moved is recorded (``member_merge_move``), with set-based statements, a
few per kind whatever the number of rows.

A merged member keeps its profile (personal data stays sealed under its own key) and status
``merged``: it forwards to the survivor (:func:`membership.members.service.survivor_of`), so
identifying by its phone or reading it by id finds the survivor, and a write naming it is
refused with ``member_merged`` naming the survivor. Audited; ``member.merged`` tells the packs.

Within a day the merge can be undone: each moved row goes back where it came from, the merged
members' accounts get back what their lots hold now (growth and points debt as moved, as far as
the survivor still has them), their tiers are theirs again, and the survivor's tier goes back
unless it changed since. It is refused once the survivor spent points or stored value that came
with the merge, or a moved sale was refunded (a refund or a later one could no longer find the
lots it took from), and once the survivor was merged again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import any_of, emit, fetch, fetch_one, is_sqlite, new_id, use_case
from membership.db.sql import json_column
from membership.errors import MergeNotFound, MergeNotUndoable, Reason, ValidationError
from membership.events import Event
from membership.ledger.accounts import MEMBER_KINDS, Kind
from membership.ledger.service import Balances, MemberAccounts, PostingWriter
from membership.members import personal_data as pd
from membership.members.rotation import member_cipher
from membership.members.service import active_member, member_row
from membership.org.service import ProgramConfig, get_program
from membership.tiers.policy import tier_config
from membership.tiers.service import ranks

UNDO_WINDOW = dt.timedelta(days=1)
MAX_MERGED = 10
LOT_TABLES = {
    "points_lot": (Kind.POINTS, Kind.POINTS_PENDING),
    "value_lot": (Kind.STORED_VALUE, Kind.STORED_VALUE_BONUS),
}
LOT_TABLE = {"points_lot": "points_lot", "value_lot": "stored_value_lot"}
MEMBER_ROWS = (  # tables with member_id
    "sale",
    "coupon",
    "tier_change",
    "paid_membership",
    "tier_assignment",
    "reward_redemption",
)
REASON = "会员合并 / members merged"


@dataclasses.dataclass(frozen=True)
class MergeResult:
    """A merge (or its undo): the survivor, the members merged in, the survivor's balances after
    it, and until when it can be undone."""

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged: tuple[uuid.UUID, ...]
    balances: Balances
    created_at: dt.datetime
    undo_until: dt.datetime
    undone: bool = False


async def _lock(program_id: uuid.UUID, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The program's members' rows and their accounts, locked in id order (a till waits for the
    merge; the program named, as a locking read on Citus must)."""
    chosen, ids = any_of("id", member_ids)
    suffix = "" if is_sqlite() else " ORDER BY id FOR UPDATE"
    rows = {
        row["id"]: row
        for row in await fetch(f"SELECT * FROM member WHERE program_id = {{}} AND {chosen}{suffix}", program_id, ids)
    }
    owned, ids = any_of("member_id", member_ids)
    await fetch(f"SELECT id FROM ledger_account WHERE program_id = {{}} AND {owned}{suffix}", program_id, ids)
    return rows


async def _accounts(program_id: uuid.UUID, member_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, Kind], dict[str, Any]]:
    owned, ids = any_of("member_id", member_ids)
    rows = await fetch(
        f"SELECT id, member_id, kind, balance FROM ledger_account WHERE program_id = {{}} AND {owned}", program_id, ids
    )
    return {(row["member_id"], Kind(row["kind"])): row for row in rows}


async def _record(merge_id: uuid.UUID, kind: str, select: str, *args: Any) -> None:
    """Record the rows ``select`` lists (``row_id``, ``from_id``) as moved by the merge."""
    await fetch(
        f"INSERT INTO member_merge_move (id, merge_id, kind, row_id, from_id) SELECT uuid7(), {{}}, {{}}, x.row_id,"
        f" x.from_id FROM ({select}) AS x",
        merge_id,
        kind,
        *args,
    )


async def _move_lots(
    merge_id: uuid.UUID, program_id: uuid.UUID, accounts: dict, survivor: uuid.UUID, merged: list[uuid.UUID]
) -> None:
    """Every lot of the merged members' points and stored-value accounts to the survivor's
    account of the same kind: two statements per kind."""
    for record, kinds in LOT_TABLES.items():
        table = LOT_TABLE[record]
        for kind in kinds:
            sources = [accounts[(m, kind)]["id"] for m in merged]
            chosen, ids = any_of("account_id", sources)
            of_merged = f"WHERE program_id = {{}} AND {chosen}"
            moved = f"SELECT id AS row_id, account_id AS from_id FROM {table} {of_merged}"
            await _record(merge_id, record, moved, program_id, ids)
            to = accounts[(survivor, kind)]["id"]
            await fetch(f"UPDATE {table} SET account_id = {{}} {of_merged}", to, program_id, ids)


async def _add_to(writer: PostingWriter, account_id: uuid.UUID, amount: int) -> None:
    """Add ``amount`` (negative: take it) to the balance of an account of the writer's program."""
    await fetch(
        "UPDATE ledger_account SET balance = balance + {}, updated_at = {} WHERE program_id = {} AND id = {}",
        *(amount, writer.now, writer.program.id, account_id),
    )


async def _move_balances(
    writer: PostingWriter, accounts: dict, survivor: uuid.UUID, merged: list[uuid.UUID]
) -> dict[str, dict[str, int]]:
    """Each merged account's balance to the survivor's account of its kind, in the writer's
    posting; what moved, by member and kind."""
    moved: dict[str, dict[str, int]] = {str(m): {} for m in merged}
    for kind in MEMBER_KINDS:
        total = 0
        for member_id in merged:
            account = accounts[(member_id, kind)]
            if account["balance"]:
                writer.add(account["id"], -account["balance"], "merge", REASON)
                moved[str(member_id)][kind.value] = int(account["balance"])
                total += account["balance"]
        if total:
            writer.add(accounts[(survivor, kind)]["id"], total, "merge", REASON)
            await _add_to(writer, accounts[(survivor, kind)]["id"], total)
    chosen, ids = any_of("member_id", merged)
    await fetch(
        f"UPDATE ledger_account SET balance = 0, updated_at = {{}} WHERE program_id = {{}} AND {chosen}",
        *(writer.now, writer.program.id, ids),
    )
    return moved


async def _move_credentials(
    credentials: list[dict[str, Any]], rows: dict[uuid.UUID, dict[str, Any]], to: uuid.UUID
) -> None:
    """Bind ``credentials`` to member ``to``, each value sealed again under its data key."""
    target = await member_cipher(rows[to])
    ciphers: dict[uuid.UUID, pd.MemberCipher] = {}
    for card in credentials:
        owner = card["member_id"]
        if owner not in ciphers:
            ciphers[owner] = await member_cipher(rows[owner])
        field = f"credential:{card['kind']}"
        value = target.seal(field, ciphers[owner].open(field, card["value_enc"]))
        await fetch(
            "UPDATE credential SET member_id = {}, value_enc = {} WHERE program_id = {} AND id = {}",
            *(to, value, rows[to]["program_id"], card["id"]),
        )


async def _move_coupons(
    merge_id: uuid.UUID, program_id: uuid.UUID, survivor: uuid.UUID, merged: list[uuid.UUID]
) -> None:
    """The merged members' coupons to the survivor; an occasion the survivor already has a coupon
    of the same template for (both got the sign-up coupon) is renamed, keeping both coupons."""
    chosen, ids = any_of("member_id", [survivor, *merged])
    coupons = await fetch(
        f"SELECT id, template_id, member_id, occasion FROM coupon WHERE program_id = {{}} AND {chosen}"
        " AND occasion IS NOT NULL ORDER BY member_id = {} DESC, issued_at, id",
        *(program_id, ids, survivor),
    )
    held: set[tuple[Any, str]] = set()
    for coupon in coupons:
        key = (coupon["template_id"], coupon["occasion"])
        if key not in held:
            held.add(key)
            continue
        renamed = f"{coupon['occasion'][:90]}|{str(coupon['member_id'])[:8]}"
        await fetch(
            "INSERT INTO member_merge_move (id, merge_id, kind, row_id, from_id, note)"
            " VALUES ({}, {}, 'coupon_occasion', {}, {}, {})",
            *(new_id(), merge_id, coupon["id"], coupon["member_id"], coupon["occasion"]),
        )
        await fetch(
            "UPDATE coupon SET occasion = {} WHERE program_id = {} AND id = {}", renamed, program_id, coupon["id"]
        )


async def _move_rows(merge_id: uuid.UUID, program_id: uuid.UUID, survivor: uuid.UUID, merged: list[uuid.UUID]) -> None:
    chosen, ids = any_of("member_id", merged)
    of_merged = f"WHERE program_id = {{}} AND {chosen}"
    for table in MEMBER_ROWS:
        moved = f"SELECT id AS row_id, member_id AS from_id FROM {table} {of_merged}"
        await _record(merge_id, table, moved, program_id, ids)
        await fetch(f"UPDATE {table} SET member_id = {{}} {of_merged}", survivor, program_id, ids)


async def _set_status(program_id: uuid.UUID, member_ids: list[uuid.UUID], status: str, now: dt.datetime) -> None:
    chosen, ids = any_of("id", member_ids)
    await fetch(
        f"UPDATE member SET status = {{}}, updated_at = {{}} WHERE program_id = {{}} AND {chosen}",
        *(status, now, program_id, ids),
    )


def _checked_ids(survivor_id: uuid.UUID, merged_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    merged = list(dict.fromkeys(merged_ids))
    if not 1 <= len(merged) <= MAX_MERGED:
        raise ValidationError(field="merged", reason=Reason(f"1 to {MAX_MERGED} members", f"1 到 {MAX_MERGED} 位会员"))
    if survivor_id in merged:
        raise ValidationError(
            field="merged",
            reason=Reason("the surviving member cannot be merged into itself", "保留的会员不能合并到自己"),
        )
    return merged


@use_case
async def merge_members(
    survivor_id: uuid.UUID, merged_ids: list[uuid.UUID], reason: str, actor: str = "system"
) -> MergeResult:
    """Merge ``merged_ids`` into ``survivor_id`` (see the module): all active members of one
    program; ``reason`` required. One transaction."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationError(field="reason", reason=Reason("1 to 200 characters", "须填写原因（最多 200 个字符）"))
    merged = _checked_ids(survivor_id, merged_ids)
    survivor = await active_member(survivor_id)
    for member_id in merged:  # of the survivor's program, or not found
        await active_member(member_id, program_id=survivor["program_id"])
    program = await get_program(survivor["program_id"])
    everyone = [survivor_id, *merged]
    rows = await _lock(program.id, everyone)
    if any(rows[m]["status"] != "active" for m in everyone):  # merged or erased meanwhile
        for member_id in everyone:
            await active_member(member_id)
    now = dt.datetime.now(dt.UTC)
    merge_id = new_id()
    await fetch(
        "INSERT INTO member_merge (id, program_id, survivor_id, merged, reason, actor, survivor_tier,"
        " survivor_tier_since, survivor_review_at, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        *(merge_id, program.id, survivor_id, json.dumps([str(m) for m in merged]), reason, actor),
        *(survivor["tier"], survivor["tier_since"], survivor["tier_review_at"], now),
    )
    accounts = await _accounts(program.id, everyone)
    writer = await PostingWriter(program, "merge", survivor_id, now, None, operator=actor, reason=REASON).open()
    moved = await _move_balances(writer, accounts, survivor_id, merged)
    await writer.close()
    await _move_lots(merge_id, program.id, accounts, survivor_id, merged)
    cards, ids = any_of("member_id", merged)
    of_merged = f"FROM credential WHERE program_id = {{}} AND {cards}"
    credentials = await fetch(f"SELECT id, member_id, kind, value_enc {of_merged}", program.id, ids)
    await _record(merge_id, "credential", f"SELECT id AS row_id, member_id AS from_id {of_merged}", program.id, ids)
    await _move_credentials(credentials, rows, survivor_id)
    await _move_coupons(merge_id, program.id, survivor_id, merged)
    await _move_rows(merge_id, program.id, survivor_id, merged)
    tier = await _highest_tier(program, rows, survivor_id, merged, now)
    chosen, ids = any_of("id", merged)
    forwarded = f"SELECT id AS row_id, CAST(NULL AS uuid) AS from_id FROM member WHERE program_id = {{}} AND {chosen}"
    await _record(merge_id, "member", forwarded, program.id, ids)
    await _set_status(program.id, merged, "merged", now)
    await fetch(
        "UPDATE member_merge SET moved = {}, posting_id = {}, merged_tier = {} WHERE program_id = {} AND id = {}",
        *(json.dumps(moved), writer.id, tier, program.id, merge_id),
    )
    details = {"merge_id": str(merge_id), "merged": [str(m) for m in merged], "reason": reason, "moved": moved}
    await audit.record(actor, "member.merge", "member", survivor_id, program.id, details)
    emit(Event("member.merged", program.id, survivor_id, {"merge_id": merge_id, "merged": merged}))
    balances = (await MemberAccounts.load(program, survivor_id, now)).balances()
    return MergeResult(merge_id, survivor_id, tuple(merged), balances, now, now + UNDO_WINDOW)


async def _set_tier(
    program: ProgramConfig,
    member_id: uuid.UUID,
    tier: tuple[str | None, Any, Any],
    before: str | None,
    why: str,
    now: dt.datetime,
) -> None:
    """Give the member ``tier`` (code, since, review date) and note the change in its history."""
    code, since, review = tier
    await fetch(
        "UPDATE member SET tier = {}, tier_since = {}, tier_review_at = {}, updated_at = {}"
        " WHERE program_id = {} AND id = {}",
        *(code, since, review, now, program.id, member_id),
    )
    await fetch(
        "INSERT INTO tier_change (id, program_id, member_id, from_tier, to_tier, reason, metric, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, 0, {})",
        *(new_id(), program.id, member_id, before, code, why, now),
    )
    emit(Event("tier.changed", program.id, member_id, {"from": before, "to": code, "reason": why}))


async def _highest_tier(
    program: ProgramConfig, rows: dict, survivor_id: uuid.UUID, merged: list[uuid.UUID], now: dt.datetime
) -> str | None:
    """The survivor takes the highest tier among the members (with its dates); the tier held."""
    ranked = ranks(tier_config(program.settings))
    best = max([survivor_id, *merged], key=lambda m: ranked.get(rows[m]["tier"], -1))  # a tie: the survivor's
    current = rows[survivor_id]["tier"]
    if best == survivor_id or ranked.get(rows[best]["tier"], -1) <= ranked.get(current, -1):
        return current
    chosen = rows[best]
    await _set_tier(
        program, survivor_id, (chosen["tier"], chosen["tier_since"], chosen["tier_review_at"]), current, "merge", now
    )
    return chosen["tier"]


# -- undo ----------------------------------------------------------------------------------------


async def merge_row(merge_id: uuid.UUID) -> dict[str, Any]:
    """A merge's row; ``MergeNotFound`` when there is none."""
    row = await fetch_one("SELECT * FROM member_merge WHERE id = {}", merge_id)
    if row is None:
        raise MergeNotFound(merge_id=merge_id)
    return row


async def _refusal(merge: dict[str, Any], survivor: dict[str, Any], now: dt.datetime) -> Reason | None:
    """Why the merge can no longer be undone, or None."""
    if merge["undone_at"] is not None:
        return Reason("it was undone already", "已撤销过")
    if now > merge["created_at"] + UNDO_WINDOW:
        return Reason("a merge can be undone within a day only", "合并超过一天，不能撤销")
    if survivor["status"] != "active":
        return Reason(
            "the surviving member was merged again or erased since; undo that first", "保留的会员此后又被合并或注销"
        )
    since = merge["created_at"]
    for record, consumption in (("points_lot", "points_lot_consumption"), ("value_lot", "stored_value_consumption")):
        spent = await fetch_one(
            f"SELECT 1 AS x FROM {consumption} c JOIN member_merge_move m ON m.row_id = c.lot_id"
            " JOIN ledger_posting p ON p.program_id = c.program_id AND p.id = c.posting_id"
            " WHERE c.program_id = {} AND m.merge_id = {} AND m.kind = {}"
            " AND p.created_at >= {} LIMIT 1",
            *(merge["program_id"], merge["id"], record, since),
        )
        if spent:
            return Reason(
                "points or stored value that came with the merge were spent since; adjust by hand instead",
                "合并转入的积分或储值此后已被使用，请改为手工调整",
            )
    refunded = await fetch_one(
        "SELECT 1 AS x FROM sale_refund r JOIN member_merge_move m ON m.row_id = r.sale_id"
        " WHERE r.program_id = {} AND m.merge_id = {} AND m.kind = 'sale' AND r.created_at >= {} LIMIT 1",
        *(merge["program_id"], merge["id"], since),
    )
    if refunded:
        return Reason("a sale that came with the merge was refunded since", "合并转入的消费此后已退货")
    return None


async def _lot_homes(program_id: uuid.UUID, merge_id: uuid.UUID, record: str) -> dict[uuid.UUID, list[Any]]:
    """The moved lots of one kind (``points_lot``/``value_lot``) by the account each goes back to:
    its merged member's account of the kind the lot is on now (a pending lot released since the
    merge is on the points account); ``{account: [(lot id, remaining), …]}``. The moves are read
    first (the merge's own table), then the lots and accounts of the program: no statement joins
    the two (Citus keeps them apart)."""
    moves = await fetch(
        "SELECT row_id, from_id FROM member_merge_move WHERE merge_id = {} AND kind = {}", merge_id, record
    )
    if not moves:
        return {}
    came_from = {str(m["row_id"]): str(m["from_id"]) for m in moves}
    chosen, ids = any_of("id", [m["row_id"] for m in moves])
    lots = await fetch(
        f"SELECT id, account_id, remaining FROM {LOT_TABLE[record]} WHERE program_id = {{}} AND {chosen}",
        program_id,
        ids,
    )
    sources = {*came_from.values(), *(str(lot["account_id"]) for lot in lots)}
    chosen, ids = any_of("id", [uuid.UUID(a) for a in sources])
    of_program = f"SELECT id, member_id, kind FROM ledger_account WHERE program_id = {{}} AND {chosen}"
    known = {str(a["id"]): a for a in await fetch(of_program, program_id, ids)}
    owners = {known[a]["member_id"] for a in came_from.values()}
    chosen, ids = any_of("member_id", list(owners))
    accounts = await fetch(
        f"SELECT id, member_id, kind FROM ledger_account WHERE program_id = {{}} AND {chosen}", program_id, ids
    )
    home_of = {(str(a["member_id"]), a["kind"]): uuid.UUID(str(a["id"])) for a in accounts}
    homes: dict[uuid.UUID, list[Any]] = {}
    for lot in lots:
        owner = known[came_from[str(lot["id"])]]["member_id"]
        home = home_of[(str(owner), known[str(lot["account_id"])]["kind"])]
        homes.setdefault(home, []).append((lot["id"], int(lot["remaining"])))
    return homes


def _held(homes: dict[str, dict[uuid.UUID, list[Any]]]) -> dict[uuid.UUID, int]:
    """What the moved lots (``_lot_homes`` per kind of lot) hold now, by the account each goes back to."""
    held: dict[uuid.UUID, int] = {}
    for of_kind in homes.values():
        for home, lots in of_kind.items():
            held[home] = held.get(home, 0) + sum(remaining for _, remaining in lots)
    return held


async def _balances_back(
    writer: PostingWriter,
    merge: dict[str, Any],
    accounts: dict,
    survivor: uuid.UUID,
    merged: list[uuid.UUID],
    homes: dict[str, dict[uuid.UUID, list[Any]]],
) -> None:
    """Each merged account gets back what its lots hold now (points, stored value), or what it
    gave as far as the survivor still has it (growth, points debt)."""
    held = _held(homes)
    moved = json_column(merge["moved"]) or {}
    for kind in MEMBER_KINDS:
        left = accounts[(survivor, kind)]["balance"]
        total = 0
        for member_id in merged:
            account = accounts[(member_id, kind)]
            if kind in (Kind.GROWTH, Kind.POINTS_DEBT):
                gave = moved.get(str(member_id), {}).get(kind.value, 0)
                back = max(gave, min(left, 0)) if kind is Kind.POINTS_DEBT else min(gave, max(left, 0))
            else:
                back = held.get(account["id"], 0)
            left -= back
            if back:
                total += back
                writer.add(account["id"], back, "merge_undo", REASON)
                await _add_to(writer, account["id"], back)
        if total:
            writer.add(accounts[(survivor, kind)]["id"], -total, "merge_undo", REASON)
            await _add_to(writer, accounts[(survivor, kind)]["id"], -total)


async def _rows_back(
    program_id: uuid.UUID,
    merge_id: uuid.UUID,
    homes: dict[str, dict[uuid.UUID, list[Any]]],
    rows: dict,
    survivor: uuid.UUID,
) -> None:
    """Every moved row back to where it came from (lots to the accounts ``homes`` names,
    credentials sealed again under their owner's key, renamed coupon occasions restored)."""
    for record, table in LOT_TABLE.items():
        for home, lots in homes[record].items():
            chosen, ids = any_of("id", [lot_id for lot_id, _ in lots])
            await fetch(
                f"UPDATE {table} SET account_id = {{}} WHERE program_id = {{}} AND {chosen}", home, program_id, ids
            )
    for table in MEMBER_ROWS:
        await fetch(
            f"UPDATE {table} SET member_id = m.from_id FROM member_merge_move m"
            f" WHERE {table}.program_id = {{}} AND m.merge_id = {{}} AND m.kind = {{}} AND m.row_id = {table}.id",
            *(program_id, merge_id, table),
        )
    await fetch(
        "UPDATE coupon SET occasion = m.note FROM member_merge_move m WHERE coupon.program_id = {}"
        " AND m.merge_id = {} AND m.kind = 'coupon_occasion' AND m.row_id = coupon.id",
        *(program_id, merge_id),
    )
    moved = await fetch(
        "SELECT c.id, c.member_id, c.kind, c.value_enc, m.from_id FROM member_merge_move m"
        " JOIN credential c ON c.id = m.row_id WHERE c.program_id = {} AND m.merge_id = {} AND m.kind = 'credential'"
        " AND c.member_id = {}",
        *(program_id, merge_id, survivor),
    )
    for owner in {card["from_id"] for card in moved}:
        await _move_credentials([c for c in moved if c["from_id"] == owner], rows, owner)


@use_case
async def undo_merge(merge_id: uuid.UUID, reason: str, actor: str = "system") -> MergeResult:
    """Undo a merge within a day of it (see the module); ``MergeNotUndoable`` says why not."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationError(field="reason", reason=Reason("1 to 200 characters", "须填写原因（最多 200 个字符）"))
    merge = await merge_row(merge_id)
    survivor_id = merge["survivor_id"]
    merged = [uuid.UUID(m) for m in json_column(merge["merged"])]
    program = await get_program(merge["program_id"])
    rows = await _lock(program.id, [survivor_id, *merged])
    suffix = "" if is_sqlite() else " FOR UPDATE"
    merge = await fetch_one(
        f"SELECT * FROM member_merge WHERE program_id = {{}} AND id = {{}}{suffix}", program.id, merge_id
    )
    now = dt.datetime.now(dt.UTC)
    refusal = await _refusal(merge, rows[survivor_id], now)
    if refusal is None and any(rows[m]["status"] != "merged" for m in merged):
        refusal = Reason("a merged member was erased since", "被合并的会员此后已注销")
    if refusal is not None:
        raise MergeNotUndoable(reason=refusal)
    accounts = await _accounts(program.id, [survivor_id, *merged])
    writer = await PostingWriter(program, "merge_undo", survivor_id, now, None, operator=actor, reason=REASON).open()
    homes = {record: await _lot_homes(program.id, merge_id, record) for record in LOT_TABLE}  # read once
    await _balances_back(writer, merge, accounts, survivor_id, merged, homes)
    await writer.close()
    await _rows_back(program.id, merge_id, homes, rows, survivor_id)
    await _set_status(program.id, merged, "active", now)
    current = (await member_row(survivor_id, program_id=program.id))["tier"]
    if current == merge["merged_tier"] and current != merge["survivor_tier"]:
        before = (merge["survivor_tier"], merge["survivor_tier_since"], merge["survivor_review_at"])
        await _set_tier(program, survivor_id, before, current, "merge_undo", now)
    await fetch(
        "UPDATE member_merge SET undone_at = {}, undone_by = {}, undo_reason = {}, undo_posting_id = {}"
        " WHERE program_id = {} AND id = {}",
        *(now, actor, reason, writer.id, program.id, merge_id),
    )
    details = {"merge_id": str(merge_id), "merged": [str(m) for m in merged], "reason": reason}
    await audit.record(actor, "member.merge_undo", "member", survivor_id, program.id, details)
    emit(Event("member.merge_undone", program.id, survivor_id, {"merge_id": merge_id, "merged": merged}))
    balances = (await MemberAccounts.load(program, survivor_id, now)).balances()
    return MergeResult(
        merge_id, survivor_id, tuple(merged), balances, merge["created_at"], merge["created_at"] + UNDO_WINDOW, True
    )


async def member_merges(member_id: uuid.UUID) -> list[dict[str, Any]]:
    """The merges into ``member_id``, newest first (at most 50)."""
    return await fetch("SELECT * FROM member_merge WHERE survivor_id = {} ORDER BY created_at DESC LIMIT 50", member_id)
