"""REST routes of the finance pack, mounted by the kernel under ``/api/v1/finance`` behind the
API-key guard. Each route checks that its key may see the program or member it names, and answers
409 ``finance_off`` where the pack is not switched on for the program. Card transactions
themselves go through the kernel's ``POST /transactions`` (and ``/transactions/simulate``) with
``attributes`` ``mcc`` and ``txn_type``; a bank card is issued with ``POST /members/{id}/credentials``
(kind ``bank_card``) and identifies its holder at every till; consents are the kernel's
``/members/{id}/consents``.

* ``GET /finance/programs/{id}/mcc-rules`` — the MCC rules and the excluded categories (read);
* ``PUT/DELETE /finance/programs/{id}/mcc-rules/{mccs}`` — a rule for ``5812`` or ``5811-5814`` (admin);
* ``POST /finance/programs/{id}/balances`` — a month's average daily balances from the core system
  (admin; idempotent: the same feed again changes nothing), answered with what it stored, refused
  and upgraded;
* ``GET /finance/members/{id}/assets`` — the member's fed months, average and the tier it earns (read);
* ``GET /finance/members/{id}/statements[/{month}]`` — the member's monthly points statements (read);
* ``POST /finance/programs/{id}/statements/{month}`` — build a month's statements now (admin);
* ``GET /finance/programs/{id}/enrolment`` — what enrolment requires: ID number, KYC, consents (read).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from membership.plugin import (
    ProgramConfig,
    Reason,
    Scope,
    ValidationError,
    current_key,
    get_program,
    member_for,
    plugin_enabled,
    program_for,
)
from membership_finance import assets, enrolment, mcc, statements
from membership_finance.errors import FinanceOff
from membership_finance.settings import NAME, settings_of
from membership_finance.values import moment, month_of, now, parse_month

TAGS = ["finance"]
MAX_BALANCES = 5_000


class RuleOut(msgspec.Struct):
    """An MCC rule: its range, name, multiplier in percent of the base points, and the MCC
    category's own name."""

    mccs: str
    name: str
    multiplier_pct: int
    category_zh: str
    category_en: str
    updated_by: str
    updated_at: dt.datetime


class ExcludedOut(msgspec.Struct):
    """An excluded MCC or range (the pack's settings) and its category's name."""

    mccs: str
    category_zh: str
    category_en: str


class RulesOut(msgspec.Struct):
    """The program's MCC rules and excluded categories, and the rates of instalments and bill
    payments (percent of the base points)."""

    rules: list[RuleOut]
    excluded: list[ExcludedOut]
    instalment_pct: int
    bill_payment_pct: int
    daily_cap: int
    monthly_cap: int


class BalanceIn(msgspec.Struct, forbid_unknown_fields=True):
    """One member's monthly average daily balance in fen, the member named by ``member_no``,
    ``card`` (a bank card number) or ``member_id``."""

    balance: Annotated[int, msgspec.Meta(ge=0, le=10**15)]
    member_no: str | None = None
    card: str | None = None
    member_id: uuid.UUID | None = None


class FeedIn(msgspec.Struct, forbid_unknown_fields=True):
    """A month's balances (``YYYY-MM``, the program's local month), at most 5,000 a call."""

    month: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]
    balances: Annotated[list[BalanceIn], msgspec.Meta(min_length=1, max_length=MAX_BALANCES)]


class RefusedOut(msgspec.Struct):
    """A line of the feed that was not stored (its position, from 1) and why."""

    line: int
    who: str
    reason: str


class FeedOut(msgspec.Struct):
    """What a feed did: balances stored, members whose tier went up, lines refused."""

    month: str
    lines: int
    stored: int
    upgraded: int
    refused: list[RefusedOut]


class MonthOut(msgspec.Struct):
    """A fed month: its average daily balance (fen)."""

    month: str
    balance: int
    source: str


class AssetsOut(msgspec.Struct):
    """The member's fed months (newest first), the average the tier looks at, the tier it earns
    and the tier held now."""

    months: list[MonthOut]
    average: int
    months_averaged: int
    tier_by_assets: str | None
    tier: str | None


class StatementOut(msgspec.Struct):
    """A monthly points statement: ``opening + earned − redeemed − expired + adjusted = closing``;
    ``built_at`` null for one worked out on request (a month not built, or still running)."""

    member_id: uuid.UUID
    month: str
    opening: int
    earned: int
    redeemed: int
    expired: int
    adjusted: int
    closing: int
    built_at: dt.datetime | None


