"""A member's rights over their personal data (PIPL arts. 44-47): a copy of everything held
about them, erasure, consent per purpose with its history, and a retention period after which
inactive members are erased.

Erasure deletes the member's data key (so every copy of their ciphertexts, in the database's
free pages or in a later backup of this database, cannot be read) and clears the profile; the
ledger and sales keep their amounts and dates, no longer linked to a person, so balances and
reports still add up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from membership.audit import service as audit
from membership.db import emit, fetch, fetch_one, use_case
from membership.db.sql import json_column
from membership.errors import Conflict, Reason, ValidationError
from membership.events import Event
from membership.members import personal_data as pd
from membership.members.consents import PURPOSE, consent_history, record_consents
from membership.members.service import _view, active_member, member_row

ERASED_NAME = "已注销"


class ErasureBlocked(Conflict):
    """The member still holds stored value: it is money the business owes them."""

    code = "erasure_blocked"
    message_en = (
        "The member still holds {stored_value} in stored value: pay it back (cash out) before erasing the member."
    )
    message_zh = "该会员仍有储值余额 {stored_value}，请先退还储值再注销。"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- consent ---------------------------------------------------------------------------------


@use_case
async def set_consent(
    member_id: uuid.UUID, purpose: str, granted: bool, actor: str = "system", source: str = "api"
) -> dict[str, bool]:
    """Give or withdraw the member's consent to one purpose (e.g. ``marketing``); kept in the
    profile and in the history. The member's consents after the change."""
    if not re.fullmatch(PURPOSE, purpose):
        raise ValidationError(
            field="purpose",
            reason=Reason(
                "lower-case letters, digits and _ (e.g. marketing)", "小写字母、数字和下划线（如 marketing）"
            ),
        )
    row = await active_member(member_id, lock=True)
    before = json_column(row["consents"]) or {}
    after = {**before, purpose: granted}
    if await record_consents(row["program_id"], member_id, before, after, actor, source):
        await fetch(
            "UPDATE member SET consents = {}, updated_at = {} WHERE program_id = {} AND id = {}",
            json.dumps(after, ensure_ascii=False),
            _now(),
            row["program_id"],
            member_id,
        )
    return after


# --- access: a copy of everything ----------------------------------------------------------------


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


@use_case
async def export_member(member_id: uuid.UUID, actor: str = "system") -> dict[str, Any]:
    """Everything held about a member (个人信息副本, on the member's request), machine-readable:
    profile with personal data in clear, cards with their values, consent history, balances,
    points lots, ledger, sales with lines and refunds, coupons, tier history, paid memberships,
    sign-ins. Audited (who exported)."""
    row = await member_row(member_id)
    view = _view(row, reveal=True)
    cards = await fetch(
        "SELECT id, kind, value_enc, state, issued_at, changed_at FROM credential WHERE member_id = {}"
        " ORDER BY issued_at",
        member_id,
    )
    cipher = pd.member_cipher(row) if any(card["value_enc"] for card in cards) else None
    credentials = [
        {
            "id": card["id"],
            "kind": card["kind"],
            "value": cipher.open(f"credential:{card['kind']}", card["value_enc"])
            if cipher and card["value_enc"]
            else None,
            "state": card["state"],
            "issued_at": card["issued_at"],
            "changed_at": card["changed_at"],
        }
        for card in cards
    ]
    sales = await fetch(
        "SELECT id, store_id, receipt_no, occurred_at, subtotal, discount, total, points_earned, points_redeemed,"
        " refunded_amount, status FROM sale WHERE member_id = {} ORDER BY occurred_at",
        member_id,
    )
    lines = await fetch(
        "SELECT l.sale_id, l.line_no, l.sku, l.name, l.category, l.quantity, l.unit_price, l.amount,"
        " l.refunded_quantity FROM sale_line l JOIN sale s ON s.program_id = l.program_id AND s.id = l.sale_id WHERE"
        " s.member_id = {}"
        " ORDER BY s.occurred_at, l.line_no",
        member_id,
    )
    by_sale: dict[Any, list[dict[str, Any]]] = {}
    for line in lines:
        by_sale.setdefault(line.pop("sale_id"), []).append(line)
    await audit.record(actor, "member.export", "member", member_id, row["program_id"])
    return {
        "exported_at": _now(),
        "profile": dataclasses.asdict(view),
        "credentials": credentials,
        "consents": await consent_history(member_id),
        "balances": {
            r["kind"]: r["balance"]
            for r in await fetch("SELECT kind, balance FROM ledger_account WHERE member_id = {}", member_id)
        },
        "points_lots": await fetch(
            "SELECT l.points, l.remaining, l.expired, l.earned_at, l.expires_at FROM points_lot l"
            " JOIN ledger_account a ON a.program_id = l.program_id AND a.id = l.account_id WHERE a.member_id = {}"
            " ORDER BY l.earned_at",
            member_id,
        ),
        "ledger": await fetch(
            "SELECT p.created_at, p.kind AS posting, a.kind AS account, e.amount, e.rule, e.reason"
            " FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id"
            " JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id WHERE a.member_id = {}"
            " ORDER BY p.created_at",
            member_id,
        ),
        "sales": [{**sale, "lines": by_sale.get(sale["id"], [])} for sale in sales],
        "refunds": await fetch(
            "SELECT r.sale_id, r.amount, r.points_reversed, r.points_debt, r.points_expired, r.created_at"
            " FROM sale_refund r JOIN sale s ON s.program_id = r.program_id AND s.id = r.sale_id WHERE s.member_id ="
            " {} ORDER BY r.created_at",
            member_id,
        ),
        "coupons": await fetch(
            "SELECT c.code, t.name, c.state, c.issued_at, c.valid_from, c.valid_until, c.redeemed_at, c.discount"
            " FROM coupon c JOIN coupon_template t ON t.program_id = c.program_id AND t.id = c.template_id WHERE"
            " c.member_id = {}"
            " ORDER BY c.issued_at",
            member_id,
        ),
        "tier_history": await fetch("SELECT * FROM tier_change WHERE member_id = {}", member_id),
        "paid_memberships": await fetch("SELECT * FROM paid_membership WHERE member_id = {}", member_id),
        "sign_ins": await fetch("SELECT day, streak, points FROM sign_in WHERE member_id = {} ORDER BY day", member_id),
    }


