"""Reads from card readers at the counters, kept briefly so counter screens can follow them."""

from piccolo.columns import UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program, Store


class ReaderRead(Table, tablename="reader_read"):
    """One card presented to a reader (刷卡记录) and what it resolved to.

    ``outcome``: ``member`` (identified), ``unknown`` (no member has it; ``value`` keeps the
    canonical value so the counter can issue the card), ``refused`` (blocked, lost or replaced
    card: ``message`` says why) or ``fault`` (the reader refused the frame: ``message``).
    Rows are pruned after a few days by the ``prune-reader-reads`` job.
    """

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    store_id = ForeignKey(Store, on_delete=OnDelete.restrict, null=True, default=None)
    station = Varchar(length=100)
    driver = Varchar(length=50)
    outcome = Varchar(length=8)
    kind = Varchar(length=32, default="")
    hint = Varchar(length=32, default="")
    value = Varchar(length=200, null=True, default=None)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, null=True, default=None)
    detail = Varchar(length=200, default="")
    message = Varchar(length=200, default="")
    occurred_at = Timestamptz()
