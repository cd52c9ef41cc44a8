"""The report interface: a named, set-based query over one program, and what its columns hold."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

#: The filters a report may take (``Report.filters``): ``dates`` (``start`` and ``end``, local
#: ISO dates, both inclusive) and ``store`` (``store_id``).
FILTERS = ("dates", "store")
#: What a column's values are: ``money`` (minor units), ``points``, ``count`` (of sales,
#: members…), ``percent`` (already in percent), ``ratio``, ``month``, ``date``, ``text``.
UNITS = ("money", "points", "count", "percent", "ratio", "month", "date", "text")


@dataclasses.dataclass(frozen=True)
class ReportColumn:
    """What one column of a report holds: ``key`` (as in :attr:`ReportResult.columns`), its heading
    in Chinese and English, its ``unit`` (one of :data:`UNITS`), whether adding it up over the
    rows means something (``total``: sales and revenue do, an average or a rate does not), and the
    names of coded values it holds (``values``: code → (Chinese, English), e.g. account kinds)."""

    key: str
    zh: str
    en: str
    unit: str = "text"
    total: bool = False
    values: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """Column names and rows; amounts stay integers in minor units."""

    columns: list[str]
    rows: list[list[Any]]

    def as_dicts(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Report:
    """Base class of reports; register subclasses with ``membership_register_reports``.

    Reports run set-based SQL in the database (never a Python loop over members). Amounts stay
    integers in minor units; ``headings`` says which columns are money, points or counts, so the
    console writes them in yuan and points with their units, and totals only what adds up.
    A report listing ``"dates"`` in ``filters`` reads ``params["start"]``/``params["end"]``, one
    listing ``"store"`` reads ``params["store_id"]`` (:func:`membership.analytics.filters.period`).

    Example::

        class GenderMix(Report):
            name = "gender_mix"
            title_zh, title_en = "性别分布", "Gender mix"
            headings = (
                ReportColumn("gender", "性别", "Gender"),
                ReportColumn("members", "会员数", "Members", unit="count", total=True),
            )

            async def run(self, program_id, params):
                rows = await fetch("SELECT gender, COUNT(*) AS n FROM member "
                                   "WHERE program_id = {} GROUP BY gender", program_id)
                return ReportResult(["gender", "members"], [[r["gender"], r["n"]] for r in rows])
    """

    name: ClassVar[str] = ""
    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    #: Its columns' headings, units and totals (a column not listed is looked up by its key in
    #: the kernel's vocabulary, :data:`membership.analytics.columns.COMMON`).
    headings: ClassVar[tuple[ReportColumn, ...]] = ()
    #: The filters it takes (of :data:`FILTERS`); the console shows those inputs.
    filters: ClassVar[tuple[str, ...]] = ()

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Compute the report for ``program_id``."""
        raise NotImplementedError
