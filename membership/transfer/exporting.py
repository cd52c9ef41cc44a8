"""Taking members, the ledger and sales out (导出) as CSV or Excel files, a page at a time.

Personal data is masked unless the export is revealed: phones, e-mails, ID numbers and addresses
as the console masks them, and (an export is a copy of many members at once) names down to the
surname and birthdays down to month and day. Every export is written to the audit log before its
first row is read, with who asked, what, in which format and whether it was revealed.

Headers are Chinese with English beside them (``姓名 name``, the default), Chinese only, English
only, or two rows (Chinese, then English). Amounts are yuan with two decimals (the program's
currency and its decimals), points and growth whole numbers, times in the program's zone. A
members file exported here imports again as it is (:mod:`membership.transfer.importing` reads
its headers), once its personal data is revealed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from lunar_python import Solar

from membership.audit import service as audit
from membership.db import fetch, fetch_one, id_set, use_case
from membership.db.sql import json_column
from membership.errors import Reason, ValidationError
from membership.ledger.accounts import Kind
from membership.members import personal_data as pd
from membership.members.credentials import credential_kinds, shown
from membership.org.service import ProgramConfig, get_program, list_stores
from membership.tiers.policy import tier_config
from membership.transfer.sheets import FORMATS, SheetWriter

KINDS = ("members", "ledger", "sales")
HEADER_STYLES = ("zh-en", "zh", "en", "two-rows")
PAGE_ROWS = 2000
Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class Column:
    """A column of an export: its Chinese and English headers."""

    zh: str
    en: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "members": (
        Column("会员号", "member_no"),
        Column("姓名", "name"),
        Column("手机", "phone"),
        Column("性别", "gender"),
        Column("生日", "birthday"),
        Column("历法", "calendar"),
        Column("邮箱", "email"),
        Column("证件号", "id_number"),
        Column("地址", "address"),
        Column("标签", "tags"),
        Column("卡号", "card"),
        Column("等级", "tier"),
        Column("积分", "points"),
        Column("储值", "stored_value"),
        Column("赠送储值", "bonus_value"),
        Column("成长值", "growth"),
        Column("状态", "status"),
        Column("入会门店", "store"),
        Column("入会时间", "joined"),
    ),
    "ledger": (
        Column("时间", "time"),
        Column("会员号", "member_no"),
        Column("姓名", "name"),
        Column("账户", "account"),
        Column("变动", "amount"),
        Column("单位", "unit"),
        Column("业务", "posting"),
        Column("规则", "rule"),
        Column("原因", "reason"),
        Column("门店", "store"),
        Column("操作员", "operator"),
        Column("记账号", "posting_id"),
    ),
    "sales": (
        Column("时间", "time"),
        Column("门店", "store"),
        Column("小票号", "receipt_no"),
        Column("会员号", "member_no"),
        Column("姓名", "name"),
        Column("商品金额", "subtotal"),
        Column("优惠", "discount"),
        Column("实付", "total"),
        Column("已退款", "refunded"),
        Column("获得积分", "points_earned"),
        Column("使用积分", "points_redeemed"),
        Column("成长值", "growth_earned"),
        Column("状态", "status"),
        Column("交易号", "sale_id"),
    ),
}
GENDERS_ZH = {"male": "男", "female": "女", "unknown": "未知"}
CALENDARS_ZH = {"solar": "公历", "lunar": "农历"}
ACCOUNTS_ZH = {
    Kind.POINTS: "积分",
    Kind.POINTS_PENDING: "待生效积分",
    Kind.POINTS_DEBT: "积分欠款",
    Kind.STORED_VALUE: "储值",
    Kind.STORED_VALUE_BONUS: "赠送储值",
    Kind.GROWTH: "成长值",
    Kind.POINTS_ISSUED: "系统：积分发放",
    Kind.POINTS_REDEEMED: "系统：积分兑换",
    Kind.POINTS_EXPIRED: "系统：积分过期",
    Kind.POINTS_ADJUSTED: "系统：积分调整",
    Kind.STORED_VALUE_FUNDS: "系统：储值资金",
    Kind.STORED_VALUE_SPENT: "系统：储值消费",
    Kind.STORED_VALUE_BONUS_ISSUED: "系统：储值赠送",
    Kind.GROWTH_ISSUED: "系统：成长值发放",
}
MONEY_ACCOUNTS = {
    Kind.STORED_VALUE,
    Kind.STORED_VALUE_BONUS,
    Kind.STORED_VALUE_FUNDS,
    Kind.STORED_VALUE_SPENT,
    Kind.STORED_VALUE_BONUS_ISSUED,
}


@dataclasses.dataclass
class ExportSummary:
    """What an export wrote."""

    kind: str
    format: str
    rows: int
    revealed: bool
    file: str = ""
    seconds: float = 0.0


def header_rows(kind: str, style: str = "zh-en") -> list[list[str]]:
    """The header row(s) of an export: ``姓名 name`` (zh-en), Chinese, English, or two rows."""
    columns = COLUMNS[kind]
    if style == "zh":
        return [[c.zh for c in columns]]
    if style == "en":
        return [[c.en for c in columns]]
    if style == "two-rows":
        return [[c.zh for c in columns], [c.en for c in columns]]
    return [[f"{c.zh} {c.en}" for c in columns]]


def check_request(kind: str, fmt: str, style: str) -> None:
    """Refuse an unknown export, format or header style."""
    for field, value, known in (("kind", kind, KINDS), ("format", fmt, FORMATS), ("header", style, HEADER_STYLES)):
        if value not in known:
            raise ValidationError(
                field=field, reason=Reason(f"one of {', '.join(known)}", f"只能是 {', '.join(known)} 之一")
            )


def mask_name(name: str) -> str:
    """``张伟`` → ``张*``: the surname stays (a masked export still greets 张先生)."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


