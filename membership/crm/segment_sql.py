"""Segment rules compiled to one set-based SQL condition on ``member m`` (SQLite and PostgreSQL).

Each condition becomes a predicate on the member row or a membership test against a set of
member ids (``m.id IN (…)``), never a query per member, and is never NULL (a NULL under ``none``
would hide the member). Conditions counted over a window
(spend, visits, points, coupons used) aggregate per member once; a comparison that members
without any row also meet (``spend ≤ 100`` is true of those who bought nothing) is compiled as
"not among the members whose total fails it", so nobody is missed for having no rows.

Purchases are sales not wholly refunded; spend is what was paid less what was refunded; a window
of ``days`` is the ``days`` × 24 hours before the moment of evaluation (``now``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from membership.crm.rules import Condition, Group
from membership.db import is_sqlite
from membership.org.service import ProgramConfig

PURCHASES = "s.status <> 'refunded'"
MARKER = re.compile("\x00(\\d+)\x00")
AGGREGATES = {
    "spend": "SUM(s.total - s.refunded_amount)",
    "visits": "COUNT(*)",
    "points_earned": "SUM(s.points_earned)",
}


@dataclasses.dataclass(frozen=True)
class SegmentRef:
    """A segment a condition names: static ones are their uploaded members, rule ones their tree."""

    id: uuid.UUID
    kind: str
    definition: Group


Resolver = Callable[[str], Awaitable[SegmentRef]]


class Sql:
    """A condition being built: :meth:`bind` leaves a marker for each argument, :meth:`finish`
    turns the markers into ``{}`` placeholders with the arguments in the order the text reads
    them (fragments can then be built in any order)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any) -> str:
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def any_of(self, column: str, values: tuple[Any, ...]) -> str:
        """``column`` is one of ``values``, bound as one argument (a JSON array read by
        ``json_each`` on SQLite, an array on PostgreSQL)."""
        if is_sqlite():
            listed = [v if isinstance(v, int) else str(v) for v in values]
            return f"{column} IN (SELECT value FROM json_each({self.bind(json.dumps(listed, ensure_ascii=False))}))"
        return f"{column} = ANY({self.bind(list(values))})"

    def finish(self, text: str) -> tuple[str, list[Any]]:
        """``text`` with ``{}`` placeholders, and its arguments in order."""
        args: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            args.append(self.values[int(match[1])])
            return "{}"

        return MARKER.sub(placeholder, text), args


def member_in(subquery: str) -> str:
    """``m`` is one of the members ``subquery`` (selecting ``member_id``) lists."""
    return f"m.id IN ({subquery})"


def member_not_in(subquery: str) -> str:
    """``m`` is none of them: ``NOT IN`` on SQLite (an index built once); an anti-join on
    PostgreSQL, whose ``NOT IN (subquery)`` turns into a search per member once the set outgrows
    ``work_mem``."""
    if is_sqlite():
        return f"m.id NOT IN ({subquery})"
    return f"NOT EXISTS (SELECT 1 FROM ({subquery}) x WHERE x.member_id = m.id)"


def _compare(expression: str, bounds: tuple[int | None, int | None], sql: Sql) -> str:
    low, high = bounds
    parts = []
    if low is not None:
        parts.append(f"{expression} >= {sql.bind(low)}")
    if high is not None:
        parts.append(f"{expression} <= {sql.bind(high)}")
    return " AND ".join(parts)


def _holds_for_zero(bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or low <= 0) and (high is None or high >= 0)


def _per_member(source: str, aggregate: str, bounds: tuple[int | None, int | None], sql: Sql) -> str:
    """Members whose ``aggregate`` over their rows of ``source`` (a ``FROM … WHERE …`` with
    ``member_id``) is within ``bounds``, members without rows counting as 0."""
    if _holds_for_zero(bounds):
        having = _compare(aggregate, bounds, sql)
        return member_not_in(f"SELECT member_id {source} GROUP BY member_id HAVING NOT ({having})")
    having = _compare(aggregate, bounds, sql)
    return member_in(f"SELECT member_id {source} GROUP BY member_id HAVING {having}")


