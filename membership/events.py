"""Domain events, delivered to ``membership_event`` listeners after their use case commits
(through the outbox: :mod:`membership.outbox.service`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any


def _event_id() -> uuid.UUID:
    from membership.db.ids import new_id  # membership.db imports this module: late

    return new_id()


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened to a member or a program.

    ``name`` is dotted and stable (``member.enrolled``, ``purchase.recorded``…); every name
    the kernel emits has a payload type in :mod:`membership.event_payloads` listing the keys of
    ``data`` (``PurchaseRecorded`` for ``purchase.recorded``), and ``payload_of(event)`` returns
    it. ``data`` holds JSON values (a listener receives ids and times as text). ``id`` is unique:
    delivery is at least once, so a listener that must act once remembers the ids it handled.
    """

    name: str
    program_id: uuid.UUID
    member_id: uuid.UUID | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    occurred_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    id: uuid.UUID = dataclasses.field(default_factory=_event_id)
