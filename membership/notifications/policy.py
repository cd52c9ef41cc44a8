"""A program's delivery policy (``settings["notifications"]``): quiet hours, frequency caps, where
members reach the server (opt-out links), and which consent each purpose needs.

Consent is kept per purpose and channel kind in the member's consents (``marketing_sms``,
``marketing_email``, ``service_wechat``…): **marketing** needs a ``true`` given by the member;
**service** messages (points expiring, a ticket's answer) go out unless the member said ``false``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from membership.errors import ValidationError
from membership.org import service as org

Purpose = Literal["marketing", "service"]
PURPOSES = ("marketing", "service")
HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
KINDS = {
    "phone": "sms",
    "email": "email",
    "wechat_openid": "wechat",
    "member": "inbox",
    "endpoint": "webhook",
}


class NotificationPolicy(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``quiet_start``–``quiet_end`` (local to the member: their ``preferences.time_zone``, else
    the program's): marketing (and, with ``quiet_service``, service) messages wait until it ends.
    Caps: at most ``marketing_per_day`` and ``marketing_per_week`` marketing messages a member
    (rolling 24 hours and 7 days, every channel). ``public_url``: where members reach this
    server, for one-step opt-out links (a marketing e-mail needs it)."""

    quiet_start: HourMinute = "21:00"
    quiet_end: HourMinute = "08:00"
    quiet_service: bool = False
    marketing_per_day: Annotated[int, msgspec.Meta(ge=0, le=100)] = 2
    marketing_per_week: Annotated[int, msgspec.Meta(ge=0, le=500)] = 5
    public_url: Annotated[str, msgspec.Meta(max_length=200, pattern=r"^(https?://[^\s]+)?$")] = ""


def policy_of(program: org.ProgramConfig) -> NotificationPolicy:
    """The program's policy (defaults where nothing was set)."""
    return msgspec.convert(program.settings.get("notifications") or {}, NotificationPolicy)


async def change_policy(program_id: uuid.UUID, changes: dict[str, Any], actor: str) -> NotificationPolicy:
    """Apply ``changes`` (checked together, audited)."""
    program = await org.get_program(program_id)
    merged = {**msgspec.to_builtins(policy_of(program)), **changes}
    try:
        parsed = msgspec.convert(merged, NotificationPolicy)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "notifications", reason=text) from None
    await org.update_settings(program_id, {"notifications": msgspec.to_builtins(parsed)}, actor)
    return parsed


def consent_key(purpose: str, address: str) -> str:
    """The consent a message of ``purpose`` through a channel sending to ``address`` needs."""
    return f"{purpose}_{KINDS.get(address, address)}"


def consented(consents: dict[str, Any], purpose: str, address: str) -> bool:
    """Marketing needs a ``true``; service goes out unless it is ``false``."""
    given = consents.get(consent_key(purpose, address))
    return given is True if purpose == "marketing" else given is not False


def member_zone(preferences: dict[str, Any], program: org.ProgramConfig) -> ZoneInfo:
    """The member's time zone (``preferences.time_zone``), else the program's."""
    name = preferences.get("time_zone") if isinstance(preferences, dict) else None
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo(program.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(program.time_zone)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def quiet_until(policy: NotificationPolicy, purpose: str, zone: ZoneInfo, now: dt.datetime) -> dt.datetime | None:
    """When the quiet hours ``now`` falls in end (UTC), or None when it falls in none."""
    if purpose != "marketing" and not policy.quiet_service:
        return None
    start, end = _minutes(policy.quiet_start), _minutes(policy.quiet_end)
    if start == end:
        return None
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + dt.timedelta(days=1)
    ends = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=zone)
    return ends.astimezone(dt.UTC)
