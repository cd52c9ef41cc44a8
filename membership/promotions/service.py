"""Promotions at the till (促销活动): add, change, end, read; and what a sale gets from them.

A sale asks :func:`quote` (``simulate``: nothing written) or :func:`take` (a purchase, inside its
transaction, with the member locked) for the promotions it gets; :mod:`membership.promotions.choice`
chooses the combination best for the customer. Usage limits hold under parallel sales: the
per-member count is read while the purchase holds the member's row, and the count across all
members moves by a conditional ``UPDATE`` that never passes the limit (a promotion whose last use
another sale took is left out and the choice made again). The refund of a whole sale gives its
uses back (:func:`give_back`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from cachetools import TTLCache

from membership.audit import service as audit
from membership.coupons.service import date_of, local_today, uuids_of
from membership.db import after_commit, fetch, fetch_one, is_sqlite, new_id, placeholders, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import Reason, ValidationError
from membership.ledger.conditions import compile_conditions, parse_conditions
from membership.ledger.rules import EarnContext, LineInput
from membership.org.service import ProgramConfig, check_store, get_program
from membership.promotions.choice import Choice, Offer, choose
from membership.promotions.errors import PromotionNotFound
from membership.promotions.kinds import PromotionKind, kind_of, parse_params, promotion_kinds

MAX_MINOR = 100_000_000_000
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")]
TillCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class PromotionTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a promotion says, but its code (the API takes the code from the path on a change).

    ``kind`` names a registered promotion kind and ``params`` its fields (minor units for
    amounts; ``percent_off`` 20 is 8折). ``conditions``: the conditions points rules take (lines by
    ``sku``, ``category``, ``brand``, ``label``; ``min_quantity``; ``code``…); ``min_amount``:
    the least the selected lines must come to (minor units, inclusive). ``stackable``: combines
    with other stackable promotions (one that is not applies alone, when it is best for the
    customer). ``till_code``: the promotion applies only when typed at the till.
    ``member_limit``: uses per member, ``total_limit``: uses in all (None: no limit). Valid
    ``valid_from`` to ``valid_until`` (inclusive local dates; None: open) at ``store_ids`` (empty:
    every store)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    params: dict[str, Any] = {}
    conditions: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=20)] = []
    min_amount: Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)] = 0
    stackable: bool = False
    till_code: TillCode | None = None
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    total_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    store_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)] = []
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""


class PromotionDef(PromotionTerms, frozen=True, kw_only=True):
    """A promotion: its terms (:class:`PromotionTerms`) and its code, unique in the program."""

    code: Code


PROMOTIONS_CACHE_SECONDS = 5.0
_running = database_cache(TTLCache(maxsize=1024, ttl=PROMOTIONS_CACHE_SECONDS))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_promotion(data: dict[str, Any]) -> PromotionDef:
    """A validated promotion from JSON-like ``data`` (params checked by its kind, conditions by
    theirs, the till code in upper case); ``ValidationError`` names the field at fault."""
    try:
        promotion = msgspec.convert(data, PromotionDef)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "promotion", reason=reason) from None
    params = parse_params(kind_of(promotion.kind), promotion.params)
    conditions = parse_conditions(promotion.conditions)
    if promotion.valid_from and promotion.valid_until and promotion.valid_from > promotion.valid_until:
        raise ValidationError(field="valid_until", reason=Reason("must not be before valid_from", "不能早于开始日期"))
    return msgspec.structs.replace(
        promotion,
        params=msgspec.to_builtins(params),
        conditions=conditions,
        till_code=promotion.till_code.upper() if promotion.till_code else None,
        store_ids=list(dict.fromkeys(promotion.store_ids)),
    )


def describe(kind_name: str, params: dict[str, Any]) -> Reason | None:
    """What a promotion takes off, in words; None when its kind is gone or no longer fits."""
    kind = promotion_kinds().get(kind_name)
    if kind is None:
        return None
    try:
        return kind().describe(parse_params(kind, params))
    except ValidationError:
        return None


def promotion_out(row: dict[str, Any]) -> dict[str, Any]:
    """A promotion as the API and the console show it; ``gives`` says what it takes off."""
    params = json_column(row["params"]) or {}
    gives = describe(row["kind"], params)
    return {
        "code": row["code"],
        "name": row["name"],
        "description": row["description"],
        "kind": row["kind"],
        "params": params,
        "conditions": json_column(row["conditions"]) or [],
        "min_amount": int(row["min_amount"]),
        "stackable": bool(row["stackable"]),
        "till_code": row["till_code"],
        "member_limit": row["member_limit"],
        "total_limit": None if row["total_limit"] is None else int(row["total_limit"]),
        "used_count": int(row["uses"]),
        "valid_from": date_of(row["valid_from"]),
        "valid_until": date_of(row["valid_until"]),
        "store_ids": uuids_of(row["store_ids"]),
        "active": bool(row["active"]),
        "gives_zh": gives.zh if gives else "",
        "gives_en": gives.en if gives else "",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def promotion_row(program_id: uuid.UUID, code: str, lock: bool = False) -> dict[str, Any]:
    """A promotion's row by its code in the program (locked when ``lock``); ``PromotionNotFound``."""
    if not 1 <= len(code) <= 48:
        raise PromotionNotFound(code=code)
    suffix = " FOR NO KEY UPDATE OF p" if lock and not is_sqlite() else ""
    row = await fetch_one(
        f"SELECT p.*, {_USES} FROM promotion p WHERE p.program_id = {{}} AND p.code = {{}}{suffix}",
        program_id,
        program_id,
        code,
    )
    if row is None:
        raise PromotionNotFound(code=code)
    return row


