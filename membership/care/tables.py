"""Surveys and what was sent of them (with the answers), service tickets with their history, and
the notes escalation leaves for staff."""

from piccolo.columns import (
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program
from membership.staff.tables import Staff


class Survey(Table, tablename="survey"):
    """A satisfaction survey (满意度调查): ``kind`` ``nps`` (0–10) or ``csat`` (1–5), asked after
    a ``purchase`` or a closed ``ticket`` (``send_after``), ``delay_minutes`` later, of
    ``sample_pct`` percent of the occasions, through ``channels`` (JSON list) with the message
    template ``template_code``; a link stays answerable for ``valid_days``. ``code`` is unique in
    its program."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    code = Varchar(length=64)
    name = Varchar(length=100)
    kind = Varchar(length=4)
    send_after = Varchar(length=8)
    question_zh = Varchar(length=300)
    question_en = Varchar(length=300, default="")
    template_code = Varchar(length=64)
    channels = Text(default="[]")
    delay_minutes = Integer(default=0)
    sample_pct = SmallInt(default=100)
    valid_days = SmallInt(default=7)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SurveySend(Table, tablename="survey_send"):
    """One invitation to answer a survey, for one ``occasion`` (``sale:<id>``, ``ticket:<id>``;
    unique per survey: a repeated event invites once), with the store and the member's tier at
    the time, and the answer once given: ``score``, ``comment``, ``answered_at`` and the local
    Monday of its week (``week_start``, for the weekly trend)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    survey_id = ForeignKey(Survey, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    occasion = Varchar(length=100)
    store_id = UUID(null=True, default=None)
    tier = Varchar(length=32, default="")
    due_at = Timestamptz()
    expires_at = Timestamptz()
    score = SmallInt(null=True, default=None)
    comment = Text(default="")
    answered_at = Timestamptz(null=True, default=None)
    week_start = Date(null=True, default=None)
    created_at = Timestamptz()


class ServiceTicket(Table, tablename="service_ticket"):
    """A service ticket (服务工单): a member's complaint, enquiry or suggestion, numbered in its
    program (``number``), with its ``status`` (open, in_progress, resolved, closed), ``priority``,
    ``assignee_id`` and the SLA: answered (``responded_at``) by ``respond_by``, else escalated
    (``escalated_at``) once."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    number = Integer()
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    store_id = UUID(null=True, default=None)
    kind = Varchar(length=10)
    subject = Varchar(length=200)
    description = Text(default="")
    priority = Varchar(length=8, default="normal")
    status = Varchar(length=12, default="open")
    assignee_id = ForeignKey(Staff, on_delete=OnDelete.restrict, null=True, default=None)
    created_by = Varchar(length=100)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    respond_by = Timestamptz()
    responded_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class TicketEntry(Table, tablename="ticket_entry"):
    """A line of a ticket's history: ``kind`` created, status (``from_status`` → ``to_status``),
    assigned, comment, escalated; who and when, and what was written."""

    id = UUID(primary_key=True)
    ticket_id = ForeignKey(ServiceTicket, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)
    from_status = Varchar(length=12, default="")
    to_status = Varchar(length=12, default="")
    body = Text(default="")
    actor = Varchar(length=100)
    at = Timestamptz()


class StaffNotice(Table, tablename="staff_notice"):
    """A note for a staff member in the console (待办提醒): an escalated ticket to look at."""

    id = UUID(primary_key=True)
    staff_id = ForeignKey(Staff, on_delete=OnDelete.cascade)
    ticket_id = ForeignKey(ServiceTicket, on_delete=OnDelete.cascade)
    body = Text()
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)
