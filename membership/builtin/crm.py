"""Built-in: the CRM's job (:mod:`membership.crm`)."""

from __future__ import annotations

from membership.crm.jobs import RefreshMemberScores
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``refresh-member-scores``: RFM scores, lifecycle stages and rule tags."""
    return [RefreshMemberScores]