def export_json(data: dict[str, Any]) -> str:
    """:func:`export_member`'s answer as JSON text (UUIDs, dates and times as ISO strings)."""
    import msgspec

    return msgspec.json.encode(data).decode()


# --- erasure ---------------------------------------------------------------------------------------


@use_case
async def erase_member(member_id: uuid.UUID, actor: str = "system", reason: str = "") -> None:
    """Erase a member's personal data on request (注销): their data key is deleted, the profile
    cleared, their cards blocked with values and hashes dropped (the numbers are free to issue
    again). Amounts and dates in the ledger and sales stay, no longer linked to a person. Refused
    while the member holds stored value (the business owes it: pay it back first); points are
    forfeited. Audited."""
    row = await active_member(member_id, lock=True)
    stored = await fetch_one(
        "SELECT COALESCE(SUM(balance), 0) AS n FROM ledger_account WHERE member_id = {}"
        " AND kind IN ('stored_value', 'stored_value_bonus')",
        member_id,
    )
    if int(stored["n"]) > 0:
        from membership.org.service import get_program

        program = await get_program(row["program_id"])
        raise ErasureBlocked(stored_value=program.money(int(stored["n"])))
    now = _now()
    await fetch(
        "UPDATE member SET name = {}, gender = 'unknown', birthday = NULL, phone_enc = NULL, phone_hash = NULL,"
        " email_enc = NULL, email_hash = NULL, id_number_enc = NULL, id_number_hash = NULL, address_enc = NULL,"
        " data_key = NULL, preferences = {}, tags = {}, consents = {}, referred_by = NULL, source_channel = '',"
        " status = 'erased', updated_at = {} WHERE program_id = {} AND id = {}",
        ERASED_NAME,
        "{}",
        "[]",
        "{}",
        now,
        row["program_id"],
        member_id,
    )
    await fetch(
        "UPDATE credential SET state = CASE WHEN state = 'active' THEN 'blocked' ELSE state END,"
        " value_enc = '', value_hash = '', value_hint = '', changed_at = {} WHERE program_id = {} AND member_id = {}",
        now,
        row["program_id"],
        member_id,
    )
    await audit.record(actor, "member.erase", "member", member_id, row["program_id"], {"reason": reason[:200]})
    emit(Event("member.erased", row["program_id"], member_id, {}))


# --- retention ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RetentionResult:
    """Members erased for inactivity, and those kept because they hold stored value."""

    erased: int
    kept_for_stored_value: int


async def inactive_members(
    program_id: uuid.UUID, before: dt.datetime, after: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """Active members of the program (with ids above ``after``) with no sale, no ledger posting
    and no profile change since ``before``, with their stored value; set-based, in id order."""
    return await fetch(
        "SELECT m.id, COALESCE((SELECT SUM(a.balance) FROM ledger_account a WHERE a.program_id = m.program_id"
        " AND a.member_id = m.id AND a.kind IN ('stored_value', 'stored_value_bonus')), 0) AS stored"
        " FROM member m WHERE m.program_id = {} AND m.id > {} AND m.status = 'active' AND m.updated_at < {}"
        " AND NOT EXISTS (SELECT 1 FROM sale s WHERE s.program_id = m.program_id AND s.member_id = m.id"
        " AND s.created_at >= {})"
        " AND NOT EXISTS (SELECT 1 FROM ledger_posting p WHERE p.program_id = m.program_id AND p.member_id = m.id"
        " AND p.created_at >= {})"
        " ORDER BY m.id LIMIT {}",
        program_id,
        after,
        before,
        before,
        before,
        limit,
    )


async def apply_retention(
    program_id: uuid.UUID, days: int, now: dt.datetime, progress: Callable[[int, int], None] | None = None
) -> RetentionResult:
    """Erase the program's members inactive for ``days`` (the program's ``retention_days``),
    except those holding stored value, who are kept and counted."""
    before = now - dt.timedelta(days=days)
    erased = kept = 0
    after = uuid.UUID(int=0)
    while batch := await inactive_members(program_id, before, after, 500):
        for member in batch:
            after = member["id"]
            if int(member["stored"]) > 0:
                kept += 1
                continue
            await erase_member(member["id"], actor="job:retention", reason=f"{days} 天未活跃 / inactive {days} days")
            erased += 1
        if progress:
            progress(erased + kept, erased + kept)
    return RetentionResult(erased, kept)