class LineOut(msgspec.Struct):
    """A move of the month on the points account (明细)."""

    at: dt.datetime
    points: int
    category: str
    reason: str


class StatementDetailOut(StatementOut):
    """A statement with the month's moves."""

    lines: list[LineOut] = []


class BuiltOut(msgspec.Struct):
    """Statements built for a month."""

    month: str
    statements: int


class PurposeOut(msgspec.Struct):
    """A consent purpose and whether enrolment requires it."""

    purpose: str
    name_zh: str
    name_en: str
    required: bool


class EnrolmentOut(msgspec.Struct):
    """What enrolment into the program requires."""

    id_number: bool
    kyc_status: str | None
    consents: list[PurposeOut]


def _on(program: ProgramConfig) -> ProgramConfig:
    if not plugin_enabled(program, NAME):
        raise FinanceOff()
    return program


async def _program(request: Request, program_id: uuid.UUID | None) -> ProgramConfig:
    return _on(await program_for(current_key(request), program_id))


async def _member(request: Request, member_id: uuid.UUID) -> tuple[ProgramConfig, dict]:
    row = await member_for(current_key(request), member_id)
    return _on(await get_program(row["program_id"])), row


def _rule_out(rule: mcc.MccRule) -> RuleOut:
    zh, en = mcc.name_of(rule.first, rule.last)
    return RuleOut(rule.mccs, rule.name, rule.multiplier_pct, zh, en, rule.updated_by, rule.updated_at)


@get("/finance/programs/{program_id:uuid}/mcc-rules", opt={"scope": Scope.READ}, tags=TAGS)
async def list_rules(request: Request, program_id: FromPath[uuid.UUID]) -> RulesOut:
    """The program's MCC rules (by range), the excluded MCCs, the instalment and bill-payment
    rates and the velocity caps."""
    program = await _program(request, program_id)
    settings = settings_of(program)
    excluded = [ExcludedOut(entry, *mcc.name_of(*mcc.parse_range(entry))) for entry in settings.excluded_mccs]
    return RulesOut(
        [_rule_out(rule) for rule in await mcc.list_rules(program.id)],
        excluded,
        settings.instalment_pct,
        settings.bill_payment_pct,
        settings.daily_cap,
        settings.monthly_cap,
    )


@put("/finance/programs/{program_id:uuid}/mcc-rules/{mccs:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def save_rule(
    request: Request, program_id: FromPath[uuid.UUID], mccs: FromPath[str], data: JSONBody[mcc.MccRuleTerms]
) -> RuleOut:
    """Add or change the rule of ``mccs`` (``5812`` or ``5811-5814``): its name and
    ``multiplier_pct`` (200 doubles the base points, 0 earns none)."""
    program = await _program(request, program_id)
    rule = await mcc.save_rule(program.id, mccs, msgspec.to_builtins(data), current_key(request).actor)
    return _rule_out(rule)


