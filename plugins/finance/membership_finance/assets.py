"""Assets under management (AUM, 资产): each member's monthly average daily balance (月日均资产)
fed by the bank's core system, and the tier it earns.

A feed gives, for one month, a balance per member (named by member number, bank card number or id);
it is stored per member and month (a later feed of the same month replaces the figure, so feeding a
file twice changes nothing), and each member fed is re-evaluated at once through the kernel
(``reevaluate_tier``): a higher tier applies now, a lower one waits for the review at the end of the
member's tier period, as the program's tier policy says. Lines that name nobody, or whose amount is
not one, are reported with their line number and the rest is stored.

The tier (``membership_tier_for``) is the one whose threshold the average of the member's latest
``aum_months`` fed months reaches (普卡 below 金卡's threshold; bounds inclusive); a member with no
balance fed yet holds 普卡. With ``tiers_by_assets`` off, the kernel's own tier policy decides.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from collections.abc import Iterable
from typing import Any

from membership.plugin import (
    ProgramConfig,
    Reason,
    ValidationError,
    conflict_target,
    execute,
    fetch,
    fetch_one,
    new_id,
    reevaluate_tier,
    use_case,
)
from membership_finance.customers import find_member
from membership_finance.settings import settings_of
from membership_finance.values import fen_of, month_of, now, parse_month

CHUNK = 500
MAX_LINES = 100_000
MEMBER_HEADERS = ("member", "member_no", "会员号", "客户号", "member_id")
CARD_HEADERS = ("card", "card_no", "bank_card", "卡号", "银行卡号")
BALANCE_HEADERS = (
    "balance",
    "avg_balance",
    "月日均资产",
    "月日均余额",
    "日均余额",
    "月日均资产（元）",
    "月日均资产(元)",
)
MONTH_HEADERS = ("month", "月份")


@dataclasses.dataclass(frozen=True)
class FeedLine:
    """One line of a feed: its number, who it names, the balance in fen (None when the amount
    could not be read) and the month when the line gives its own."""

    line: int
    who: str
    balance: int | None
    month: str = ""
    problem: Reason | None = None


@dataclasses.dataclass
class FeedResult:
    """What a feed did: lines read, balances stored, lines refused (with why), members whose tier
    went up."""

    month: str
    lines: int = 0
    stored: int = 0
    upgraded: int = 0
    refused: list[tuple[int, str, Reason]] = dataclasses.field(default_factory=list)


def _column(header: list[str], names: Iterable[str]) -> int | None:
    wanted = {name.lower() for name in names}
    return next((i for i, cell in enumerate(header) if cell.strip().lower() in wanted), None)


def parse_balances_file(data: bytes) -> list[FeedLine]:
    """A CSV file of balances (UTF-8 with or without BOM, or GBK as Excel saves it in China): a
    header row naming the member (``会员号``/``member_no``) or the card (``卡号``/``card``), the
    balance in yuan (``月日均资产``/``balance``) and optionally the month (``月份``/``month``)."""
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(
            field="file", reason=Reason("not a UTF-8 or GBK text file", "文件不是 UTF-8 或 GBK 编码的文本")
        )
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValidationError(field="file", reason=Reason("the file is empty", "文件是空的"))
    header = rows[0]
    who = _column(header, MEMBER_HEADERS)
    who = who if who is not None else _column(header, CARD_HEADERS)
    balance = _column(header, BALANCE_HEADERS)
    month = _column(header, MONTH_HEADERS)
    if who is None or balance is None:
        raise ValidationError(
            field="file",
            reason=Reason(
                "the first row must name the columns: member_no (or card) and balance",
                "第一行须为表头，包含“会员号”（或“卡号”）和“月日均资产”两列",
            ),
        )
    if len(rows) - 1 > MAX_LINES:
        raise ValidationError(
            field="file", reason=Reason(f"at most {MAX_LINES} lines a file", f"每个文件最多 {MAX_LINES} 行")
        )
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            fen, problem = fen_of(_cell(row, balance), "balance"), None
        except ValidationError as exc:
            fen, problem = None, exc.params["reason"]
        lines.append(FeedLine(number, _cell(row, who), fen, _cell(row, month), problem))
    return lines


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


async def _upgraded(member_id: uuid.UUID) -> bool:
    before = await fetch_one("SELECT tier FROM member WHERE id = {}", member_id)
    return await reevaluate_tier(member_id) != (before["tier"] if before else None)


@use_case
async def _store_chunk(
    program: ProgramConfig, month: str, lines: list[FeedLine], source: str, actor: str, result: FeedResult
) -> None:
    """Store one chunk of a feed and re-evaluate the members it names (one transaction)."""
    fed: dict[uuid.UUID, FeedLine] = {}
    for line in lines:
        if line.problem is not None:
            result.refused.append((line.line, line.who, line.problem))
            continue
        if line.month and line.month != month:
            result.refused.append(
                (
                    line.line,
                    line.who,
                    Reason(f"month {line.month} is not {month}", f"月份 {line.month} 与 {month} 不符"),
                )
            )
            continue
        member_id = await find_member(program, line.who)
        if member_id is None:
            result.refused.append(
                (
                    line.line,
                    line.who,
                    Reason("no member has this member number or card", "没有该会员号或卡号的会员"),
                )
            )
            continue
        fed[member_id] = line  # a member twice in a feed: the last line counts
    at = now()
    for member_id, line in fed.items():
        await execute(
            "INSERT INTO finance_balance (id, program_id, member_id, month, balance, source, updated_by, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT "
            + await conflict_target("member_id", "month")
            + " DO UPDATE SET"
            " balance = excluded.balance, source = excluded.source, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            new_id(),
            program.id,
            member_id,
            month,
            line.balance,
            source,
            actor[:100],
            at,
        )
    result.stored += len(fed)
    for member_id in fed:
        result.upgraded += await _upgraded(member_id)


async def feed_balances(
    program: ProgramConfig, month: str, lines: list[FeedLine], source: str, actor: str, filename: str = ""
) -> FeedResult:
    """Store a month's balances (``lines``) and re-evaluate the members fed, a chunk per
    transaction; the feed is recorded with what it did."""
    month = parse_month(month)
    result = FeedResult(month, lines=len(lines))
    for start in range(0, len(lines), CHUNK):
        await _store_chunk(program, month, lines[start : start + CHUNK], source, actor, result)
    await execute(
        "INSERT INTO finance_feed (id, program_id, month, source, filename, lines, stored, refused, upgraded, actor,"
        " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        program.id,
        month,
        source,
        filename[:200],
        result.lines,
        result.stored,
        len(result.refused),
        result.upgraded,
        actor[:100],
        now(),
    )
    return result


async def recent_feeds(program_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """The program's latest feeds, newest first."""
    return await fetch(
        "SELECT month, source, filename, lines, stored, refused, upgraded, actor, created_at FROM finance_feed"
        " WHERE program_id = {} ORDER BY created_at DESC LIMIT {}",
        program_id,
        limit,
    )


