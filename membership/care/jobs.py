"""Member care's jobs: escalate tickets unanswered past their response time; forget what erased
members wrote."""

from __future__ import annotations

import datetime as dt

from membership.care.tickets import escalate, forget_erased
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


class ForgetErasedFeedback(Job):
    """Erased members' survey comments and their tickets' words (subject, description, comments)
    are blanked; scores, kinds, statuses and times stay for the figures."""

    name = "forget-erased-feedback"
    description = "Blank erased members' survey comments and ticket texts (注销会员的评价与工单内容清除)"
    schedule = "50 3 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        comments, texts = await forget_erased()
        progress(comments + texts, comments + texts)
        return JobResult(
            comments + texts,
            f"清除评价留言 {comments} 条、工单内容 {texts} 条"
            f" / {comments} survey comments and {texts} ticket texts blanked",
        )
