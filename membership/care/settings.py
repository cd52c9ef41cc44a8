"""A program's member-care settings (``settings["care"]``): the hours within which a ticket must
be answered (its response-time SLA), per kind of ticket and priority. Read with
:func:`care_settings`, changed (checked, audited) with :func:`change_care_settings`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from membership.errors import ValidationError
from membership.org import service as org

Hours = Annotated[int, msgspec.Meta(ge=1, le=24 * 90)]
KINDS = ("complaint", "enquiry", "suggestion")
PRIORITIES = ("urgent", "high", "normal", "low")


class SlaHours(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Hours to the first answer, per priority."""

    urgent: Hours
    high: Hours
    normal: Hours
    low: Hours


class CareSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Response-time SLA in hours per ticket kind (complaint 投诉, enquiry 咨询, suggestion 建议)
    and priority (urgent, high, normal, low)."""

    complaint: SlaHours = msgspec.field(default_factory=lambda: SlaHours(urgent=2, high=4, normal=24, low=48))
    enquiry: SlaHours = msgspec.field(default_factory=lambda: SlaHours(urgent=4, high=8, normal=24, low=72))
    suggestion: SlaHours = msgspec.field(default_factory=lambda: SlaHours(urgent=24, high=48, normal=72, low=168))

    def hours(self, kind: str, priority: str) -> int:
        """The SLA of a ticket of ``kind`` and ``priority``, in hours."""
        return int(getattr(getattr(self, kind), priority))


def care_settings(program: org.ProgramConfig) -> CareSettings:
    """The program's care settings (defaults where nothing was set)."""
    return msgspec.convert(program.settings.get("care") or {}, CareSettings)


def parse_care_settings(values: dict[str, Any]) -> CareSettings:
    """``values`` checked; ``ValidationError`` names the field at fault (``complaint.urgent``)."""
    try:
        return msgspec.convert(values, CareSettings)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "care", reason=text) from None


async def change_care_settings(program_id: uuid.UUID, changes: dict[str, Any], actor: str) -> CareSettings:
    """Apply ``changes`` (whole kinds: ``{"complaint": {...}}``) to the program's care settings
    (checked together; audited)."""
    program = await org.get_program(program_id)
    merged = {**msgspec.to_builtins(care_settings(program)), **changes}
    parsed = parse_care_settings(merged)
    await org.update_settings(program_id, {"care": msgspec.to_builtins(parsed)}, actor)
    return parsed