def _date(value: dt.date) -> Any:
    return value.isoformat() if is_sqlite() else value


def years_before(today: dt.date, years: int) -> dt.date:
    """The date ``years`` before ``today`` (29 February falls back to the 28th): born on or
    before it, a member is ``years`` old today."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _month(column: str) -> str:
    if is_sqlite():
        return f"CAST(strftime('%m', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(MONTH FROM {column}) AS INTEGER)"


def _tags(op: str, tags: tuple[str, ...], sql: Sql) -> str:
    if is_sqlite():
        found = f"SELECT COUNT(DISTINCT t.value) FROM json_each(m.tags) t WHERE {sql.any_of('t.value', tags)}"
        count = f"({found})"
        if op == "has_all":
            return f"{count} = {sql.bind(len(tags))}"
        return f"{count} {'>' if op == 'has_any' else '='} 0"
    function = "jsonb_exists_all" if op == "has_all" else "jsonb_exists_any"
    test = f"{function}(CAST(m.tags AS jsonb), CAST({sql.bind(list(tags))} AS text[]))"
    return f"NOT {test}" if op == "has_none" else test


def _consent(purpose: str, granted: bool, sql: Sql) -> str:
    if is_sqlite():
        expression = f"COALESCE(json_extract(m.consents, {sql.bind('$.' + purpose)}), 0) = 1"
    else:
        expression = f"COALESCE(CAST(m.consents AS jsonb) ->> {sql.bind(purpose)}, '') = 'true'"
    return expression if granted else f"NOT ({expression})"


class Compiler:
    """Compiles one program's rule trees as of ``now``."""

    def __init__(self, program: ProgramConfig, now: dt.datetime, resolve: Resolver) -> None:
        self.program = program
        self.now = now
        self.today = now.astimezone(ZoneInfo(program.time_zone)).date()
        self.resolve = resolve
        self.seen: tuple[str, ...] = ()

    async def where(self, group: Group, sql: Sql) -> str:
        """The SQL condition on ``m`` for ``group``."""
        parts = []
        for item in group.conditions:
            if isinstance(item, Group):
                parts.append(f"({await self.where(item, sql)})")
            else:
                parts.append(f"({await self.condition(item, sql)})")
        if not parts:
            return "1 = 1"
        if group.match == "none":
            return "NOT (" + " OR ".join(parts) + ")"
        return (" AND " if group.match == "all" else " OR ").join(parts)

    def since(self, days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def sales(self, sql: Sql, days: int | None, extra: str = "") -> str:
        """``FROM sale s WHERE …``: the program's purchases up to now (and within ``days``)."""
        where = f"FROM sale s WHERE s.program_id = {sql.bind(self.program.id)}"
        if days is not None:
            where += f" AND s.occurred_at >= {sql.bind(self.since(days))}"
        where += f" AND s.occurred_at <= {sql.bind(self.now)} AND {PURCHASES}{extra}"
        return where

    def scores(self, sql: Sql, condition: str) -> str:
        return member_in(
            f"SELECT member_id FROM member_score WHERE program_id = {sql.bind(self.program.id)} AND {condition}"
        )

    async def condition(self, c: Condition, sql: Sql) -> str:
        field, op, value = c.field, c.op, c.value
        negate = op == "not_in"
        if field in ("gender", "source_channel"):
            test = sql.any_of(f"m.{field}", value)
            return f"NOT {test}" if negate else test
        if field == "age":
            low, high = value
            parts = ["m.birthday IS NOT NULL"]
            if low is not None:
                parts.append(f"m.birthday <= {sql.bind(_date(years_before(self.today, low)))}")
            if high is not None:
                parts.append(f"m.birthday > {sql.bind(_date(years_before(self.today, high + 1)))}")
            return " AND ".join(parts)
        if field == "enrolled":
            return f"m.created_at {'>=' if op == 'within_days' else '<'} {sql.bind(self.since(value))}"
        if field == "tag":
            return _tags(op, value, sql)
        if field in ("tier", "enrolled_store"):  # columns that may be NULL: never a NULL answer
            column = "m.tier" if field == "tier" else "m.created_store_id"
            test = sql.any_of(column, value)
            return f"({column} IS NULL OR NOT {test})" if negate else f"({column} IS NOT NULL AND {test})"
        if field == "bought_at_store":
            source = self.sales(sql, c.days)
            subquery = f"SELECT s.member_id {source} AND {sql.any_of('s.store_id', value)}"
            return member_not_in(subquery) if negate else member_in(subquery)
        if field in AGGREGATES:
            return _per_member(self.sales(sql, c.days), AGGREGATES[field], value, sql)
        if field == "points_balance":
            source = f"FROM ledger_account WHERE program_id = {sql.bind(self.program.id)} AND kind = 'points'"
            return _per_member(source + " AND member_id IS NOT NULL", "SUM(balance)", value, sql)
        if field == "last_purchase":
            subquery = f"SELECT s.member_id {self.sales(sql, None if op == 'never' else value)}"
            return member_in(subquery) if op == "within_days" else member_not_in(subquery)
        if field == "birthday_month":
            return self.birthday(op, value, sql)
        if field in ("rfm_r", "rfm_f", "rfm_m"):
            column = field[-1]
            test = sql.any_of(column, value) if op == "in" else _compare(column, value, sql)
            return self.scores(sql, test)
        if field == "stage":
            subquery = (
                f"SELECT member_id FROM member_score WHERE program_id = {sql.bind(self.program.id)}"
                f" AND {sql.any_of('stage', value)}"
            )
            return member_not_in(subquery) if negate else member_in(subquery)
        if field == "coupons_redeemed":
            source = (
                f"FROM coupon WHERE program_id = {sql.bind(self.program.id)} AND state = 'redeemed'"
                f" AND redeemed_at >= {sql.bind(self.since(c.days))} AND redeemed_at <= {sql.bind(self.now)}"
            )
            return _per_member(source, "COUNT(*)", value, sql)
        if field == "coupons_held":
            today = _date(self.today)
            source = (
                f"FROM coupon WHERE program_id = {sql.bind(self.program.id)} AND state = 'issued'"
                f" AND valid_from <= {sql.bind(today)} AND valid_until >= {sql.bind(today)}"
            )
            return _per_member(source, "COUNT(*)", value, sql)
        if field == "segment":
            return await self.segments(value, negate, sql)
        if field == "consent":
            return _consent(value, op == "granted", sql)
        raise AssertionError(f"unknown field {field}")  # pragma: no cover - parse_definition refuses it

    def birthday(self, op: str, months: tuple[int, ...] | None, sql: Sql) -> str:
        if op != "in":
            month = self.today.month if op == "this_month" else self.today.month % 12 + 1
            months = (month,)
        assert months is not None
        solar = f"m.birthday_calendar = 'solar' AND {sql.any_of(_month('m.birthday'), months)}"
        lunar = "m.birthday_calendar = 'lunar' AND " + self.scores(sql, sql.any_of("birthday_month", months))
        return f"m.birthday IS NOT NULL AND (({solar}) OR ({lunar}))"

    async def segments(self, codes: tuple[str, ...], negate: bool, sql: Sql) -> str:
        """Members of any of the segments ``codes`` (or of none of them)."""
        parts = []
        for code in codes:
            if code in self.seen:
                from membership.crm.errors import SegmentCycle

                raise SegmentCycle(code=code)
            ref = await self.resolve(code)
            if ref.kind == "static":
                parts.append(member_in(f"SELECT member_id FROM segment_member WHERE segment_id = {sql.bind(ref.id)}"))
                continue
            self.seen = (*self.seen, code)
            try:
                parts.append(f"({await self.where(ref.definition, sql)})")
            finally:
                self.seen = self.seen[:-1]
        test = " OR ".join(parts)
        return f"NOT ({test})" if negate else test
