"""Service tickets (服务工单): a member's complaint (投诉), enquiry (咨询) or suggestion (建议), taken
in the console or through the API, numbered in its program.

A ticket moves ``open`` → ``in_progress`` → ``resolved`` → ``closed`` (:data:`ACTIONS`; a
resolved or closed ticket can be reopened). It must be answered — started, resolved, closed or
commented on by staff — within the hours its kind and priority are given in the program's care
settings (:mod:`membership.care.settings`): ``respond_by``. The ``escalate-tickets`` job marks
each ticket still unanswered past that time escalated, once, and leaves a notice for the
assignee's store manager and the merchant's owners (:func:`escalate`). Every change is a line of
the ticket's history (``ticket_entry``) and an audit entry; closing a ticket invites the member
to the program's ticket surveys (:func:`membership.care.surveys.after_ticket`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from membership.audit import service as audit
from membership.care import surveys
from membership.care.errors import StaffNotFound, TicketNotFound, TicketTransitionRefused
from membership.care.settings import KINDS, PRIORITIES, care_settings
from membership.db import execute, fetch, fetch_one, fetch_page, new_id, use_case
from membership.errors import MemberNotFound, Reason, ValidationError
from membership.notifications import delivery
from membership.org.service import ProgramConfig, get_program

STATUSES = ("open", "in_progress", "resolved", "closed")
STATUS_NAMES = {
    "open": ("待处理", "open"),
    "in_progress": ("处理中", "in progress"),
    "resolved": ("已解决", "resolved"),
    "closed": ("已关闭", "closed"),
}
KIND_NAMES = {"complaint": ("投诉", "Complaint"), "enquiry": ("咨询", "Enquiry"), "suggestion": ("建议", "Suggestion")}
PRIORITY_NAMES = {
    "urgent": ("紧急", "Urgent"),
    "high": ("高", "High"),
    "normal": ("普通", "Normal"),
    "low": ("低", "Low"),
}


@dataclasses.dataclass(frozen=True)
class Action:
    """A move of a ticket's status: from which statuses, to which, and its name for the error."""

    to: str
    since: tuple[str, ...]
    zh: str
    en: str


