"""Plugins per program (as pretix enables plugins per event): installed is not enabled.

A plugin that answers ``membership_plugin_meta`` with a :class:`PluginMeta` is *per program*:
its hooks run only for the programs an owner turned it on for, and it keeps its settings per
program, validated by its settings schema (a msgspec Struct), which also gives the console a form
and the API a resource. A plugin without meta is deployment-wide (a reader driver, a channel):
its hooks run for every program.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any, TypeVar

import msgspec

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.db.sql import json_column
from membership.errors import PluginNotFound, Reason, ValidationError
from membership.org import service as org

S = TypeVar("S", bound=msgspec.Struct)


@dataclasses.dataclass(frozen=True)
class PluginMeta:
    """What a per-program plugin says about itself: its name for staff (Chinese and English), a
    sentence on what it does, and its settings schema (a msgspec Struct whose fields all have
    defaults; None for a plugin with nothing to set)."""

    label_zh: str
    label_en: str
    description_zh: str = ""
    description_en: str = ""
    settings: type[msgspec.Struct] | None = None


@dataclasses.dataclass(frozen=True)
class ProgramPlugin:
    """A per-program plugin as one program has it: on or off, and its settings (defaults filled)."""

    name: str
    meta: PluginMeta
    enabled: bool
    settings: dict[str, Any]


def _metas() -> dict[str, PluginMeta]:
    from membership.plugins import hooks

    return hooks().plugin_metas()


def default_settings(meta: PluginMeta) -> dict[str, Any]:
    """The settings a plugin has before anyone changed them (its schema's defaults)."""
    return msgspec.to_builtins(meta.settings()) if meta.settings else {}


def check_settings(name: str, meta: PluginMeta, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` validated by the plugin's schema, as stored; ``ValidationError`` names the field."""
    if meta.settings is None:
        if values:
            raise ValidationError(field=name, reason=Reason("this plugin has no settings", "该插件没有可设置的项"))
        return {}
    try:
        return msgspec.to_builtins(msgspec.convert(values, meta.settings, strict=False))
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=f"{name}{path.rstrip('`')}", reason=reason) from None


async def program_plugins(program_id: uuid.UUID) -> list[ProgramPlugin]:
    """Every per-program plugin installed, as the program has it, by name."""
    rows = {
        row["plugin"]: row
        for row in await fetch("SELECT plugin, enabled, settings FROM program_plugin WHERE program_id = {}", program_id)
    }
    found = []
    for name, meta in sorted(_metas().items()):
        row = rows.get(name)
        stored = (json_column(row["settings"]) or {}) if row else {}
        settings = {**default_settings(meta), **stored}
        found.append(ProgramPlugin(name, meta, bool(row and row["enabled"]), settings))
    return found


@use_case
async def set_program_plugin(
    program_id: uuid.UUID,
    name: str,
    enabled: bool | None = None,
    settings: dict[str, Any] | None = None,
    actor: str = "system",
) -> ProgramPlugin:
    """Turn a per-program plugin on or off for the program and/or change its settings (checked
    by its schema); audited with the values before and after."""
    await org.get_program(program_id)
    meta = _metas().get(name)
    if meta is None:
        raise PluginNotFound(name=name, known=", ".join(sorted(_metas())) or "-")
    row = await fetch_one(
        "SELECT id, enabled, settings FROM program_plugin WHERE program_id = {} AND plugin = {}", program_id, name
    )
    before_settings = (json_column(row["settings"]) or {}) if row else {}
    after_enabled = bool(row and row["enabled"]) if enabled is None else enabled
    after_settings = check_settings(name, meta, {**before_settings, **(settings or {})})
    now = dt.datetime.now(dt.UTC)
    if row is None:
        await fetch(
            "INSERT INTO program_plugin (id, program_id, plugin, enabled, settings, updated_by, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {})",
            new_id(),
            program_id,
            name,
            after_enabled,
            json.dumps(after_settings, ensure_ascii=False),
            actor[:100],
            now,
        )
    else:
        await fetch(
            "UPDATE program_plugin SET enabled = {}, settings = {}, updated_by = {}, updated_at = {}"
            " WHERE program_id = {} AND id = {}",
            after_enabled,
            json.dumps(after_settings, ensure_ascii=False),
            actor[:100],
            now,
            program_id,
            row["id"],
        )
    details = {
        "enabled": [bool(row and row["enabled"]), after_enabled],
        "settings": [before_settings, after_settings],
    }
    await audit.record(actor, "program.plugin", "plugin", name, program_id, details)
    org.forget_program(program_id)
    return ProgramPlugin(name, meta, after_enabled, {**default_settings(meta), **after_settings})


def plugin_settings(program: org.ProgramConfig, name: str, schema: type[S]) -> S:
    """The settings plugin ``name`` has in ``program`` (its schema's defaults where unset): what a
    plugin's hooks read, with no query (the program carries them)."""
    return msgspec.convert(program.plugins.get(name, {}), schema, strict=False)


def enabled(program: org.ProgramConfig, name: str) -> bool:
    """Whether a per-program plugin is on for ``program`` (a deployment-wide one always is)."""
    return name in program.plugins or name not in _metas()


async def enabled_programs(name: str) -> list[org.ProgramConfig]:
    """The programs plugin ``name`` is on for (every program, for a deployment-wide plugin), oldest
    first: what a plugin's job works through."""
    return [program for program in await org.list_programs() if enabled(program, name)]
