"""Each program's settings of each channel (``channel_config``), checked against the channel's
schema, with its secret fields (passwords, keys) sealed under the master key and never shown.

Saving settings with a secret left empty keeps the stored one, so a form that never shows a
password can be saved without typing it again. Secrets sealed under a master key that was rotated
away are read with the old keys the deployment still lists (``MEMBERSHIP_OLD_SECRET_KEYS``) and
sealed under the current one the next time the settings are saved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import msgspec

from membership.audit import service as audit
from membership.db import fetch, fetch_one, use_case
from membership.errors import NotConfigured, Reason, ValidationError
from membership.members import personal_data as pd
from membership.notifications.interface import Channel
from membership.plugins import hooks

SHOWN_SECRET = "********"


def channel_class(name: str) -> type[Channel]:
    """The registered channel ``name``; ``ValidationError`` listing the known ones otherwise."""
    channels = hooks().channels()
    if name not in channels:
        raise ValidationError(
            field="channel",
            reason=Reason(
                f"unknown channel {name!r}; known: {', '.join(sorted(channels))}",
                f"未知的通知渠道 {name!r}；可用：{'、'.join(sorted(channels))}",
            ),
        )
    return channels[name]


def _context(program_id: uuid.UUID, channel: str, field: str) -> str:
    return f"channel/{program_id}/{channel}/{field}"


def _open(program_id: uuid.UUID, channel: str, field: str, token: str) -> str:
    for vault in pd.vaults():
        try:
            return vault.decrypt(_context(program_id, channel, field), token)
        except NotConfigured:
            continue
    raise NotConfigured(what=f"channel {channel}", hint=f"its {field} was sealed under a key no longer configured")


@dataclasses.dataclass(frozen=True)
class ChannelSettings:
    """A program's channel: on or off, and its settings (``secrets`` opened only when asked)."""

    channel: str
    enabled: bool
    settings: dict[str, Any]
    updated_at: dt.datetime
    rate_per_minute: int | None = None


async def _row(program_id: uuid.UUID, channel: str) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT channel, enabled, settings, updated_at, rate_per_minute FROM channel_config"
        " WHERE program_id = {} AND channel = {}",
        program_id,
        channel,
    )


async def channel_settings(program_id: uuid.UUID, channel: str, reveal: bool = False) -> ChannelSettings | None:
    """The program's settings of ``channel`` (None when never set): secrets opened with
    ``reveal`` (to send), else shown as ``********`` (set) or ``""`` (not set)."""
    row = await _row(program_id, channel)
    if row is None:
        return None
    cls = channel_class(channel)
    stored = json.loads(row["settings"])
    for field in cls.secrets:
        if stored.get(field):
            stored[field] = _open(program_id, channel, field, stored[field]) if reveal else SHOWN_SECRET
    return ChannelSettings(channel, bool(row["enabled"]), stored, row["updated_at"], row["rate_per_minute"])


def check_settings(cls: type[Channel], settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` as the channel's schema reads them; ``ValidationError`` naming the field."""
    if cls.settings_type is None:
        return settings
    try:
        return msgspec.to_builtins(msgspec.convert(settings, cls.settings_type))
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "settings", reason=text) from None


@use_case
async def configure_channel(
    program_id: uuid.UUID,
    channel: str,
    settings: dict[str, Any],
    enabled: bool,
    actor: str,
    rate_per_minute: int | None = None,
) -> ChannelSettings:
    """Set the program's ``channel``: checked, secrets sealed (an empty or ``********`` secret
    keeps the stored one), at most ``rate_per_minute`` messages a minute (None: no limit);
    audited without the secrets' values."""
    cls = channel_class(channel)
    current = await channel_settings(program_id, channel, reveal=True)
    merged = dict(settings)
    for field in cls.secrets:
        if merged.get(field) in (None, "", SHOWN_SECRET) and current is not None:
            merged[field] = current.settings.get(field, "")
    checked = check_settings(cls, merged)
    vault = pd.vault()
    stored = dict(checked)
    for field in cls.secrets:
        if stored.get(field):
            stored[field] = vault.encrypt(_context(program_id, channel, field), stored[field])
    now = dt.datetime.now(dt.UTC)
    await fetch(
        "INSERT INTO channel_config (program_id, channel, enabled, settings, key_fp, updated_at, rate_per_minute)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (program_id, channel) DO UPDATE SET"
        " enabled = excluded.enabled, settings = excluded.settings, key_fp = excluded.key_fp,"
        " updated_at = excluded.updated_at, rate_per_minute = excluded.rate_per_minute",
        program_id,
        channel,
        enabled,
        json.dumps(stored, ensure_ascii=False),
        vault.fingerprint,
        now,
        rate_per_minute,
    )
    shown = {k: (SHOWN_SECRET if k in cls.secrets and v else v) for k, v in checked.items()}
    details = {"enabled": enabled, "rate_per_minute": rate_per_minute, **shown}
    await audit.record(actor, "channel.configure", "channel", channel, program_id, details)
    return ChannelSettings(channel, enabled, shown, now, rate_per_minute)


async def configured_channels(program_id: uuid.UUID) -> list[ChannelSettings]:
    """The program's channels that have settings, by name (secrets shown masked)."""
    rows = await fetch("SELECT channel FROM channel_config WHERE program_id = {} ORDER BY channel", program_id)
    found = []
    for row in rows:
        if row["channel"] in hooks().channels():
            settings = await channel_settings(program_id, row["channel"])
            if settings is not None:
                found.append(settings)
    return found
