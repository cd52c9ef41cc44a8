"""The outbox: events written with the change that caused them, and their delivery to each
listener (at least once; retried with back-off; dead after too many failures)."""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxEvent(Table, tablename="event_outbox"):
    """An event as it was emitted (``data`` is JSON); its ``id`` lets a listener de-duplicate."""

    id = UUID(primary_key=True)
    program_id = UUID()
    member_id = UUID(null=True, default=None)
    name = Varchar(length=64)
    data = Text(default="{}")
    occurred_at = Timestamptz()


class EventDelivery(Table, tablename="event_delivery"):
    """One listener's delivery of one event: ``pending`` (due at ``next_attempt_at``),
    ``delivered`` or ``dead`` (gave up after too many failures: shown on the plugins page)."""

    id = UUID(primary_key=True)
    event_id = ForeignKey(OutboxEvent, on_delete=OnDelete.cascade)
    listener = Varchar(length=100)
    state = Varchar(length=10, default="pending")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(default="")
    delivered_at = Timestamptz(null=True, default=None)
