"""The CRM's job: members' RFM scores and lifecycle stages, then the tags rules give."""

from __future__ import annotations

import datetime as dt

from membership.crm.scores import refresh_program
from membership.crm.tags import apply_tag_rules
from membership.jobs.interface import Job, JobResult, Progress
from membership.org.service import list_programs


async def refresh_member_scores(now: dt.datetime, progress: Progress, chunk_size: int | None = None) -> JobResult:
    """Every program's scores and stages as of ``now``, then its tag rules."""
    members = changed = given = taken = 0
    for program in await list_programs():
        refreshed = await refresh_program(program, now, progress, chunk_size)
        if refreshed.skipped:
            continue
        members, changed = members + refreshed.members, changed + refreshed.changed
        added, removed = await apply_tag_rules(program, now)
        given, taken = given + added, taken + removed
    return JobResult(
        changed,
        f"刷新 {members} 位会员的 RFM 与生命周期（{changed} 位有变化），自动标签新增 {given}、移除 {taken}"
        f" / {members} members' RFM and stages refreshed ({changed} changed); rule tags given {given}, taken {taken}",
    )


class RefreshMemberScores(Job):
    """As of T: RFM over the window before T and stages as of T, for every member; then each tag
    rule's segment as of T. A run as of a time before a program's last refresh leaves it as it is."""

    name = "refresh-member-scores"
    description = "RFM scores, lifecycle stages and rule tags of every member (会员价值与生命周期、自动标签)"
    schedule = "40 2 * * *"

    async def run(self, now: dt.datetime, progress: Progress) -> JobResult:
        return await refresh_member_scores(now, progress)
