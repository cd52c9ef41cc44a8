"""The job interface."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import ClassVar

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a job works through its chunks."""


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What one run changed: ``processed`` rows and a human summary."""

    processed: int
    summary: str


class Job:
    """Base class of jobs; register subclasses with ``membership_register_jobs``.

    A job must be safe to run twice (the second run changes nothing) and to resume after a crash
    (each chunk commits on its own).

    Example::

        class ExpireCoupons(Job):
            name = "expire-coupons"
            description = "Mark coupons past their end date as expired"

            async def run(self, now, progress):
                n = await expire_coupons(now)
                progress(n, n)
                return JobResult(n, f"{n} coupons expired")
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        """Do the work as of ``now`` (UTC), reporting progress."""
        raise NotImplementedError
