"""RFM scores and lifecycle stages (会员价值与生命周期), refreshed by the ``refresh-member-scores``
job in set-based SQL.

**RFM** looks at each program's purchases (sales not wholly refunded) in its window
(``rfm_window_days``): recency is the last purchase, frequency the number of purchases, monetary
the net spend. Each is scored 1-5 by quintile among the members who bought in the window: a
value's score is 1 plus the number of the four quintile cuts it is above, the k-th cut being the
value ranked ⌈k·n/5⌉ of the n buyers in ascending order. Equal values score alike (a crowd of
one-visit members all score F 1). Members who bought nothing in the window have no scores.

**Stages**: *new* (enrolled within ``new_days``), else *active* (bought within
``dormant_after_days``), else *dormant* (bought, or never having bought enrolled, within
``churned_after_days``), else *churned* (:class:`membership.crm.settings.CrmSettings`).
``stage_since`` is when a refresh first saw the member in that stage.

How it runs: one read computes the twelve cut values (nothing is locked: tills go on); then the
members are walked in the order of their ids, a chunk per transaction (paced like every big job,
:class:`membership.jobs.interface.Pace`; in parallel parts on PostgreSQL), each chunk one
``INSERT … SELECT … ON CONFLICT DO UPDATE`` that aggregates the chunk's purchases from the index
``sale_member_activity`` alone and rewrites only the rows whose figures changed. A refresh as of
a moment before the program's last one changes nothing (jobs only move forward).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from membership.crm.lunar import lunar_birthday_month
from membership.crm.settings import CrmSettings, crm_settings
from membership.db import fetch, fetch_one, is_sqlite, job_chunk, rows_table, use_case
from membership.db.engine import current_settings
from membership.db.sql import json_column
from membership.jobs.interface import Pace, Progress, in_parts
from membership.org.service import ProgramConfig

LOWEST_ID = uuid.UUID(int=0)
HIGHEST_ID = uuid.UUID(int=2**128 - 1)
METRICS = ("r", "f", "m")
PURCHASES = "status <> 'refunded'"


@dataclasses.dataclass(frozen=True)
class Cuts:
    """The four quintile cuts of each metric (``r`` on the last purchase time, ``f`` on the
    number of purchases, ``m`` on net spend) among ``buyers`` members."""

    buyers: int
    r: tuple[Any, ...] = ()
    f: tuple[int, ...] = ()
    m: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The cuts as ``crm_refresh.cuts`` keeps them (times as ISO text)."""
        return {
            "buyers": self.buyers,
            "r": [value.isoformat() if isinstance(value, dt.datetime) else str(value) for value in self.r],
            "f": list(self.f),
            "m": list(self.m),
        }


def _bounds(settings: CrmSettings, now: dt.datetime) -> dict[str, dt.datetime]:
    day = dt.timedelta(days=1)
    return {
        "window": now - settings.rfm_window_days * day,
        "horizon": now - settings.horizon_days * day,
        "new": now - settings.new_days * day,
        "active": now - settings.dormant_after_days * day,
        "churn": now - settings.churned_after_days * day,
    }


