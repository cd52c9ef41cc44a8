"""A member's spend at a glance (消费概况): what they spent in all (net of refunds), how many
visits (purchases not wholly refunded), the average ticket (客单价), their first and last visit
(最近到店) and what they spent over the last 365 days — one statement over their sales."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.db import fetch_one


@dataclasses.dataclass(frozen=True)
class SpendSummary:
    """Amounts in minor units; ``average`` is ``total ÷ visits`` rounded down (0 without visits)."""

    total: int
    visits: int
    average: int
    first_visit: dt.datetime | None
    last_visit: dt.datetime | None
    last_year: int


def _moment(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))  # SQLite's MIN/MAX give text
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def spend_summary(member_id: uuid.UUID, now: dt.datetime | None = None) -> SpendSummary:
    """The member's spend, from their sales."""
    year_ago = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=365)
    row = await fetch_one(
        "SELECT CAST(COALESCE(SUM(total - refunded_amount), 0) AS BIGINT) AS total,"
        " COALESCE(SUM(CASE WHEN status <> 'refunded' THEN 1 ELSE 0 END), 0) AS visits,"
        " MIN(occurred_at) AS first_visit, MAX(occurred_at) AS last_visit,"
        " CAST(COALESCE(SUM(CASE WHEN occurred_at >= {} THEN total - refunded_amount ELSE 0 END), 0) AS BIGINT)"
        " AS last_year FROM sale WHERE member_id = {}",
        year_ago,
        member_id,
    )
    total, visits = int(row["total"]), int(row["visits"])
    return SpendSummary(
        total,
        visits,
        total // visits if visits else 0,
        _moment(row["first_visit"]),
        _moment(row["last_visit"]),
        int(row["last_year"]),
    )