def _money(minor: int, program: ProgramConfig) -> Decimal:
    """Minor units as a decimal amount in the program's currency (``8850`` → ``88.50``)."""
    digits = len(str(program.minor_per_unit)) - 1
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def _birthday(birthday: dt.date | None, calendar: str, reveal: bool) -> str:
    """A birthday as staff wrote it: the solar date, or for a lunar birthday the lunar date
    (``1990-04-15``, a leap month ``1990-闰04-15``) beside 农历 in the calendar column, so the
    file imports again to the same day; masked, without the year."""
    if birthday is None:
        return ""
    year, month, day, leap = birthday.year, birthday.month, birthday.day, False
    if calendar == "lunar":
        lunar = Solar.fromYmd(birthday.year, birthday.month, birthday.day).getLunar()
        year, month, day, leap = lunar.getYear(), abs(lunar.getMonth()), lunar.getDay(), lunar.getMonth() < 0
    shown = f"{'闰' if leap else ''}{month:02d}-{day:02d}"
    return f"{year}-{shown}" if reveal else f"****-{shown}"


def _local(moment: dt.datetime | None, program: ProgramConfig) -> str:
    return moment.astimezone(program.zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


class _Page:
    """Shared by the pages of one export: the program, its stores and tiers, reveal or mask."""

    def __init__(self, program: ProgramConfig, reveal: bool, stores: list[dict[str, Any]]) -> None:
        self.program = program
        self.reveal = reveal
        self.stores = {store["id"]: store["code"] for store in stores}
        self.tiers = {tier.code: tier.name for tier in tier_config(program.settings).tiers}
        self.kinds = credential_kinds()

    def name(self, name: str | None) -> str:
        return (name or "") if self.reveal else mask_name(name or "")


async def _members(page: _Page, after: uuid.UUID | None, since: Any, until: Any) -> tuple[list[list[Any]], Any]:
    program = page.program
    rows = await fetch(
        "SELECT id, member_no, name, gender, birthday, birthday_calendar, phone_enc, email_enc, id_number_enc,"
        " address_enc, tags, tier, status, created_store_id, created_at, data_key, key_fp FROM member"
        " WHERE program_id = {} AND id > {} ORDER BY id LIMIT {}",
        program.id,
        after or uuid.UUID(int=0),
        PAGE_ROWS,
    )
    if not rows:
        return [], None
    chosen, ids = id_set([row["id"] for row in rows])
    balances: dict[uuid.UUID, dict[str, int]] = {}
    for account in await fetch(
        f"SELECT member_id, kind, balance FROM ledger_account WHERE member_id IN ({chosen})", ids
    ):
        balances.setdefault(account["member_id"], {})[account["kind"]] = account["balance"]
    cards: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for card in await fetch(
        f"SELECT member_id, kind, value_enc, value_hint FROM credential WHERE member_id IN ({chosen})"
        " AND state = 'active' ORDER BY issued_at",
        ids,
    ):
        cards.setdefault(card["member_id"], []).append(card)
    found = []
    for row in rows:
        personal: dict[str, str] = {}
        cipher = None
        if row["data_key"] or any(row[f"{field}_enc"] for field in ("phone", "email", "id_number", "address")):
            cipher = pd.member_cipher(row)
        for field, mask in (
            ("phone", pd.mask_phone),
            ("email", pd.mask_email),
            ("id_number", pd.mask_id_number),
            ("address", pd.mask_address),
        ):
            token = row[f"{field}_enc"]
            if token and cipher is not None:
                plain = cipher.open(field, token)
                personal[field] = plain if page.reveal else mask(plain)
        held = []
        for card in cards.get(row["id"], ()):
            kind = page.kinds.get(card["kind"])
            if page.reveal and cipher is not None and not (kind is not None and kind.secret):
                held.append(cipher.open(f"credential:{card['kind']}", card["value_enc"]))
            else:  # a secret kind (an ID card) is never written out, not even revealed
                held.append(shown(card["value_hint"]))
        money = balances.get(row["id"], {})
        shown_birthday = _birthday(row["birthday"], row["birthday_calendar"], page.reveal)
        birthday = row["birthday"]
        phone = personal.get("phone", "")
        if page.reveal and phone.startswith("+86"):
            phone = phone[3:]  # as people write mainland numbers (and as the importer reads them)
        found.append(
            [
                row["member_no"],
                page.name(row["name"]),
                phone,
                GENDERS_ZH.get(row["gender"], row["gender"]),
                shown_birthday,
                CALENDARS_ZH.get(row["birthday_calendar"], row["birthday_calendar"]) if birthday else "",
                personal.get("email", ""),
                personal.get("id_number", ""),
                personal.get("address", ""),
                "、".join(json_column(row["tags"]) or []),
                ",".join(held),
                page.tiers.get(row["tier"], row["tier"] or ""),
                money.get(Kind.POINTS, 0),
                _money(money.get(Kind.STORED_VALUE, 0), program),
                _money(money.get(Kind.STORED_VALUE_BONUS, 0), program),
                money.get(Kind.GROWTH, 0),
                row["status"],
                page.stores.get(row["created_store_id"], ""),
                _local(row["created_at"], program),
            ]
        )
    return found, rows[-1]["id"]


async def _ledger(page: _Page, after: uuid.UUID | None, since: Any, until: Any) -> tuple[list[list[Any]], Any]:
    program = page.program
    window, args = _window("e.created_at", since, until)
    rows = await fetch(
        "SELECT e.id, e.created_at, e.amount, e.rule,"
        " CASE WHEN e.reason = '' THEN p.reason ELSE e.reason END AS reason, e.store_id, a.kind AS account,"
        " p.kind AS posting, p.operator, p.id AS posting_id, m.member_no, m.name"
        " FROM ledger_entry e JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id"
        " JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id LEFT JOIN member m ON"
        " m.program_id = a.program_id AND m.id = a.member_id"
        f" WHERE a.program_id = {{}} AND e.id > {{}}{window} ORDER BY e.id LIMIT {{}}",
        program.id,
        after or uuid.UUID(int=0),
        *args,
        PAGE_ROWS,
    )
    found: list[list[Any]] = []
    for row in rows:
        kind = row["account"]
        money = kind in MONEY_ACCOUNTS
        found.append(
            [
                _local(row["created_at"], program),
                row["member_no"] or "",
                page.name(row["name"]) if row["member_no"] else "",
                f"{ACCOUNTS_ZH.get(kind, kind)} {kind}",
                _money(row["amount"], program) if money else row["amount"],
                (f"元 {program.currency}" if program.currency == "CNY" else program.currency) if money else "",
                row["posting"],
                row["rule"],
                row["reason"],
                page.stores.get(row["store_id"], ""),
                row["operator"],
                str(row["posting_id"]),
            ]
        )
    return found, rows[-1]["id"] if rows else None


async def _sales(page: _Page, after: uuid.UUID | None, since: Any, until: Any) -> tuple[list[list[Any]], Any]:
    program = page.program
    window, args = _window("s.occurred_at", since, until)
    rows = await fetch(
        "SELECT s.id, s.occurred_at, s.store_id, s.receipt_no, s.subtotal, s.discount, s.total, s.refunded_amount,"
        " s.points_earned, s.points_redeemed, s.growth_earned, s.status, m.member_no, m.name"
        " FROM sale s JOIN member m ON m.program_id = s.program_id AND m.id = s.member_id"
        f" WHERE s.program_id = {{}} AND s.id > {{}}{window} ORDER BY s.id LIMIT {{}}",
        program.id,
        after or uuid.UUID(int=0),
        *args,
        PAGE_ROWS,
    )
    found: list[list[Any]] = [
        [
            _local(row["occurred_at"], program),
            page.stores.get(row["store_id"], ""),
            row["receipt_no"] or "",
            row["member_no"],
            page.name(row["name"]),
            _money(row["subtotal"], program),
            _money(row["discount"], program),
            _money(row["total"], program),
            _money(row["refunded_amount"], program),
            row["points_earned"],
            row["points_redeemed"],
            row["growth_earned"],
            row["status"],
            str(row["id"]),
        ]
        for row in rows
    ]
    return found, rows[-1]["id"] if rows else None


def _window(column: str, since: dt.datetime | None, until: dt.datetime | None) -> tuple[str, list[Any]]:
    condition, args = "", []
    if since is not None:
        condition, args = condition + f" AND {column} >= {{}}", [*args, since]
    if until is not None:
        condition, args = condition + f" AND {column} < {{}}", [*args, until]
    return condition, args


PAGES = {"members": _members, "ledger": _ledger, "sales": _sales}
COUNTS = {
    "members": "SELECT COUNT(*) AS n FROM member WHERE program_id = {}",
    "ledger": "SELECT COUNT(*) AS n FROM ledger_entry e"
    " JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id WHERE a.program_id = {}",
    "sales": "SELECT COUNT(*) AS n FROM sale s WHERE s.program_id = {}",
}
WINDOWS = {"members": None, "ledger": "e.created_at", "sales": "s.occurred_at"}


def day_bounds(
    program: ProgramConfig, since: dt.date | None, until: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Local days ``since``…``until`` (both inclusive) as UTC moments: from the start of ``since``
    to the start of the day after ``until``."""

    def start(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=program.zone).astimezone(dt.UTC)

    return (
        start(since) if since else None,
        start(until + dt.timedelta(days=1)) if until else None,
    )


async def count_rows(kind: str, program: ProgramConfig, since: dt.datetime | None, until: dt.datetime | None) -> int:
    """How many rows an export will write (for a progress bar)."""
    window, args = _window(WINDOWS[kind], since, until) if WINDOWS[kind] else ("", [])
    row = await fetch_one(COUNTS[kind] + window, program.id, *args)
    return int(row["n"]) if row else 0


async def rows_of(
    kind: str,
    program: ProgramConfig,
    reveal: bool,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows, a page at a time (keyset pages in id order: memory stays flat)."""
    page = _Page(program, reveal, await list_stores(program.merchant_id))
    after = None
    while True:
        found, after = await PAGES[kind](page, after, since, until)
        if after is None:
            return
        yield found


@use_case
async def record_export(program_id: uuid.UUID, kind: str, actor: str, details: dict[str, Any]) -> None:
    """The export in the audit log (``members.export``, ``ledger.export``, ``sales.export``),
    written before any row is read: an export that fails halfway was still asked for."""
    await audit.record(actor, f"{kind}.export", "program", program_id, program_id, details)


async def export(
    kind: str,
    program_id: uuid.UUID,
    target: Path | IO[bytes],
    *,
    fmt: str = "csv",
    header: str = "zh-en",
    reveal: bool = False,
    actor: str = "system",
    since: dt.date | None = None,
    until: dt.date | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the program's members, ledger entries or sales to ``target`` (a path or a binary
    file) as CSV or Excel; personal data masked unless ``reveal``; audited first. ``since`` and
    ``until`` (local days, inclusive) bound ledger entries and sales."""
    check_request(kind, fmt, header)
    started = time.perf_counter()
    program = await get_program(program_id)
    low, high = day_bounds(program, since, until)
    total = await count_rows(kind, program, low, high)
    details = {"format": fmt, "revealed": reveal, "rows": total, "since": since, "until": until}
    if isinstance(target, Path):
        details["file"] = target.name
    await record_export(program.id, kind, actor, details)
    writer = SheetWriter(target, fmt, title=kind)
    for row in header_rows(kind, header):
        writer.write(row)
    written = 0
    try:
        async for rows in rows_of(kind, program, reveal, low, high):
            for row in rows:
                writer.write(row)
            written += len(rows)
            if progress is not None:
                progress(written, max(total, written))
    finally:
        writer.close()
    return ExportSummary(
        kind, fmt, written, reveal, str(target) if isinstance(target, Path) else "", time.perf_counter() - started
    )


async def csv_stream(
    kind: str,
    program_id: uuid.UUID,
    *,
    header: str = "zh-en",
    reveal: bool = False,
    actor: str = "system",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> AsyncIterator[bytes]:
    """The export as CSV bytes, a page at a time (for a download that starts at once); audited
    before the first byte."""
    check_request(kind, "csv", header)
    program = await get_program(program_id)
    low, high = day_bounds(program, since, until)
    total = await count_rows(kind, program, low, high)
    details = {"format": "csv", "revealed": reveal, "rows": total, "since": since, "until": until}
    await record_export(program.id, kind, actor, details)
    return _stream(kind, program, header, reveal, low, high)


async def _stream(
    kind: str,
    program: ProgramConfig,
    header: str,
    reveal: bool,
    low: dt.datetime | None,
    high: dt.datetime | None,
) -> AsyncIterator[bytes]:
    buffer = io.BytesIO()
    writer = SheetWriter(buffer, "csv")
    for row in header_rows(kind, header):
        writer.write(row)
    async for rows in rows_of(kind, program, reveal, low, high):
        for row in rows:
            writer.write(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    writer.close()
    yield buffer.getvalue()
