"""The report interface: a named, set-based query over one program."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, ClassVar


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

    Reports run set-based SQL in the database (never a Python loop over members).

    Example::

        class GenderMix(Report):
            name = "gender_mix"
            title_zh, title_en = "性别分布", "Gender mix"

            async def run(self, program_id, params):
                rows = await fetch("SELECT gender, COUNT(*) AS n FROM member "
                                   "WHERE program_id = {} GROUP BY gender", program_id)
                return ReportResult(["gender", "members"], [[r["gender"], r["n"]] for r in rows])
    """

    name: ClassVar[str] = ""
    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """Compute the report for ``program_id``."""
        raise NotImplementedError
