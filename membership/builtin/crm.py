"""Built-in: the CRM's jobs (:mod:`membership.crm`): scores and stages, campaigns, segment sizes;
and its reports."""

from __future__ import annotations

from membership.analytics.interface import Report
from membership.crm.campaigns import RunCampaigns
from membership.crm.jobs import RefreshMemberScores
from membership.crm.reports import CampaignConversion, RecordSegmentSizes, SegmentSizes
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``refresh-member-scores`` (RFM scores, lifecycle stages, rule tags), ``run-campaigns`` and
    ``record-segment-sizes``."""
    return [RefreshMemberScores, RunCampaigns, RecordSegmentSizes]


@hookimpl(trylast=True)
def membership_register_reports() -> list[type[Report]]:
    """Segment sizes over time and campaign conversion."""
    return [SegmentSizes, CampaignConversion]
