"""The satisfaction trend report (满意度趋势): NPS and CSAT per survey and week, through the
analytics hook like every report."""

from __future__ import annotations

import uuid
from typing import Any

from membership.analytics.filters import period, store_of
from membership.analytics.interface import Report, ReportColumn, ReportResult
from membership.care import surveys
from membership.db import fetch
from membership.org.service import get_program

KIND_NAMES = {"nps": ("净推荐值 NPS", "NPS"), "csat": ("满意度 CSAT", "CSAT")}


class SatisfactionTrend(Report):
    """Per survey and week (the local Monday of the answers): answers, promoters, passives and
    detractors, NPS (% promoters − % detractors, one decimal) for NPS surveys; the average score
    (two decimals) and % satisfied (4–5) for CSAT surveys. Counted in SQL; rounded from exact
    fractions."""

    name = "satisfaction_trend"
    title_zh, title_en = "满意度趋势（NPS / CSAT）", "Satisfaction trend (NPS / CSAT)"
    headings = (
        ReportColumn("week", "周（起始日）", "Week of", "date"),
        ReportColumn("survey", "调查", "Survey"),
        ReportColumn("kind", "类型", "Kind", values=KIND_NAMES),
        ReportColumn("answers", "回答数", "Answers", "count", total=True),
        ReportColumn("promoters", "推荐者", "Promoters", "count", total=True),
        ReportColumn("passives", "中立者", "Passives", "count", total=True),
        ReportColumn("detractors", "贬损者", "Detractors", "count", total=True),
        ReportColumn("nps", "NPS", "NPS", "percent"),
        ReportColumn("csat", "平均分", "Average score", "ratio"),
        ReportColumn("satisfied_pct", "满意率", "Satisfied", "percent"),
    )
    filters = ("dates", "store")

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Weeks oldest first, then surveys by code."""
        program = await get_program(program_id)
        chosen = period(program, params)
        kinds = {
            r["code"]: (r["name"], r["kind"])
            for r in await fetch("SELECT code, name, kind FROM survey WHERE program_id = {}", program_id)
        }
        rows = []
        for code, (name, kind) in sorted(kinds.items()):
            for f in await surveys.figures(program_id, "week", code, chosen.since, chosen.until, store_of(params)):
                shown = f.shown()
                nps = kind == "nps"
                rows.append(
                    [
                        f.group,
                        name,
                        kind,
                        f.answers,
                        f.promoters if nps else None,
                        f.passives if nps else None,
                        f.detractors if nps else None,
                        shown["nps"] if nps else None,
                        None if nps else shown["csat"],
                        None if nps else shown["satisfied_pct"],
                    ]
                )
        rows.sort(key=lambda r: (str(r[0]), r[1]))
        return ReportResult([c.key for c in self.headings], rows)