# the uses not given back: counted from the uses themselves, since only a promotion with a limit in
# all keeps a counter (``used_count``, checked and raised by each sale under its row's lock); an
# unlimited one's row is never updated by a sale, so concurrent sales do not queue on it. It takes
# the program as its first argument (a locking read on Citus names it on every table)
_USES = (
    "(SELECT COUNT(*) FROM promotion_use u WHERE u.program_id = {} AND u.promotion_id = p.id"
    " AND u.returned_at IS NULL) AS uses"
)


def _values(promotion: PromotionDef) -> list[Any]:
    return [
        promotion.name,
        promotion.description,
        promotion.kind,
        json.dumps(promotion.params, ensure_ascii=False),
        json.dumps(promotion.conditions, ensure_ascii=False),
        promotion.min_amount,
        promotion.stackable,
        promotion.till_code,
        promotion.member_limit,
        promotion.total_limit,
        promotion.valid_from,
        promotion.valid_until,
        json.dumps([str(s) for s in promotion.store_ids]),
    ]


_SET = (
    "name = {}, description = {}, kind = {}, params = {}, conditions = {}, min_amount = {}, stackable = {},"
    " till_code = {}, member_limit = {}, total_limit = {}, valid_from = {}, valid_until = {}, store_ids = {}"
)


async def _checked(program: ProgramConfig, data: dict[str, Any]) -> PromotionDef:
    promotion = parse_promotion(data)
    for store_id in promotion.store_ids:  # a closed store may stay named
        await check_store(program, store_id, open_only=False)
    if promotion.valid_until is not None and promotion.valid_until < local_today(program):
        raise ValidationError(
            field="valid_until", reason=Reason("already past: no sale could get it", "已过去：没有交易能享受")
        )
    return promotion


@use_case
async def create_promotion(program_id: uuid.UUID, data: dict[str, Any], actor: str = "system") -> dict[str, Any]:
    """Add a promotion (``code`` new in the program). Audited."""
    program = await get_program(program_id)
    promotion = await _checked(program, data)
    if await fetch_one("SELECT id FROM promotion WHERE program_id = {} AND code = {}", program_id, promotion.code):
        raise ValidationError(
            field="code",
            reason=Reason(
                f"promotion {promotion.code!r} already exists; change it instead",
                f"促销活动 “{promotion.code}” 已存在，请改为修改它",
            ),
        )
    now = _now()
    await fetch(
        "INSERT INTO promotion (id, program_id, code, name, description, kind, params, conditions, min_amount,"
        " stackable, till_code, member_limit, total_limit, valid_from, valid_until, store_ids, used_count, active,"
        " created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {},"
        " {}, {})",
        new_id(),
        program_id,
        promotion.code,
        *_values(promotion),
        True,
        now,
        now,
    )
    _changed(program_id)
    await audit.record(
        actor, "promotion.create", "promotion", promotion.code, program_id, msgspec.to_builtins(promotion)
    )
    return await get_promotion(program_id, promotion.code)


