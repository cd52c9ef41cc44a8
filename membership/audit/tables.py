"""Audit entries (append-only)."""

from piccolo.columns import JSON, UUID, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_log"):
    """``actor`` did ``action`` on ``object_type``/``object_id``; ``details`` says more."""

    id = UUID(primary_key=True)
    occurred_at = Timestamptz(index=True)
    actor = Varchar(length=120)
    action = Varchar(length=64, index=True)
    object_type = Varchar(length=32)
    object_id = Varchar(length=64, index=True)
    program_id = UUID(null=True, default=None)
    details = JSON(default="{}")