async def member_balances(member_id: uuid.UUID, limit: int = 12) -> list[dict[str, Any]]:
    """The member's fed months, newest first: ``month``, ``balance`` (fen), ``source``."""
    return await fetch(
        "SELECT month, balance, source, updated_at FROM finance_balance WHERE member_id = {}"
        " ORDER BY month DESC LIMIT {}",
        member_id,
        limit,
    )


async def averages(program: ProgramConfig, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each member's average of their latest ``aum_months`` fed months up to this month (fen,
    rounded down); members with nothing fed are left out."""
    if not member_ids:
        return {}
    months = settings_of(program).aum_months
    marks = ", ".join("{}" for _ in member_ids)
    rows = await fetch(
        "SELECT member_id, balance FROM (SELECT member_id, balance, ROW_NUMBER() OVER"
        " (PARTITION BY member_id ORDER BY month DESC) AS recent FROM finance_balance"
        f" WHERE member_id IN ({marks}) AND month <= {{}}) AS b WHERE recent <= {{}}",
        *member_ids,
        month_of(program, now()),
        months,
    )
    found: dict[uuid.UUID, list[int]] = {}
    for row in rows:
        found.setdefault(uuid.UUID(str(row["member_id"])), []).append(int(row["balance"]))
    return {member_id: sum(values) // len(values) for member_id, values in found.items()}


async def tiers_for(program: ProgramConfig, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, str] | None:
    """The tier each member's assets reach (None when the program does not tier by assets)."""
    settings = settings_of(program)
    if not settings.tiers_by_assets:
        return None
    found = await averages(program, member_ids)
    return {member_id: settings.tier_for_balance(found.get(member_id, 0)) for member_id in member_ids}


def tier_name(program: ProgramConfig, code: str | None) -> str:
    """The program's name of tier ``code`` (the code itself when unnamed)."""
    for tier in program.settings.get("tiers", []):
        if tier.get("code") == code:
            return tier.get("name") or code
    return code or ""
