"""Built-in: member care (:mod:`membership.care`): the ticket escalation job, the job that forgets
what erased members wrote, and the satisfaction trend report."""

from __future__ import annotations

from membership.analytics.interface import Report
from membership.care.jobs import EscalateTickets, ForgetErasedFeedback
from membership.care.reports import SatisfactionTrend
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job


@hookimpl(trylast=True)
def membership_register_jobs() -> list[type[Job]]:
    """``escalate-tickets`` (service tickets past their response time, every five minutes) and
    ``forget-erased-feedback`` (erased members' survey comments and ticket texts, nightly)."""
    return [EscalateTickets, ForgetErasedFeedback]


@hookimpl(trylast=True)
def membership_register_reports() -> list[type[Report]]:
    """``satisfaction_trend`` (NPS and CSAT per survey and week)."""
    return [SatisfactionTrend]