ACTIONS = {
    "start": Action("in_progress", ("open",), "开始处理", "started"),
    "resolve": Action("resolved", ("open", "in_progress"), "标记为已解决", "resolved"),
    "close": Action("closed", ("open", "in_progress", "resolved"), "关闭", "closed"),
    "reopen": Action("open", ("resolved", "closed"), "重新打开", "reopened"),
}
SUBJECT_MAX, TEXT_MAX = 200, 4000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_text(field: str, value: str, most: int, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationError(field=field, reason=Reason("required", "必填"))
    if len(value) > most:
        raise ValidationError(field=field, reason=Reason(f"at most {most} characters", f"最多 {most} 个字"))
    return value


def _check_choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError(
            field=field, reason=Reason(f"one of {', '.join(choices)}", f"应为 {'、'.join(choices)} 之一")
        )
    return value


async def _staff_of(program: ProgramConfig, staff_id: uuid.UUID | None) -> uuid.UUID | None:
    """An assignee: an active staff member of the program's merchant."""
    if staff_id is None:
        return None
    row = await fetch_one(
        "SELECT id FROM staff WHERE id = {} AND merchant_id = {} AND disabled_at IS NULL", staff_id, program.merchant_id
    )
    if row is None:
        raise StaffNotFound(staff=str(staff_id))
    return staff_id


async def _entry(
    ticket_id: Any, kind: str, actor: str, at: dt.datetime, body: str = "", moved: tuple = ("", "")
) -> None:
    await execute(
        "INSERT INTO ticket_entry (id, ticket_id, kind, from_status, to_status, body, actor, at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        ticket_id,
        kind,
        moved[0],
        moved[1],
        body,
        actor[:100],
        at,
    )


@use_case
async def open_ticket(
    program_id: uuid.UUID,
    member_id: uuid.UUID,
    kind: str,
    subject: str,
    description: str = "",
    priority: str = "normal",
    store_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A new ticket for the program's member, numbered next in the program, to be answered within
    its SLA hours; audited."""
    program = await get_program(program_id)
    member = await fetch_one("SELECT program_id, status FROM member WHERE id = {}", member_id)
    if member is None or str(member["program_id"]) != str(program.id) or member["status"] == "erased":
        raise MemberNotFound(member_id=member_id)
    kind = _check_choice("kind", kind, KINDS)
    priority = _check_choice("priority", priority, PRIORITIES)
    subject = _check_text("subject", subject, SUBJECT_MAX, required=True)
    description = _check_text("description", description, TEXT_MAX, required=False)
    if store_id is not None:
        store = await fetch_one(
            "SELECT id FROM store WHERE id = {} AND merchant_id = {}", store_id, program.merchant_id
        )
        if store is None:
            raise ValidationError(field="store_id", reason=Reason("not a store of this merchant", "不是本商户的门店"))
    assignee_id = await _staff_of(program, assignee_id)
    now = now or _now()
    respond_by = now + dt.timedelta(hours=care_settings(program).hours(kind, priority))
    number = await fetch_one(
        "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM service_ticket WHERE program_id = {}", program_id
    )
    ticket_id = new_id()
    await execute(
        "INSERT INTO service_ticket (id, program_id, number, member_id, store_id, kind, subject, description, priority,"
        " status, assignee_id, created_by, created_at, updated_at, respond_by)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, 'open', {}, {}, {}, {}, {})",
        ticket_id,
        program_id,
        int(number["n"]),
        member_id,
        store_id,
        kind,
        subject,
        description,
        priority,
        assignee_id,
        actor[:100],
        now,
        now,
        respond_by,
    )
    await _entry(ticket_id, "created", actor, now, subject, ("", "open"))
    details = {"number": int(number["n"]), "kind": kind, "priority": priority, "member_id": str(member_id)}
    await audit.record(actor, "ticket.open", "service_ticket", ticket_id, program_id, details)
    return await ticket_row(ticket_id)


async def ticket_row(ticket_id: uuid.UUID, program_ids: set[uuid.UUID] | None = None) -> dict[str, Any]:
    """The ticket with its member's number and name and its assignee's name; ``TicketNotFound``
    when there is none (or it is not in ``program_ids``)."""
    row = await fetch_one(
        "SELECT t.*, m.member_no, m.name AS member_name, s.display_name AS assignee, st.name AS store"
        " FROM service_ticket t JOIN member m ON m.program_id = t.program_id AND m.id = t.member_id LEFT JOIN staff"
        " s ON s.id = t.assignee_id"
        " LEFT JOIN store st ON st.id = t.store_id WHERE t.id = {}",
        ticket_id,
    )
    if row is None or (program_ids is not None and uuid.UUID(str(row["program_id"])) not in program_ids):
        raise TicketNotFound(ticket=str(ticket_id))
    return row


@use_case
async def change_ticket(
    program_id: uuid.UUID, ticket_id: uuid.UUID, changes: dict[str, Any], actor: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Change a ticket's subject, description, priority (its SLA time follows, from when it was
    opened) or assignee (``assignee_id``, None for nobody); each change a line of its history;
    audited."""
    program = await get_program(program_id)
    row = await ticket_row(ticket_id, {program_id})
    now = now or _now()
    sets: dict[str, Any] = {}
    if "subject" in changes:
        sets["subject"] = _check_text("subject", str(changes["subject"]), SUBJECT_MAX, required=True)
    if "description" in changes:
        sets["description"] = _check_text("description", str(changes["description"]), TEXT_MAX, required=False)
    if "priority" in changes:
        sets["priority"] = _check_choice("priority", str(changes["priority"]), PRIORITIES)
        hours = care_settings(program).hours(row["kind"], sets["priority"])
        sets["respond_by"] = row["created_at"] + dt.timedelta(hours=hours)
    if "assignee_id" in changes:
        sets["assignee_id"] = await _staff_of(program, changes["assignee_id"])
    sets = {k: v for k, v in sets.items() if str(v) != str(row[k])}
    if not sets:
        return row
    assignments = ", ".join(f"{column} = {{}}" for column in sets)
    await execute(
        f"UPDATE service_ticket SET {assignments}, updated_at = {{}} WHERE program_id = {{}} AND id = {{}}",
        *sets.values(),
        now,
        program_id,
        ticket_id,
    )
    if "assignee_id" in sets:
        await _entry(ticket_id, "assigned", actor, now, str(sets["assignee_id"] or ""))
    shown = {k: str(v) if v is not None else None for k, v in sets.items() if k != "description"}
    if shown.keys() - {"assignee_id"}:
        await _entry(ticket_id, "changed", actor, now, ", ".join(sorted(shown.keys() - {"assignee_id"})))
    await audit.record(actor, "ticket.change", "service_ticket", ticket_id, program_id, shown)
    return await ticket_row(ticket_id)


@use_case
async def move_ticket(
    program_id: uuid.UUID, ticket_id: uuid.UUID, action: str, actor: str, note: str = "", now: dt.datetime | None = None
) -> dict[str, Any]:
    """Start, resolve, close or reopen a ticket (:data:`ACTIONS`), with an optional note; the
    first move answers it (its SLA is kept); closing invites the member to the ticket surveys;
    audited."""
    if action not in ACTIONS:
        raise ValidationError(
            field="action", reason=Reason(f"one of {', '.join(ACTIONS)}", f"应为 {'、'.join(ACTIONS)} 之一")
        )
    move = ACTIONS[action]
    note = _check_text("note", note, TEXT_MAX, required=False)
    row = await ticket_row(ticket_id, {program_id})
    now = now or _now()
    moved = await fetch(
        f"UPDATE service_ticket SET status = {{}}, updated_at = {{}}, responded_at = COALESCE(responded_at, {{}}),"
        f" resolved_at = {'{}' if move.to == 'resolved' else 'resolved_at'},"
        f" closed_at = {'{}' if move.to == 'closed' else 'NULL' if move.to == 'open' else 'closed_at'}"
        f" WHERE program_id = {{}} AND id = {{}} AND status IN ({', '.join('{}' for _ in move.since)}) RETURNING *",
        move.to,
        now,
        now,
        *([now] if move.to == "resolved" else []),
        *([now] if move.to == "closed" else []),
        program_id,
        ticket_id,
        *move.since,
    )
    if not moved:
        zh, en = STATUS_NAMES[row["status"]]
        raise TicketTransitionRefused(status=Reason(en, zh), action=Reason(move.en, move.zh))
    await _entry(ticket_id, "status", actor, now, note, (row["status"], move.to))
    await audit.record(actor, f"ticket.{action}", "service_ticket", ticket_id, program_id, {"note": note})
    if move.to == "closed":
        queued = await surveys.after_ticket(await get_program(program_id), moved[0], now)
        if queued:
            delivery.deliver_soon(queued)
    return await ticket_row(ticket_id)


@use_case
async def comment(
    program_id: uuid.UUID, ticket_id: uuid.UUID, body: str, actor: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Add a comment to a ticket's history; staff's first comment answers it (its SLA is kept)."""
    body = _check_text("body", body, TEXT_MAX, required=True)
    await ticket_row(ticket_id, {program_id})
    now = now or _now()
    await execute(
        "UPDATE service_ticket SET responded_at = COALESCE(responded_at, {}), updated_at = {}"
        " WHERE program_id = {} AND id = {}",
        now,
        now,
        program_id,
        ticket_id,
    )
    await _entry(ticket_id, "comment", actor, now, body)
    await audit.record(actor, "ticket.comment", "service_ticket", ticket_id, program_id, {})
    return await ticket_row(ticket_id)


async def history(ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ticket's history, oldest first (assignments name the staff member)."""
    return await fetch(
        "SELECT e.kind, e.from_status, e.to_status, e.body, e.actor, e.at, s.display_name AS staff_name"
        " FROM ticket_entry e LEFT JOIN staff s ON e.kind = 'assigned' AND CAST(s.id AS TEXT) = e.body"
        " WHERE e.ticket_id = {} ORDER BY e.at, e.id",
        ticket_id,
    )


@dataclasses.dataclass(frozen=True)
class TicketFilter:
    """What a ticket list is narrowed to (each None: any)."""

    status: str | None = None
    kind: str | None = None
    priority: str | None = None
    assignee_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    overdue_at: dt.datetime | None = None  # unanswered past their SLA at this time


async def list_tickets(
    program_id: uuid.UUID, chosen: TicketFilter, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the program's tickets, newest first, narrowed by ``chosen``."""
    where, args = ["t.program_id = {}"], [program_id]
    if chosen.status is not None:
        where.append("t.status = {}")
        args.append(_check_choice("status", chosen.status, STATUSES))
    if chosen.kind is not None:
        where.append("t.kind = {}")
        args.append(_check_choice("kind", chosen.kind, KINDS))
    if chosen.priority is not None:
        where.append("t.priority = {}")
        args.append(_check_choice("priority", chosen.priority, PRIORITIES))
    for clause, value in (("t.assignee_id = {}", chosen.assignee_id), ("t.member_id = {}", chosen.member_id)):
        if value is not None:
            where.append(clause)
            args.append(value)
    if chosen.overdue_at is not None:
        where.append("t.responded_at IS NULL AND t.status IN ('open', 'in_progress') AND t.respond_by <= {}")
        args.append(chosen.overdue_at)
    return await fetch_page(
        "SELECT t.id, t.number, t.kind, t.subject, t.priority, t.status, t.created_at, t.respond_by, t.responded_at,"
        " t.escalated_at, t.member_id, m.member_no, m.name AS member_name, s.display_name AS assignee,"
        " COUNT(*) OVER () AS listed FROM service_ticket t JOIN member m ON m.program_id = t.program_id AND m.id ="
        " t.member_id"
        f" LEFT JOIN staff s ON s.id = t.assignee_id WHERE {' AND '.join(where)}"
        " ORDER BY t.created_at DESC, t.id DESC",
        *args,
        page=page,
        page_size=page_size,
    )


async def member_history(program_id: uuid.UUID, member_id: uuid.UUID, ticket_id: uuid.UUID | None = None) -> dict:
    """What the ticket page shows of the member: the last purchases, the points balance, coupons
    still usable, and their other tickets."""
    sales = await fetch(
        "SELECT s.id, s.occurred_at, s.total, s.refunded_amount, s.points_earned, s.status, s.receipt_no,"
        " st.name AS store FROM sale s LEFT JOIN store st ON st.id = s.store_id"
        " WHERE s.program_id = {} AND s.member_id = {} ORDER BY s.occurred_at DESC LIMIT 5",
        program_id,
        member_id,
    )
    points = await fetch_one(
        "SELECT COALESCE(SUM(balance), 0) AS n FROM ledger_account WHERE member_id = {} AND kind = 'points'", member_id
    )
    coupons = await fetch(
        "SELECT c.code, c.valid_until, t.name FROM coupon c JOIN coupon_template t ON t.program_id = c.program_id"
        " AND t.id = c.template_id"
        " WHERE c.member_id = {} AND c.state = 'issued' ORDER BY c.valid_until, c.code LIMIT 10",
        member_id,
    )
    tickets = await fetch(
        "SELECT id, number, kind, subject, status, created_at FROM service_ticket"
        " WHERE member_id = {} AND id <> {} ORDER BY created_at DESC LIMIT 10",
        member_id,
        ticket_id or uuid.UUID(int=0),
    )
    return {"sales": sales, "points": int(points["n"]), "coupons": coupons, "tickets": tickets}


# -- escalation ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Escalated:
    """What one escalation run did: tickets escalated and notices left for staff."""

    tickets: int
    notices: int


async def _recipients(ticket: dict[str, Any], merchant_id: Any) -> list[Any]:
    """The assignee's store manager (the ticket's store when nobody is assigned) and the
    merchant's owners: active staff, the assignee left out."""
    assignee = None
    if ticket["assignee_id"] is not None:
        assignee = await fetch_one("SELECT store_id FROM staff WHERE id = {}", ticket["assignee_id"])
    store = (assignee or {}).get("store_id") or ticket["store_id"]
    rows = await fetch(
        "SELECT id FROM staff WHERE merchant_id = {} AND disabled_at IS NULL"
        " AND (role = 'owner' OR (role = 'manager' AND (store_id IS NULL OR store_id = {})))"
        " AND id <> {} ORDER BY created_at",
        merchant_id,
        store,
        ticket["assignee_id"] or uuid.UUID(int=0),
    )
    return [row["id"] for row in rows]


@use_case
async def escalate(now: dt.datetime) -> Escalated:
    """Tickets unanswered past their ``respond_by`` as of ``now``: each marked escalated (once: an
    escalated ticket is never escalated again), a line in its history, a notice for each of its
    recipients (:func:`_recipients`), audited."""
    due = await fetch(
        "UPDATE service_ticket SET escalated_at = {} WHERE escalated_at IS NULL AND responded_at IS NULL"
        " AND status IN ('open', 'in_progress') AND respond_by <= {}"
        " RETURNING id, program_id, number, subject, kind, priority, assignee_id, store_id, respond_by",
        now,
        now,
    )
    notices = 0
    for ticket in sorted(due, key=lambda t: (str(t["program_id"]), t["number"])):
        program = await get_program(uuid.UUID(str(ticket["program_id"])))
        late = now - ticket["respond_by"]
        hours = int(late.total_seconds() // 3600)
        body = (
            f"工单 #{ticket['number']}「{ticket['subject']}」超过响应时限 {hours} 小时仍未处理，已升级。"
            f' / Ticket #{ticket["number"]} "{ticket["subject"]}" is {hours} h past its response time: escalated.'
        )
        await _entry(ticket["id"], "escalated", "system", now, body)
        for staff_id in await _recipients(ticket, program.merchant_id):
            await execute(
                "INSERT INTO staff_notice (id, staff_id, ticket_id, body, created_at) VALUES ({}, {}, {}, {}, {})",
                new_id(),
                staff_id,
                ticket["id"],
                body,
                now,
            )
            notices += 1
        details = {"number": ticket["number"], "respond_by": ticket["respond_by"].isoformat()}
        await audit.record("system", "ticket.escalate", "service_ticket", ticket["id"], program.id, details)
    return Escalated(len(due), notices)


async def staff_notices(staff_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """A staff member's unread notices, newest first, with their ticket's number."""
    return await fetch(
        "SELECT n.id, n.body, n.created_at, n.ticket_id, t.number FROM staff_notice n"
        " JOIN service_ticket t ON t.id = n.ticket_id WHERE n.staff_id = {} AND n.read_at IS NULL"
        " ORDER BY n.created_at DESC LIMIT {}",
        staff_id,
        limit,
    )


@use_case
async def read_notices(staff_id: uuid.UUID, ticket_id: uuid.UUID, now: dt.datetime | None = None) -> int:
    """The staff member's notices about a ticket, read (they opened it): how many."""
    rows = await fetch(
        "UPDATE staff_notice SET read_at = {} WHERE staff_id = {} AND ticket_id = {} AND read_at IS NULL RETURNING id",
        now or _now(),
        staff_id,
        ticket_id,
    )
    return len(rows)


ERASED = "（已注销）"


@use_case
async def forget_erased() -> tuple[int, int]:
    """Blank what erased members wrote or had written about them: survey comments, and their
    tickets' subjects, descriptions and history texts. Returns (comments, ticket texts) blanked;
    a second run blanks nothing."""
    erased = "SELECT id FROM member WHERE status = 'erased'"
    comments = await fetch(
        # every program: an erasure sweep over all programs' erased members
        f"UPDATE survey_send SET comment = '' WHERE comment <> '' AND member_id IN ({erased}) RETURNING id"
    )
    mine = f"SELECT id FROM service_ticket WHERE member_id IN ({erased})"
    texts = await fetch(
        # every program: an erasure sweep over all programs' erased members
        f"UPDATE service_ticket SET subject = {{}}, description = '' WHERE subject <> {{}} AND id IN ({mine})"
        " RETURNING id",
        ERASED,
        ERASED,
    )
    entries = await fetch(
        f"UPDATE ticket_entry SET body = '' WHERE body <> '' AND kind IN ('created', 'comment', 'status')"
        f" AND ticket_id IN ({mine}) RETURNING id"
    )
    return len(comments), len(texts) + len(entries)
