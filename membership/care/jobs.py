"""Member care's job: escalate tickets unanswered past their response time."""

from __future__ import annotations

import datetime as dt

from membership.care.tickets import escalate
from membership.jobs.interface import Job, JobResult, Progress


class EscalateTickets(Job):
    """As of T: tickets whose response time passed by T and that nobody answered are escalated
    (each once), and their assignee's manager and the owners find a notice in the console."""

    name = "escalate-tickets"
    description = "Escalate service tickets past their response time (工单超时升级)"
    schedule = "*/5 * * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        done = await escalate(now)
        progress(done.tickets, done.tickets)
        return JobResult(
            done.tickets,
            f"升级工单 {done.tickets} 张，提醒 {done.notices} 条"
            f" / {done.tickets} tickets escalated, {done.notices} notices",
        )
