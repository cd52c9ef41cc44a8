"""The pack's monthly job: the points statements of the month that just ended, for every program the
pack is on for."""

from __future__ import annotations

import datetime as dt

from membership.plugin import Job, JobResult, plugin_programs
from membership_finance.settings import NAME
from membership_finance.statements import build_month, closed_month


class StatementsJob(Job):
    """积分对账单：上月对账单 (build last month's points statements)."""

    name = "finance-statements"
    description = "生成上月积分对账单 / build last month's points statements"
    schedule = "30 2 1 * *"  # on the 1st of each month at 02:30

    async def run(self, now: dt.datetime, progress) -> JobResult:
        """Build the statements of the month before ``now`` (local to each program) for every
        program the pack is on for; safe to run twice (a month rebuilt replaces its statements)."""
        programs = await plugin_programs(NAME)
        built = 0
        months = set()
        for done, program in enumerate(programs, start=1):
            month = closed_month(program, now)
            months.add(month)
            built += await build_month(program, month, f"job:{self.name}")
            progress(done, len(programs))
        summary = f"{built} 份积分对账单（{'、'.join(sorted(months)) or '-'}） / {built} statements"
        return JobResult(built, summary)
