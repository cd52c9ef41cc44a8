"""The settlement report (财务清算): per period and store pair, what the issuing store owes the
store where its points or stored value were spent. Entries are written with the spending posting
(:func:`membership.ledger.service.settle`); this sums them in SQL."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import uuid

from membership.db import fetch
from membership.org.service import ProgramConfig


@dataclasses.dataclass(frozen=True)
class SettlementLine:
    """One store pair and kind over the period: ``issuer`` owes ``redeemer`` ``value`` (minor units)."""

    issuer_store_id: uuid.UUID
    issuer_code: str
    redeemer_store_id: uuid.UUID
    redeemer_code: str
    kind: str
    units: int
    value: int


async def report(program: ProgramConfig, start: dt.date, end: dt.date) -> list[SettlementLine]:
    """Lines for local dates ``start``..``end`` (inclusive), by issuer, redeemer and kind."""
    since = dt.datetime.combine(start, dt.time(), tzinfo=program.zone).astimezone(dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=program.zone).astimezone(dt.UTC)
    rows = await fetch(
        "SELECT s.issuer_store_id, i.code AS issuer_code, s.redeemer_store_id, r.code AS redeemer_code, s.kind,"
        " CAST(SUM(s.units) AS BIGINT) AS units, CAST(SUM(s.value) AS BIGINT) AS value FROM settlement_entry s"
        " JOIN store i ON i.id = s.issuer_store_id JOIN store r ON r.id = s.redeemer_store_id"
        " WHERE s.program_id = {} AND s.created_at >= {} AND s.created_at < {}"
        " GROUP BY s.issuer_store_id, i.code, s.redeemer_store_id, r.code, s.kind"
        " ORDER BY i.code, r.code, s.kind",
        program.id,
        since,
        until,
    )
    return [
        SettlementLine(
            row["issuer_store_id"],
            row["issuer_code"],
            row["redeemer_store_id"],
            row["redeemer_code"],
            row["kind"],
            int(row["units"]),
            int(row["value"]),
        )
        for row in rows
    ]


def as_csv(lines: list[SettlementLine]) -> str:
    """The lines as CSV (UTF-8 with a header; amounts in minor units, as integers), then a
    ``TOTAL`` row with the sum of the values (units differ by kind, so they are not summed)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["issuer_store", "redeemer_store", "kind", "units", "value_minor"])
    for line in lines:
        writer.writerow([line.issuer_code, line.redeemer_code, line.kind, line.units, line.value])
    writer.writerow(["TOTAL", "", "", "", sum(line.value for line in lines)])
    return out.getvalue()
