"""Built-in: the CRM's jobs (:mod:`membership.crm`): scores and stages, campaigns."""

from __future__ import annotations

from membership.crm.campaigns import RunCampaigns
from membership.crm.jobs import RefreshMemberScores
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``refresh-member-scores`` (RFM scores, lifecycle stages, rule tags) and ``run-campaigns``."""
    return [RefreshMemberScores, RunCampaigns]
