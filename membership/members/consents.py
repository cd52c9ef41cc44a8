"""Consent per purpose (marketing, SMS, e-mail, profiling…) with its history: each change is a
row saying who recorded it and through what (enrolment, profile, the member's own opt-out)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from membership.db import fetch, new_id

PURPOSE = r"^[a-z][a-z0-9_]{0,31}$"  # marketing, sms, email, wechat, profiling, third_party…


async def record_consents(
    program_id: uuid.UUID,
    member_id: uuid.UUID,
    before: dict[str, bool],
    after: dict[str, bool],
    actor: str,
    source: str = "",
    now: dt.datetime | None = None,
) -> list[str]:
    """Write a history row for each purpose whose consent ``after`` differs from ``before`` (a
    purpose given for the first time counts as a change); the purposes changed."""
    now = now or dt.datetime.now(dt.UTC)
    changed = [purpose for purpose, granted in after.items() if before.get(purpose) is not granted]
    for purpose in changed:
        await fetch(
            "INSERT INTO member_consent (id, program_id, member_id, purpose, granted, source, actor, recorded_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            new_id(),
            program_id,
            member_id,
            purpose,
            bool(after[purpose]),
            source[:32],
            actor[:100],
            now,
        )
    return changed


async def consent_history(member_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every recorded change of the member's consents, oldest first."""
    return await fetch(
        "SELECT purpose, granted, source, actor, recorded_at FROM member_consent WHERE member_id = {}"
        " ORDER BY recorded_at, purpose",
        member_id,
    )