@delete("/finance/programs/{program_id:uuid}/mcc-rules/{mccs:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def delete_rule(request: Request, program_id: FromPath[uuid.UUID], mccs: FromPath[str]) -> None:
    """Remove the rule of ``mccs`` (its MCCs earn the base points again)."""
    program = await _program(request, program_id)
    await mcc.delete_rule(program.id, mccs)


def _who(item: BalanceIn, position: int) -> str:
    named = [value for value in (item.member_no, item.card, str(item.member_id or "")) if value]
    if len(named) != 1:
        raise ValidationError(
            field=f"balances[{position}]",
            reason=Reason(
                "name the member once: member_no, card or member_id", "请用 member_no、card 或 member_id 之一指明会员"
            ),
        )
    return named[0]


@post("/finance/programs/{program_id:uuid}/balances", opt={"scope": Scope.ADMIN}, tags=TAGS, status_code=200)
async def feed(request: Request, program_id: FromPath[uuid.UUID], data: JSONBody[FeedIn]) -> FeedOut:
    """Store a month's average daily balances (fen) and re-evaluate the members fed (a higher
    tier applies at once). A member fed again in the same month gets the new figure: sending the
    same feed twice changes nothing. Lines naming nobody are answered in ``refused``, the others
    are stored."""
    program = await _program(request, program_id)
    month = parse_month(data.month)
    lines = [assets.FeedLine(i, _who(item, i - 1), item.balance) for i, item in enumerate(data.balances, start=1)]
    english = (request.headers.get("accept-language") or "").lower().startswith("en")
    result = await assets.feed_balances(program, month, lines, "api", current_key(request).actor)
    refused = [RefusedOut(line, who, reason.en if english else reason.zh) for line, who, reason in result.refused]
    return FeedOut(result.month, result.lines, result.stored, result.upgraded, refused)


@get("/finance/members/{member_id:uuid}/assets", opt={"scope": Scope.READ}, tags=TAGS)
async def member_assets(request: Request, member_id: FromPath[uuid.UUID]) -> AssetsOut:
    """The member's fed months (newest first), the average of the latest ones the tier looks at,
    the tier those assets earn, and the tier the member holds now."""
    program, row = await _member(request, member_id)
    settings = settings_of(program)
    months = [MonthOut(r["month"], int(r["balance"]), r["source"]) for r in await assets.member_balances(member_id)]
    average = (await assets.averages(program, [member_id])).get(member_id, 0)
    by_assets = settings.tier_for_balance(average) if settings.tiers_by_assets else None
    current = [m for m in months if m.month <= month_of(program, now())][: settings.aum_months]
    return AssetsOut(months, average, len(current), by_assets, row["tier"])


def _statement_out(found: statements.Statement) -> StatementOut:
    return StatementOut(
        found.member_id,
        found.month,
        found.opening,
        found.earned,
        found.redeemed,
        found.expired,
        found.adjusted,
        found.closing,
        found.built_at,
    )


@get("/finance/members/{member_id:uuid}/statements", opt={"scope": Scope.READ}, tags=TAGS)
async def list_statements(
    request: Request,
    member_id: FromPath[uuid.UUID],
    limit: FromQuery[Annotated[int, msgspec.Meta(ge=1, le=120)]] = 12,
    offset: FromQuery[Annotated[int, msgspec.Meta(ge=0)]] = 0,
) -> list[StatementOut]:
    """The member's built statements, newest month first (``limit``, ``offset`` page them)."""
    await _member(request, member_id)
    return [_statement_out(s) for s in await statements.statements_of(member_id, limit, offset)]


@get("/finance/members/{member_id:uuid}/statements/{month:str}", opt={"scope": Scope.READ}, tags=TAGS)
async def get_statement(request: Request, member_id: FromPath[uuid.UUID], month: FromPath[str]) -> StatementDetailOut:
    """The member's statement of ``month`` (``YYYY-MM``) with the month's moves: as built, or
    worked out from the ledger now when the month was not built yet (``built_at`` null)."""
    program, _ = await _member(request, member_id)
    found = await statements.statement(program, member_id, month)
    moves = [
        LineOut(moment(r["at"]), int(r["points"]), r["category"], r["reason"])
        for r in await statements.lines(program, member_id, month)
    ]
    return StatementDetailOut(**msgspec.structs.asdict(_statement_out(found)), lines=moves)


@post("/finance/programs/{program_id:uuid}/statements/{month:str}", opt={"scope": Scope.ADMIN}, tags=TAGS)
async def build_statements(request: Request, program_id: FromPath[uuid.UUID], month: FromPath[str]) -> BuiltOut:
    """Build (or rebuild) the statements of ``month`` for every member now (what the monthly job
    does for the month that ended)."""
    program = await _program(request, program_id)
    month = parse_month(month)
    built = await statements.build_month(program, month, current_key(request).actor)
    return BuiltOut(month, built)


@get("/finance/programs/{program_id:uuid}/enrolment", opt={"scope": Scope.READ}, tags=TAGS)
async def requirements(request: Request, program_id: FromPath[uuid.UUID]) -> EnrolmentOut:
    """What enrolment requires in the program: an ID number, the KYC status it must have (null:
    none), and the consent purposes (``required`` or optional)."""
    program = await _program(request, program_id)
    settings = settings_of(program)
    required = enrolment.required_purposes(settings)
    purposes = [PurposeOut(p, zh, en, p in required) for p, (zh, en) in enrolment.PURPOSES.items()]
    return EnrolmentOut(True, "verified" if settings.require_kyc else None, purposes)


ROUTES = [
    list_rules,
    save_rule,
    delete_rule,
    feed,
    member_assets,
    list_statements,
    get_statement,
    build_statements,
    requirements,
]
