"""Venues (场馆) and pass holders' benefits across them (跨业态权益).

Every store of the merchant can be tagged as a venue of the scenic area with its business format:
``tickets`` (门票/入园), ``hotel`` (酒店), ``dining`` (餐饮), ``retail`` (零售/文创) or ``shows``
(演艺). Members earn and redeem points at every venue alike (the kernel's points are one account
per member, whatever the store; the settlement report says what each store owes the others). A
venue may give pass holders more: ``pass_points_pct`` more points, in percent of the base points of
the purchase (10 = 10% more), and ``pass_discount_pct`` off every line (a member price, 会员价:
10 = 9 折). A pass holder is anyone on a pass valid at the time of the sale (family members too).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.plugin import (
    Award,
    EarnContext,
    PriceContext,
    ProgramConfig,
    ValidationError,
    conflict_target,
    execute,
    fetch,
    fetch_one,
    get_program,
    list_stores,
    use_case,
)
from membership_tourism.errors import VenueNotFound
from membership_tourism.passes import valid_pass
from membership_tourism.settings import NAME
from membership_tourism.values import now

Format = Literal["tickets", "hotel", "dining", "retail", "shows"]
FORMATS = {
    "tickets": ("门票/入园", "Tickets"),
    "hotel": ("酒店", "Hotel"),
    "dining": ("餐饮", "Dining"),
    "retail": ("零售/文创", "Retail"),
    "shows": ("演艺", "Shows"),
}


class VenueTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A store's format and what pass holders get there (percentages)."""

    format: Format
    pass_points_pct: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 0
    pass_discount_pct: Annotated[int, msgspec.Meta(ge=0, le=90)] = 0


@dataclasses.dataclass(frozen=True)
class _PassBonus(Award):
    """Pass holders' extra points at a venue, before the base points are known: the pack's wrapper
    of the points hook turns it into ``pct`` % of the base points."""

    pct: int = 0


async def list_venues(program: ProgramConfig) -> list[dict[str, Any]]:
    """The merchant's stores by code, each with its venue terms (``format`` None: not a venue)."""
    rows = {
        row["store_id"]: row for row in await fetch("SELECT * FROM tourism_venue WHERE program_id = {}", program.id)
    }
    venues = []
    for store in await list_stores(program.merchant_id):
        row = rows.get(store["id"])
        venues.append(
            {
                "store_id": store["id"],
                "code": store["code"],
                "name": store["name"],
                "active": bool(store["active"]),
                "format": row["format"] if row else None,
                "pass_points_pct": int(row["pass_points_pct"]) if row else 0,
                "pass_discount_pct": int(row["pass_discount_pct"]) if row else 0,
                "updated_by": row["updated_by"] if row else "",
                "updated_at": row["updated_at"] if row else None,
            }
        )
    return venues


async def store_of(program: ProgramConfig, store: str | uuid.UUID) -> dict[str, Any]:
    """The merchant's store named by id or code; ``VenueNotFound`` otherwise."""
    for row in await list_stores(program.merchant_id):
        if str(row["id"]) == str(store) or row["code"] == str(store):
            return row
    raise VenueNotFound(store=str(store))


@use_case
async def save_venue(program_id: uuid.UUID, store: str | uuid.UUID, data: dict[str, Any], actor: str) -> dict:
    """Tag the store as a venue of ``format`` with pass holders' benefits (or change them)."""
    try:
        terms = msgspec.convert(data, VenueTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "venue", reason=reason) from None
    program = await get_program(program_id)
    found = await store_of(program, store)
    await execute(
        "INSERT INTO tourism_venue (store_id, program_id, format, pass_points_pct, pass_discount_pct, updated_by,"
        " updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT "
        + await conflict_target("store_id")
        + " DO UPDATE SET"
        " program_id = excluded.program_id, format = excluded.format, pass_points_pct = excluded.pass_points_pct,"
        " pass_discount_pct = excluded.pass_discount_pct, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        found["id"],
        program.id,
        terms.format,
        terms.pass_points_pct,
        terms.pass_discount_pct,
        actor[:100],
        now(),
    )
    return next(v for v in await list_venues(program) if v["store_id"] == found["id"])


async def venue_of(program_id: uuid.UUID, store_id: uuid.UUID) -> dict[str, Any] | None:
    """The store's venue terms in the program, or None."""
    return await fetch_one("SELECT * FROM tourism_venue WHERE store_id = {} AND program_id = {}", store_id, program_id)


async def awards(context: EarnContext) -> list[Award]:
    """Pass holders' extra points at the sale's venue (priced by :func:`priced`)."""
    venue = await venue_of(context.program.id, context.store_id)
    if venue is None or not venue["pass_points_pct"]:
        return []
    if await valid_pass(context.program, context.member_id, context.occurred_at) is None:
        return []
    pct = int(venue["pass_points_pct"])
    label = FORMATS[venue["format"]][0]
    return [_PassBonus(f"{NAME}:pass-{venue['format']}", 0, f"年卡会员{label}积分加 {pct}%", pct=pct)]


def priced(context: EarnContext, results: list[list[Award]]) -> list[list[Award]]:
    """Every hook's awards with the pass holders' bonus priced: ``pct`` % of the base points (the
    awards of the program's ``base_rate`` rules; without rules the default rule ``base``),
    rounded down."""
    base_rules = {rule.code for rule in context.rules if rule.kind == "base_rate"} or {"base"}
    base = sum(award.points for awards in results for award in awards if award.rule in base_rules)
    out: list[list[Award]] = []
    for awards in results:
        kept = []
        for award in awards:
            if isinstance(award, _PassBonus):
                points = base * award.pct // 100
                if not points:
                    continue
                award = Award(award.rule, points, award.reason)
            kept.append(award)
        out.append(kept)
    return out


async def prices(context: PriceContext) -> list[tuple[int, int]]:
    """Pass holders' discount at the sale's venue, as member prices of every line (rounded down
    to the fen)."""
    venue = await venue_of(context.program.id, context.store_id)
    if venue is None or not venue["pass_discount_pct"]:
        return []
    if await valid_pass(context.program, context.member_id, context.occurred_at) is None:
        return []
    keep = 100 - int(venue["pass_discount_pct"])
    return [(no, line.unit_price * keep // 100) for no, line in enumerate(context.lines, 1)]
