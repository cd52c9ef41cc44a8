"""Console page for the audit log (审计日志): who did what, filtered, newest first, 50 a page.

A merchant sees entries about its programs and entries by or about its own staff."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.db import fetch, fetch_one
from membership.db.sql import escape_like
from membership.staff.roles import Permission

PAGE_SIZE = 50


def _local_day(text: str, zone: Any, days: int = 0) -> dt.datetime | None:
    """The UTC start of local day ``text`` (+ ``days``); None when empty or not a date."""
    try:
        day = dt.date.fromisoformat(text.strip()) + dt.timedelta(days=days)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


@get("/audit", opt={"permission": Permission.VIEW_AUDIT_LOG})
async def audit_page(
    request: Request,
    actor: FromQuery[str] = "",
    action: FromQuery[str] = "",
    object_id: FromQuery[str] = "",
    since: FromQuery[str] = "",
    until: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    """The merchant's audit entries; filters: actor and action (prefix, e.g. ``member.``), object
    id, and local dates from/to (inclusive)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    where = [
        "(a.program_id IN (SELECT id FROM program WHERE merchant_id = {})"
        " OR a.actor IN (SELECT 'staff:' || username FROM staff WHERE merchant_id = {})"
        " OR (a.object_type = 'staff' AND a.object_id IN (SELECT CAST(id AS TEXT) FROM staff WHERE merchant_id = {})))"
    ]
    args: list[Any] = [staff.merchant_id] * 3
    for column, value, pattern in (("actor", actor, "{}%"), ("action", action, "{}%"), ("object_id", object_id, "{}")):
        if value.strip():
            where.append(f"a.{column} LIKE {{}} ESCAPE '\\'")
            args.append(pattern.format(escape_like(value.strip())))
    start, end = _local_day(since, program.zone), _local_day(until, program.zone, days=1)
    unreadable = (since.strip() and start is None) or (until.strip() and end is None)
    if start:
        where.append("a.occurred_at >= {}")
        args.append(start)
    if end:
        where.append("a.occurred_at < {}")
        args.append(end)
    condition = " AND ".join(where)
    page = max(1, page)
    total = (await fetch_one(f"SELECT COUNT(*) AS n FROM audit_log a WHERE {condition}", *args))["n"]
    entries = await fetch(
        "SELECT a.occurred_at, a.actor, a.action, a.object_type, a.object_id, a.details FROM audit_log a"
        f" WHERE {condition} ORDER BY a.occurred_at DESC LIMIT {{}} OFFSET {{}}",
        *args,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    for entry in entries:
        details = entry["details"]
        entry["details"] = json.loads(details) if isinstance(details, str) else details or {}
    filters = {"actor": actor, "action": action, "object_id": object_id, "since": since, "until": until}
    return forms.page(
        request,
        "audit/log.html",
        "audit",
        program=program,
        entries=entries,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        error=i18n.gettext("Use the form 1990-05-17.") if unreadable else "",  # that date filter is left out
    )


ROUTES = [audit_page]