@use_case
async def change_promotion(
    program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str = "system"
) -> dict[str, Any]:
    """Replace a promotion's terms (its code and its uses stay; ``total_limit`` not below the
    uses so far); an ended one starts again. Audited."""
    program = await get_program(program_id)
    row = await promotion_row(program_id, code, lock=True)
    promotion = await _checked(program, {**data, "code": code})
    uses = int(row["uses"])
    if promotion.total_limit is not None and promotion.total_limit < uses:
        raise ValidationError(
            field="total_limit",
            reason=Reason(f"already used {uses} times: at least that", f"已使用 {uses} 次，不能少于此数"),
        )
    await fetch(
        f"UPDATE promotion SET {_SET}, used_count = {{}}, active = {{}}, updated_at = {{}}"
        " WHERE program_id = {} AND id = {}",
        *_values(promotion),
        uses,  # the counter a limit is checked against starts from the uses so far
        True,
        _now(),
        program_id,
        row["id"],
    )
    before = {k: v for k, v in promotion_out(row).items() if k not in ("created_at", "updated_at")}
    details = {"before": msgspec.to_builtins(before), "after": msgspec.to_builtins(promotion)}
    _changed(program_id)
    await audit.record(actor, "promotion.change", "promotion", code, program_id, details)
    return await get_promotion(program_id, code)


@use_case
async def end_promotion(program_id: uuid.UUID, code: str, actor: str = "system") -> None:
    """End a promotion now (停用): no sale gets it any more; its uses stay. Audited."""
    row = await promotion_row(program_id, code)
    await fetch(
        "UPDATE promotion SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        False,
        _now(),
        program_id,
        row["id"],
    )
    _changed(program_id)
    await audit.record(actor, "promotion.end", "promotion", code, program_id)


async def get_promotion(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One promotion, running or ended."""
    return promotion_out(await promotion_row(program_id, code))


async def list_promotions(
    program_id: uuid.UUID, include_ended: bool = False, page: int = 1, page_size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """A page of the program's promotions by code, and how many there are."""
    only = "" if include_ended else " AND active = {}"
    args = [program_id] + ([] if include_ended else [True])
    total = await fetch_one(f"SELECT COUNT(*) AS n FROM promotion WHERE program_id = {{}}{only}", *args)
    rows = await fetch(
        f"SELECT p.*, {_USES} FROM promotion p WHERE program_id = {{}}{only} ORDER BY code LIMIT {{}} OFFSET {{}}",
        program_id,
        *args,
        page_size,
        (page - 1) * page_size,
    )
    return [promotion_out(row) for row in rows], int(total["n"])


@dataclasses.dataclass(frozen=True)
class KindInfo:
    """A registered promotion kind as clients and the console see it: its name, labels and the
    JSON schema of its params."""

    kind: str
    label_zh: str
    label_en: str
    params_schema: dict[str, Any]


def kinds_info() -> list[KindInfo]:
    """Every registered promotion kind, by name."""
    found = []
    for name, kind in sorted(promotion_kinds().items()):
        schema = msgspec.json.schema(kind.Params)
        found.append(
            KindInfo(name, kind.label_zh, kind.label_en, schema.get("$defs", {}).get(kind.Params.__name__, schema))
        )
    return found


# -- the sale's side ---------------------------------------------------------------------------


def _blocked(
    row: dict[str, Any], store_id: uuid.UUID, today: dt.date, typed: tuple[str, ...], used: int
) -> Reason | None:
    """Why a promotion is ruled out before its lines are looked at, or None."""
    valid_from, valid_until = date_of(row["valid_from"]), date_of(row["valid_until"])
    if valid_from is not None and today < valid_from:
        return Reason(f"starts on {valid_from}", f"{valid_from} 开始")
    if valid_until is not None and today > valid_until:
        return Reason(f"ended on {valid_until}", f"已于 {valid_until} 结束")
    stores = uuids_of(row["store_ids"])
    if stores and store_id not in stores:
        return Reason("not at this store", "本门店不参加")
    if row["till_code"] and row["till_code"] not in typed:
        return Reason("needs its code typed at the till", "须在收银台输入活动码")
    if row["member_limit"] is not None and used >= row["member_limit"]:
        return Reason(f"the member has used it {used} times, its limit", f"该会员已享受 {used} 次，已达上限")
    if row["total_limit"] is not None and int(row["used_count"]) >= int(row["total_limit"]):
        return Reason(f"all {row['total_limit']} uses are taken", f"{row['total_limit']} 次名额已用完")
    return None


def _offer(row: dict[str, Any], blocked: Reason | None) -> Offer:
    kind_class = promotion_kinds().get(row["kind"])
    params: Any = None
    if kind_class is None:
        blocked = blocked or Reason(
            f"kind {row['kind']!r} is not available (its plugin is not installed)",
            f"促销类型 “{row['kind']}” 不可用（提供它的插件未安装）",
        )
    else:
        try:
            params = parse_params(kind_class, json_column(row["params"]) or {})
        except ValidationError:
            blocked = blocked or Reason(
                f"kind {row['kind']!r} no longer takes its terms; save the promotion again",
                f"促销类型 “{row['kind']}” 与其设置不再相符，请重新保存该活动",
            )
    kind = kind_class() if kind_class is not None else _Gone(row["kind"])
    return Offer(
        code=row["code"],
        name=row["name"],
        kind=kind,
        params=params,
        conditions=compile_conditions(json_column(row["conditions"]) or []),
        min_amount=int(row["min_amount"]),
        stackable=bool(row["stackable"]),
        blocked=blocked,
    )


class _Gone(PromotionKind):
    """A kind no plugin registers now: its promotion does not apply (``blocked`` says why)."""

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]

    def discounts(self, params: Any, lines: Sequence[LineInput]) -> list[int]:
        return [0 for _ in lines]


