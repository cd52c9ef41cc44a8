"""Built-in: the job that delivers events from the outbox (:mod:`membership.outbox`)."""

from __future__ import annotations

from membership.hookspecs import hookimpl
from membership.jobs.interface import Job
from membership.outbox.jobs import DeliverEvents


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``deliver-events``: retries, leftovers after a crash, and clean-up."""
    return [DeliverEvents]
