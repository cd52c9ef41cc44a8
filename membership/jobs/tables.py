"""Job leases (who runs a job now) and the record of every run."""

from piccolo.columns import UUID, BigInt, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobLease(Table, tablename="job_lease"):
    """One row per job: the worker holding it and until when. A worker takes the lease only when
    it is free or expired (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never run
    the same job at once; a worker that dies frees it when ``leased_until`` passes."""

    name = Varchar(length=64, primary_key=True)
    holder = Varchar(length=120, null=True, default=None)
    leased_until = Timestamptz(null=True, default=None)


class JobRun(Table, tablename="job_run"):
    """One run of a job: for scheduled runs, ``slot`` is the schedule time it served (unique per
    job, so a slot runs once however many workers see it due); ``as_of`` is the time the job ran
    as of (its start, or the time ``membership jobs run NAME --at …`` named; NULL for runs
    recorded before it was kept)."""

    id = UUID(primary_key=True)
    name = Varchar(length=64)
    slot = Timestamptz(null=True, default=None)
    as_of = Timestamptz(null=True, default=None)
    worker = Varchar(length=120)
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    processed = BigInt(default=0)
    summary = Text(default="")
    error = Text(default="")