async def running(program_id: uuid.UUID) -> list[dict[str, Any]]:
    """The program's active promotions, by code: their terms kept :data:`PROMOTIONS_CACHE_SECONDS`
    (dropped when one changes here; other processes see a change within that time) and the uses in
    all of those with a limit read fresh, so every sale sees the current count."""
    rows = _running.get(program_id)
    if rows is None:
        rows = _running[program_id] = await fetch(
            "SELECT * FROM promotion WHERE program_id = {} AND active = {} ORDER BY code", program_id, True
        )
    limited = [row["id"] for row in rows if row["total_limit"] is not None]
    if not limited:
        return rows
    counts = await fetch(f"SELECT id, used_count FROM promotion WHERE id IN ({placeholders(limited)})", *limited)
    used = {str(row["id"]): row["used_count"] for row in counts}
    return [{**row, "used_count": used.get(str(row["id"]), row["used_count"])} for row in rows]


def _changed(program_id: uuid.UUID) -> None:
    """Forget the program's cached promotions once the change commits."""
    after_commit(lambda: _running.pop(program_id, None))


async def _offers(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    today: dt.date,
    typed: tuple[str, ...],
    exhausted: frozenset[str] = frozenset(),
) -> list[Offer]:
    """The program's running promotions as the sale sees them, by code; a typed code no running
    promotion has is refused (``promotion_codes``). ``exhausted``: promotions whose last use
    another sale just took."""
    rows = await running(program.id)
    unknown = set(typed) - {row["till_code"] for row in rows}
    if unknown:
        code = sorted(unknown)[0]
        raise ValidationError(
            field="promotion_codes",
            reason=Reason(f"no running promotion has the code {code!r}", f"没有使用活动码 “{code}” 的进行中促销活动"),
        )
    used = {}
    if any(row["member_limit"] is not None for row in rows):
        counted = await fetch(
            "SELECT promotion_id, COUNT(*) AS n FROM promotion_use WHERE member_id = {} AND returned_at IS NULL"
            " GROUP BY promotion_id",
            member_id,
        )
        used = {str(r["promotion_id"]): int(r["n"]) for r in counted}
    offers = []
    for row in rows:
        blocked = _blocked(row, store_id, today, typed, used.get(str(row["id"]), 0))
        if row["code"] in exhausted:
            blocked = Reason(f"all {row['total_limit']} uses are taken", f"{row['total_limit']} 次名额已用完")
        offers.append(_offer(row, blocked))
    return offers


def _context(
    program: ProgramConfig,
    member: dict[str, Any],
    store_id: uuid.UUID,
    lines: Sequence[LineInput],
    when: dt.datetime,
    attributes: dict[str, str],
    codes: tuple[str, ...],
) -> EarnContext:
    """What the promotions' order conditions see of the sale (no points rules: they run later)."""
    total = sum(line.amount for line in lines)
    return EarnContext(
        program=program,
        member_id=member["id"],
        store_id=store_id,
        tier=member["tier"],
        lines=tuple(lines),
        total=total,
        earning_base=total,
        occurred_at=when,
        attributes=attributes,
        codes=codes,
    )


