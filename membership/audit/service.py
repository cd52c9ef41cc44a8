"""Writing the audit log."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from membership.db import execute, new_id


async def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    program_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry (joins the caller's transaction)."""
    await execute(
        "INSERT INTO audit_log (id, occurred_at, actor, action, object_type, object_id, program_id, details)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        new_id(),
        dt.datetime.now(dt.UTC),
        actor,
        action,
        object_type,
        str(object_id),
        program_id,
        json.dumps(details or {}, ensure_ascii=False, default=str),
    )
