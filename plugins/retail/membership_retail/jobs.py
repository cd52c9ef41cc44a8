"""The pack's scheduled jobs: repurchase reminders, and forgetting receipts nobody claimed."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from membership.plugin import Job, JobResult, plugin_programs
from membership_retail import receipts, repurchase
from membership_retail.settings import NAME, settings_of


class RepurchaseReminders(Job):
    """复购提醒: recompute every member's purchase cycle per category and remind those due."""

    name: ClassVar[str] = "retail-repurchase"
    description: ClassVar[str] = "Purchase cycles per member and category; repurchase reminders due (retail pack)"
    schedule: ClassVar[str] = "30 8 * * *"  # daily at 08:30, when a message is welcome

    async def run(self, now: dt.datetime, progress) -> JobResult:
        """For each program the pack is on in: cycles, then reminders (each program in its own
        transactions)."""
        programs = await plugin_programs(NAME)
        cycles = reminders = 0
        for done, program in enumerate(programs, 1):
            cycles += await repurchase.compute_cycles(program, now)
            if settings_of(program).reminders:
                reminders += await repurchase.remind(program, now)
            progress(done, len(programs))
        return JobResult(reminders, f"{cycles} purchase cycles, {reminders} reminders")


class ForgetReceipts(Job):
    """Delete the receipts without a member that nobody claimed in time."""

    name: ClassVar[str] = "retail-forget-receipts"
    description: ClassVar[str] = "Delete unclaimed receipts past twice the claim window (retail pack)"
    schedule: ClassVar[str] = "20 3 * * *"

    async def run(self, now: dt.datetime, progress) -> JobResult:
        """For each program the pack is on in, one statement."""
        programs = await plugin_programs(NAME)
        gone = 0
        for done, program in enumerate(programs, 1):
            gone += await receipts.forget_receipts(program, now)
            progress(done, len(programs))
        return JobResult(gone, f"{gone} unclaimed receipts forgotten")