async def quote(
    program: ProgramConfig,
    member: dict[str, Any],
    store_id: uuid.UUID,
    lines: Sequence[LineInput],
    room: int,
    when: dt.datetime,
    attributes: dict[str, str] | None = None,
    codes: tuple[str, ...] = (),
    typed: tuple[str, ...] = (),
) -> Choice:
    """The promotions a sale of ``lines`` would get (at most ``room`` off: what coupons left),
    each with why it applies or not; writes nothing. ``codes``: the codes typed for points rules
    (a ``code`` condition sees them with ``typed``, the promotion codes)."""
    today = when.astimezone(program.zone).date()
    offers = await _offers(program, member["id"], store_id, today, typed)
    context = _context(program, member, store_id, lines, when, attributes or {}, tuple(dict.fromkeys(codes + typed)))
    return choose(offers, lines, context, today, room)


async def take(
    program: ProgramConfig,
    member: dict[str, Any],
    store_id: uuid.UUID,
    lines: Sequence[LineInput],
    room: int,
    when: dt.datetime,
    sale_id: uuid.UUID,
    now: dt.datetime,
    attributes: dict[str, str] | None = None,
    codes: tuple[str, ...] = (),
    typed: tuple[str, ...] = (),
) -> Choice:
    """Inside a purchase (the member's row locked): :func:`quote`, then take one use of each
    promotion chosen. A promotion whose last use a concurrent sale took is left out and the
    choice made again, so a limit is never passed."""
    today = when.astimezone(program.zone).date()
    context = _context(program, member, store_id, lines, when, attributes or {}, tuple(dict.fromkeys(codes + typed)))
    exhausted: frozenset[str] = frozenset()
    while True:
        offers = await _offers(program, member["id"], store_id, today, typed, exhausted)
        choice = choose(offers, lines, context, today, room)
        claimed, lost = [], None
        applied = await _limits(program.id, choice.applied)
        for code in choice.applied:
            promotion_id, limited = applied[code]
            if limited:  # only a limited promotion's row is updated: others take no lock a sale waits on
                row = await fetch(
                    "UPDATE promotion SET used_count = used_count + 1"
                    " WHERE program_id = {} AND id = {} AND used_count < total_limit RETURNING id",
                    program.id,
                    promotion_id,
                )
                if not row:
                    lost = code
                    break
            claimed.append((code, promotion_id, limited))
        if lost is None:
            break
        for _, promotion_id, limited in claimed:  # undo this round's claims: the choice changes
            if limited:
                await fetch(
                    "UPDATE promotion SET used_count = used_count - 1 WHERE program_id = {} AND id = {}",
                    program.id,
                    promotion_id,
                )
        exhausted |= {lost}
    discounts = {o.code: o.discount for o in choice.outcomes if o.applied}
    if claimed:
        args: list[Any] = []
        for code, promotion_id, _ in claimed:
            args += [new_id(), program.id, promotion_id, member["id"], sale_id, store_id, discounts[code], now]
        await fetch(
            "INSERT INTO promotion_use (id, program_id, promotion_id, member_id, sale_id, store_id, discount,"
            " created_at) VALUES " + ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in claimed),
            *args,
        )
    return choice


async def give_back(program: ProgramConfig, sale_id: uuid.UUID, now: dt.datetime) -> tuple[str, ...]:
    """Inside the refund of a whole sale: its promotions' uses come back (for the member and in
    all). The codes of the promotions."""
    back = await fetch(
        "UPDATE promotion_use SET returned_at = {}"
        " WHERE program_id = {} AND sale_id = {} AND returned_at IS NULL RETURNING promotion_id",
        now,
        program.id,
        sale_id,
    )
    codes = []
    for row in back:
        found = await fetch_one("SELECT code, total_limit FROM promotion WHERE id = {}", row["promotion_id"])
        if found["total_limit"] is not None:
            await fetch(
                "UPDATE promotion SET used_count = used_count - 1 WHERE program_id = {} AND id = {}",
                program.id,
                row["promotion_id"],
            )
        codes.append(found["code"])
    return tuple(sorted(codes))


async def _limits(program_id: uuid.UUID, codes: Sequence[str]) -> dict[str, tuple[Any, bool]]:
    """(id, whether it has a limit in all) of the promotions ``codes``."""
    if not codes:
        return {}
    rows = await fetch(
        f"SELECT id, code, total_limit FROM promotion WHERE program_id = {{}} AND code IN ({placeholders(codes)})",
        program_id,
        *codes,
    )
    return {row["code"]: (row["id"], row["total_limit"] is not None) for row in rows}
