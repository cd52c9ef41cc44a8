"""A job worker in its own process, for tests: ``python tests/job_worker.py DATABASE_URL NOW GO_FILE``.

It registers a slow job (it writes an audit entry, then sleeps a second), waits until
``GO_FILE`` exists so that several workers start together, runs one scheduler tick as of ``NOW``
and prints what the tick did as JSON.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

from membership import hookimpl
from membership.audit import service as audit
from membership.config import Settings
from membership.db import close_database, open_database, use_case
from membership.jobs.interface import Job, JobResult
from membership.jobs.scheduler import tick
from membership.plugins import hooks


class SlowJob(Job):
    name = "slow-job"
    description = "writes one audit entry, then takes a second"
    schedule = "0 3 * * *"

    async def run(self, now, progress):
        await use_case(audit.record)("job", "test.slow_job", "job", "slow-job")
        await asyncio.sleep(1)
        return JobResult(1, "slow job done")


class Plugin:
    @hookimpl
    def membership_register_jobs(self):
        return [SlowJob]


def _wait_for(go: Path) -> None:
    while not go.exists():
        time.sleep(0.01)


async def main(url: str, now: str, go: str) -> None:
    hooks().register(Plugin(), name="slow-job")
    await open_database(Settings(database_url=url, secret_key="x" * 43))
    try:
        await asyncio.to_thread(_wait_for, Path(go))
        outcomes = await tick("Asia/Shanghai", dt.datetime.fromisoformat(now))
        ran = {o.name: ("ran" if o.result else "held" if o.held_by else "done") for o in outcomes}
        print(json.dumps(ran))
    finally:
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