async def quintile_cuts(program: ProgramConfig, window_start: dt.datetime, now: dt.datetime) -> Cuts:
    """The cuts among the members who bought between ``window_start`` and ``now``: one read of
    the purchases (their index alone), one sort per metric."""
    positions = ", ".join(f"({k} * n + 4) / 5" for k in range(1, 5))
    rows = await fetch(
        "WITH a AS (SELECT member_id, MAX(occurred_at) AS r, COUNT(*) AS f, SUM(total - refunded_amount) AS m"
        f" FROM sale WHERE program_id = {{}} AND occurred_at >= {{}} AND occurred_at <= {{}} AND {PURCHASES}"
        " GROUP BY member_id),"
        " ranked AS (SELECT r, f, m, ROW_NUMBER() OVER (ORDER BY r) AS rr, ROW_NUMBER() OVER (ORDER BY f) AS rf,"
        " ROW_NUMBER() OVER (ORDER BY m) AS rm, COUNT(*) OVER () AS n FROM a)"
        f" SELECT n, r, f, m, rr, rf, rm FROM ranked WHERE rr IN ({positions}) OR rf IN ({positions})"
        f" OR rm IN ({positions})",
        program.id,
        window_start,
        now,
    )
    if not rows:
        return Cuts(0)
    n = int(rows[0]["n"])
    wanted = [(k * n + 4) // 5 for k in range(1, 5)]

    def cut(metric: str) -> tuple[Any, ...]:
        at = {int(row[f"r{metric}"]): row[metric] for row in rows}
        return tuple(at[position] for position in wanted)

    return Cuts(n, cut("r"), tuple(int(v) for v in cut("f")), tuple(int(v) for v in cut("m")))


def _score_sql(column: str, cuts: tuple[Any, ...], args: list[Any]) -> str:
    if not cuts:
        return "NULL"
    args.extend(cuts)
    steps = " + ".join(f"CASE WHEN {column} > {{}} THEN 1 ELSE 0 END" for _ in cuts)
    return f"CASE WHEN a.f > 0 THEN 1 + {steps} END"


def _chunk_statement(program: ProgramConfig, cuts: Cuts, bounds: dict[str, dt.datetime], now: dt.datetime):
    """(SQL, arguments before the chunk's bounds): score the members with ids in (after, last]."""
    args: list[Any] = []
    scores = [_score_sql("a.r", cuts.r, args), _score_sql("a.f", cuts.f, args), _score_sql("a.m", cuts.m, args)]
    args += [bounds["new"], bounds["active"], bounds["churn"], bounds["churn"], now]
    stage = (
        "CASE WHEN a.created_at >= {} THEN 'new' WHEN a.r >= {} THEN 'active'"
        " WHEN a.r >= {} OR (a.r IS NULL AND a.created_at >= {}) THEN 'dormant' ELSE 'churned' END"
    )
    member_program = "+m.program_id" if is_sqlite() else "m.program_id"
    changed = " OR ".join(
        f"member_score.{c} IS DISTINCT FROM excluded.{c}"
        for c in ("last_purchase_at", "frequency", "monetary", "r", "f", "m", "stage")
    )
    # one index seek per member to the start of the horizon (sale_member_activity: program,
    # member, time), so older history is never read
    sql = (
        "INSERT INTO member_score (member_id, program_id, last_purchase_at, frequency, monetary, r, f, m, stage,"
        f" stage_since) SELECT a.id, a.program_id, a.r, a.f, a.m, {scores[0]}, {scores[1]}, {scores[2]}, {stage},"
        " {} FROM (SELECT m.id, m.program_id, m.created_at, MAX(s.occurred_at) AS r,"
        " COALESCE(SUM(CASE WHEN s.occurred_at >= {} THEN 1 ELSE 0 END), 0) AS f,"
        " COALESCE(SUM(CASE WHEN s.occurred_at >= {} THEN s.total - s.refunded_amount ELSE 0 END), 0) AS m"
        " FROM member m LEFT JOIN sale s ON s.program_id = {} AND s.member_id = m.id AND s.occurred_at >= {}"
        f" AND s.occurred_at <= {{}} AND s.{PURCHASES} WHERE {member_program} = {{}} AND m.id > {{}} AND m.id <= {{}}"
        " GROUP BY m.id, m.program_id, m.created_at) a WHERE true"
        " ON CONFLICT (member_id, program_id) DO UPDATE SET last_purchase_at = excluded.last_purchase_at,"
        " frequency = excluded.frequency, monetary = excluded.monetary, r = excluded.r, f = excluded.f,"
        " m = excluded.m, stage = excluded.stage, stage_since = CASE WHEN member_score.stage = excluded.stage"
        f" THEN member_score.stage_since ELSE excluded.stage_since END WHERE {changed} RETURNING member_id"
    )
    args += [bounds["window"], bounds["window"], program.id]
    return sql, args


def _id(value: uuid.UUID) -> Any:
    return str(value) if is_sqlite() else value


@job_chunk
async def _score_chunk(
    statement: tuple[str, list[Any]],
    program: ProgramConfig,
    bounds: dict[str, dt.datetime],
    now: dt.datetime,
    after: uuid.UUID,
    end: uuid.UUID,
    size: int,
) -> tuple[int, int, uuid.UUID | None]:
    """Score the next ``size`` members after ``after`` (up to ``end``): (members, rows changed,
    the last member's id; None when there were none)."""
    # (+program_id: SQLite walks the ids' index, not all of the program's members sorted per chunk;
    # PostgreSQL has no max() of uuids, but their text sorts the same)
    member_program, last_id = ("+program_id", "MAX(id)") if is_sqlite() else ("program_id", "MAX(CAST(id AS text))")
    last = await fetch_one(
        f"SELECT {last_id} AS id, COUNT(*) AS n FROM (SELECT id FROM member WHERE {member_program} = {{}}"
        " AND id > {} AND id <= {} ORDER BY id LIMIT {}) x",
        program.id,
        _id(after),
        _id(end),
        size,
    )
    if last is None or not last["n"]:
        return 0, 0, None
    upto = uuid.UUID(str(last["id"]))
    sql, args = statement
    changed = await fetch(sql, *args, bounds["horizon"], now, program.id, _id(after), _id(upto))
    return int(last["n"]), len(changed), upto


async def _part_bounds(program: ProgramConfig, parts: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``parts`` ranges of member ids, (after, up to], about as many members each."""
    if parts == 1:
        return [(LOWEST_ID, HIGHEST_ID)]
    counted = await fetch_one("SELECT COUNT(*) AS n FROM member WHERE program_id = {}", program.id)
    n = int(counted["n"]) if counted else 0
    edges = [LOWEST_ID]
    for k in range(1, parts):
        row = await fetch_one(
            "SELECT id FROM member WHERE program_id = {} ORDER BY id OFFSET {} LIMIT 1", program.id, k * n // parts
        )
        edges.append(uuid.UUID(str(row["id"])) if row else HIGHEST_ID)
    edges.append(HIGHEST_ID)
    return [(edges[k], edges[k + 1]) for k in range(parts)]


async def _lunar_birthday_months(program: ProgramConfig, now: dt.datetime) -> int:
    """Set the month members with a lunar (农历) birthday celebrate in this year (local); solar
    birthdays need nothing (segments read their month from the date). How many changed."""
    year = now.astimezone(ZoneInfo(program.time_zone)).year
    rows = await fetch(
        "SELECT m.id, m.birthday, s.birthday_month FROM member m JOIN member_score s ON s.program_id = m.program_id"
        " AND s.member_id = m.id"
        " WHERE m.program_id = {} AND s.program_id = {} AND m.birthday_calendar = 'lunar' AND m.birthday IS NOT NULL",
        program.id,
        program.id,
    )
    changes = []
    for row in rows:
        birthday = row["birthday"]
        if isinstance(birthday, str):
            birthday = dt.date.fromisoformat(birthday[:10])
        month = lunar_birthday_month(birthday, year)
        if row["birthday_month"] != month:
            changes.append((str(row["id"]), month))
    for start in range(0, len(changes), 5000):
        await _set_months(program.id, changes[start : start + 5000])
    return len(changes)


@job_chunk
async def _set_months(program_id: uuid.UUID, changes: list[tuple[str, int]]) -> None:
    table, args = rows_table([("id", "uuid"), ("month", "smallint")], changes)
    cast = "t.id" if is_sqlite() else "CAST(t.id AS uuid)"
    await fetch(
        f"UPDATE member_score SET birthday_month = t.month FROM {table}"
        f" WHERE member_score.program_id = {{}} AND member_score.member_id = {cast}",
        *args,
        program_id,
    )


@use_case
async def _record(program: ProgramConfig, now: dt.datetime, cuts: Cuts) -> None:
    await fetch(
        "INSERT INTO crm_refresh (program_id, computed_at, buyers, cuts) VALUES ({}, {}, {}, {})"
        " ON CONFLICT (program_id) DO UPDATE SET computed_at = excluded.computed_at, buyers = excluded.buyers,"
        " cuts = excluded.cuts",
        program.id,
        now,
        cuts.buyers,
        json.dumps(cuts.as_json()),
    )


async def last_refresh(program_id: uuid.UUID) -> dict[str, Any] | None:
    """When the program's scores were last refreshed (``computed_at``), among how many buyers,
    with the cuts used; None before the first refresh."""
    row = await fetch_one("SELECT computed_at, buyers, cuts FROM crm_refresh WHERE program_id = {}", program_id)
    if row is not None:
        row["cuts"] = json_column(row["cuts"]) or {}
    return row


@dataclasses.dataclass(frozen=True)
class Refreshed:
    """What a refresh of one program did: members walked, rows written, lunar months set."""

    members: int
    changed: int
    birthdays: int
    skipped: bool = False


async def refresh_program(
    program: ProgramConfig,
    now: dt.datetime,
    progress: Progress = lambda done, total: None,
    chunk_size: int | None = None,
) -> Refreshed:
    """Refresh one program's scores and stages as of ``now`` (see the module's docstring)."""
    last = await last_refresh(program.id)
    if last is not None and _aware(last["computed_at"]) > now:
        return Refreshed(0, 0, 0, skipped=True)
    settings = crm_settings(program)
    bounds = _bounds(settings, now)
    cuts = await quintile_cuts(program, bounds["window"], now)
    statement = _chunk_statement(program, cuts, bounds, now)
    counted = await fetch_one("SELECT COUNT(*) AS n FROM member WHERE program_id = {}", program.id)
    total = int(counted["n"]) if counted else 0
    done = {"members": 0, "changed": 0}
    progress(0, total)

    async def work(part: int, parts: int) -> None:
        after, end = ranges[part]
        pace = Pace(chunk_size, workers=parts)
        while True:
            members, changed, upto = await _score_chunk(statement, program, bounds, now, after, end, pace.size)
            if upto is None:
                return
            done["members"] += members
            done["changed"] += changed
            progress(done["members"], total)
            after = upto
            await pace.rest()

    ranges = await _part_bounds(program, 1 if is_sqlite() else current_settings().job_workers)
    await in_parts(work)
    birthdays = await _lunar_birthday_months(program, now)
    await _record(program, now, cuts)
    return Refreshed(done["members"], done["changed"], birthdays)


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def member_score(member_id: uuid.UUID) -> dict[str, Any] | None:
    """A member's scores and stage as of the last refresh; None when none covered them yet."""
    return await fetch_one(
        "SELECT s.last_purchase_at, s.frequency, s.monetary, s.r, s.f, s.m, s.stage, s.stage_since,"
        " r.computed_at FROM member_score s LEFT JOIN crm_refresh r ON r.program_id = s.program_id"
        " WHERE s.member_id = {}",
        member_id,
    )


async def stage_counts(program_id: uuid.UUID) -> dict[str, int]:
    """Members per lifecycle stage as of the last refresh."""
    rows = await fetch("SELECT stage, COUNT(*) AS n FROM member_score WHERE program_id = {} GROUP BY stage", program_id)
    return {row["stage"]: int(row["n"]) for row in rows}
