"""Program as code (``program.toml``): a program's whole configuration as one readable document —
settings, stores, tiers, points rules, coupon templates, paid and top-up plans — that
``membership program export`` writes and ``membership program apply`` (or ``POST
/programs/apply``) creates or updates a program from, showing what changes first.

The document names its merchant and program by name, stores by code, so it moves between
databases: exported, applied to an empty database and exported again, it reads the same.
Applying it twice changes nothing the second time.
"""

from __future__ import annotations

import dataclasses
import tomllib
import uuid
from typing import Any

import msgspec

from membership.coupons import service as coupons
from membership.coupons.templates import TemplateDef, parse_template
from membership.db import use_case
from membership.errors import MerchantNotFound, Reason, ValidationError
from membership.ledger import points_rules
from membership.ledger.top_up_plans import parse_top_up_plans, top_up_plans
from membership.org import service as org
from membership.org.program_plugins import program_plugins, set_program_plugin
from membership.org.settings import ProgramSettings, change_settings, settings_of
from membership.tiers.policy import paid_plans, parse_paid_plans, parse_tier_config, tier_config
from membership.tiers.service import configure as configure_tiers

SECTIONS = (
    "program",
    "settings",
    "stores",
    "tiers",
    "points_rules",
    "coupon_templates",
    "paid_plans",
    "top_up_plans",
    "plugins",
)


def _clean(value: Any) -> Any:
    """JSON-ready ``value`` without None (TOML has no null: an absent key means the default)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


async def export_document(program_id: uuid.UUID) -> dict[str, Any]:
    """The program's whole configuration as a document (see the module docstring)."""
    program = await org.get_program(program_id)
    merchant = await org.merchant_row(program.merchant_id)
    stores = await org.list_stores(program.merchant_id)
    codes = {row["id"]: row["code"] for row in stores}
    settings = msgspec.to_builtins(settings_of(program))
    name = settings.pop("name")
    templates = []
    for template in (await coupons.list_templates(program.id, page_size=10_000))[0]:
        data = {k: v for k, v in template.items() if k not in ("active", "created_at", "updated_at", "store_ids")}
        data["stores"] = [
            codes[uuid.UUID(str(store))] for store in template["store_ids"] if uuid.UUID(str(store)) in codes
        ]
        templates.append(data)
    rules = [
        {k: v for k, v in rule.items() if k not in ("active", "updated_at")}
        for rule in await points_rules.list_rules(program.id)
    ]
    config = tier_config(program.settings)
    document = {
        "program": {"name": name, "merchant": merchant["name"]},
        "settings": settings,
        "stores": [
            {
                "code": row["code"],
                "name": row["name"],
                "city": row["city"],
                "address": row["address"],
                "open": row["active"],
            }
            for row in stores
        ],
        "tiers": msgspec.to_builtins(config.tiers),
        "points_rules": sorted(rules, key=lambda rule: rule["code"]),
        "coupon_templates": templates,
        "paid_plans": msgspec.to_builtins(paid_plans(program.settings)),
        "top_up_plans": msgspec.to_builtins(top_up_plans(program.settings)),
        "plugins": [
            {"name": plugin.name, "enabled": plugin.enabled, "settings": plugin.settings}
            for plugin in await program_plugins(program.id)
        ],
    }
    return _clean(msgspec.to_builtins(document))


def to_toml(document: dict[str, Any]) -> str:
    """The document as TOML text (tables for the program and its settings, arrays of tables for
    the lists)."""
    import tomli_w

    return tomli_w.dumps(document, multiline_strings=True)


def from_toml(text: str) -> dict[str, Any]:
    """A document read from TOML text; ``ValidationError`` says where the text is wrong."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(field="program.toml", reason=str(exc)) from None


@dataclasses.dataclass(frozen=True)
class Applied:
    """What applying a document changed (or, in a dry run, would change): one line each."""

    program_id: uuid.UUID | None
    changes: list[str]
    dry_run: bool


class _DryRun(Exception):
    """Raised at the end of a dry run so that its transaction rolls back."""

    def __init__(self, applied: Applied) -> None:
        self.applied = applied


def _require(document: dict[str, Any]) -> tuple[str, str]:
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise ValidationError(
            field=unknown[0], reason=Reason(f"unknown section; the sections are {', '.join(SECTIONS)}", "未知的部分")
        )
    head = document.get("program") or {}
    if not isinstance(head, dict) or not head.get("name") or not head.get("merchant"):
        raise ValidationError(
            field="program", reason=Reason("needs name and merchant", "须有 name（方案名称）和 merchant（商户名称）")
        )
    return str(head["merchant"]), str(head["name"])


async def apply_document(
    document: dict[str, Any], actor: str = "system", dry_run: bool = False, merchant_id: uuid.UUID | None = None
) -> Applied:
    """Create or update the program the document describes so it matches the document, in one
    transaction; the changes, one line each. With ``dry_run`` nothing is kept. ``merchant_id``
    (a key bound to a merchant) must be the merchant the document names."""
    try:
        return await _apply(document, actor, dry_run, merchant_id)
    except _DryRun as done:
        return done.applied
    except Exception:
        org.forget_programs()
        raise
    finally:  # a rolled-back run may have cached the programs as it changed them
        if dry_run:
            org.forget_programs()


@use_case
async def _apply(document: dict[str, Any], actor: str, dry_run: bool, bound: uuid.UUID | None) -> Applied:
    merchant_name, program_name = _require(document)
    changes: list[str] = []
    if bound is not None:
        if (await org.merchant_row(bound))["name"] != merchant_name:
            raise MerchantNotFound(merchant_id=merchant_name)
        merchant_id = bound
    else:
        merchants = [m for m in await org.list_merchants() if m["name"] == merchant_name]
        if len(merchants) > 1:
            raise ValidationError(
                field="program.merchant",
                reason=Reason(f"several merchants are named {merchant_name!r}", f"有多个商户名为 {merchant_name!r}"),
            )
        if merchants:
            merchant_id = merchants[0]["id"]
        else:
            merchant_id = await org.create_merchant(merchant_name)
            changes.append(f"+ merchant {merchant_name}")
    programs = [p for p in await org.list_programs() if p.merchant_id == merchant_id and p.name == program_name]
    settings = dict(document.get("settings") or {})
    if programs:
        program = programs[0]
    else:
        program = await org.create_program(
            merchant_id, program_name, settings.get("currency", "CNY"), settings.get("time_zone", "Asia/Shanghai")
        )
        changes.append(f"+ program {program_name}")
    changes += await _apply_settings(program.id, program_name, settings, actor)
    codes = await _apply_stores(merchant_id, document.get("stores") or [], actor, changes)
    program = await org.get_program(program.id)
    await _apply_offers(program, document, codes, actor, changes)
    applied = Applied(program.id, changes, dry_run)
    if dry_run:
        raise _DryRun(applied)
    return applied


async def _apply_settings(program_id: uuid.UUID, name: str, settings: dict[str, Any], actor: str) -> list[str]:
    """Every setting to the document's value (absent ones to their default)."""
    current = settings_of(await org.get_program(program_id))
    wanted = msgspec.to_builtins(ProgramSettings(name=name))
    wanted.update(settings)
    old = msgspec.to_builtins(current)
    changed = {key: value for key, value in wanted.items() if old.get(key) != _normal(key, value)}
    if changed:
        await change_settings(program_id, changed, actor)
        after = msgspec.to_builtins(settings_of(await org.get_program(program_id)))
        return [
            f"~ settings.{key}: {old.get(key)!r} → {after.get(key)!r}"
            for key in changed
            if old.get(key) != after.get(key)
        ]
    return []


def _normal(key: str, value: Any) -> Any:
    """A setting as ``to_builtins`` writes it, so equal values compare equal."""
    if key in ("points_policy", "tier_policy") and isinstance(value, dict):
        field = {f.name: f.type for f in msgspec.structs.fields(ProgramSettings)}[key]
        try:
            return msgspec.to_builtins(msgspec.convert(value, field))
        except msgspec.ValidationError:
            return value
    if key == "currency" and isinstance(value, str):
        return value.upper()
    return value


async def _apply_stores(
    merchant_id: uuid.UUID, stores: list[dict[str, Any]], actor: str, changes: list[str]
) -> dict[str, uuid.UUID]:
    """The document's stores created or brought up to date (stores it does not name stay as they
    are); store ids by code."""
    existing = {row["code"]: row for row in await org.list_stores(merchant_id)}
    for store in stores:
        code = str(store.get("code", ""))
        row = existing.get(code)
        if row is None:
            store_id = await org.create_store(
                merchant_id, code, str(store.get("name", "")), str(store.get("city", "")), str(store.get("address", ""))
            )
            changes.append(f"+ store {code}")
            row = await org.store_row(store_id)
        else:
            fields = {k: str(store[k]) for k in ("name", "city", "address") if k in store and store[k] != row[k]}
            if fields:
                row = await org.update_store(row["id"], actor=actor, **fields)
                changes.append(f"~ store {code}: {', '.join(sorted(fields))}")
        if "open" in store and bool(store["open"]) != bool(row["active"]):
            row = await org.set_store_open(row["id"], bool(store["open"]), actor)
            changes.append(f"~ store {code}: {'open' if row['active'] else 'closed'}")
        existing[code] = row
    return {code: row["id"] for code, row in existing.items()}


async def _apply_offers(
    program: org.ProgramConfig, document: dict[str, Any], stores: dict[str, uuid.UUID], actor: str, changes: list[str]
) -> None:
    """Tiers, coupon templates, paid plans, top-up plans and points rules as the document says
    (lists replace what is there: what the document leaves out is retired)."""
    tiers = document.get("tiers") or []
    policy = (document.get("settings") or {}).get("tier_policy")
    wanted_tiers = parse_tier_config(tiers, policy if isinstance(policy, dict) else None)
    current_tiers = tier_config(program.settings)
    tiers_change = msgspec.to_builtins(wanted_tiers.tiers) != msgspec.to_builtins(current_tiers.tiers)
    current_paid = msgspec.to_builtins(paid_plans(program.settings))
    if tiers_change:  # tiers first without their upgrade coupons (the templates may not exist yet)
        if current_paid:
            await org.update_settings(program.id, {"paid_plans": []}, actor)
        bare = [{k: v for k, v in t.items() if k != "upgrade_coupons"} for t in msgspec.to_builtins(wanted_tiers.tiers)]
        await configure_tiers(program.id, bare, msgspec.to_builtins(wanted_tiers.policy), actor)
    await _apply_templates(program, document.get("coupon_templates") or [], stores, actor, changes)
    if tiers_change:
        await configure_tiers(
            program.id, msgspec.to_builtins(wanted_tiers.tiers), msgspec.to_builtins(wanted_tiers.policy), actor
        )
        changes.append(f"~ tiers: {', '.join(t.code for t in wanted_tiers.tiers) or '(none)'}")
    program = await org.get_program(program.id)
    plans = msgspec.to_builtins(parse_paid_plans(document.get("paid_plans") or [], tier_config(program.settings)))
    if plans != current_paid or (tiers_change and current_paid):
        await org.update_settings(program.id, {"paid_plans": plans}, actor)
        if plans != current_paid:
            changes.append(f"~ paid_plans: {', '.join(p['code'] for p in plans) or '(none)'}")
    top_ups = msgspec.to_builtins(parse_top_up_plans(document.get("top_up_plans") or []))
    if top_ups != msgspec.to_builtins(top_up_plans(program.settings)):
        await org.update_settings(program.id, {"top_up_plans": top_ups}, actor)
        changes.append(f"~ top_up_plans: {', '.join(p['code'] for p in top_ups) or '(none)'}")
    await _apply_rules(program.id, document.get("points_rules") or [], actor, changes)
    await _apply_plugins(program.id, document.get("plugins") or [], actor, changes)


async def _apply_plugins(program_id: uuid.UUID, wanted: list[dict[str, Any]], actor: str, changes: list[str]) -> None:
    """The per-program plugins the document names switched on or off and set as it says (plugins
    it does not name stay as they are; one not installed here is refused)."""
    current = {plugin.name: plugin for plugin in await program_plugins(program_id)}
    for entry in wanted:
        name = str(entry.get("name", ""))
        plugin = current.get(name)
        enabled = bool(entry.get("enabled", True))
        settings = dict(entry.get("settings") or {})
        if plugin is not None and plugin.enabled == enabled and {**plugin.settings, **settings} == plugin.settings:
            continue
        after = await set_program_plugin(program_id, name, enabled, settings, actor)
        changes.append(f"~ plugin {name}: {'on' if after.enabled else 'off'}")


async def _apply_templates(
    program: org.ProgramConfig,
    wanted: list[dict[str, Any]],
    stores: dict[str, uuid.UUID],
    actor: str,
    changes: list[str],
) -> None:
    current = {
        t["code"]: t for t in (await coupons.list_templates(program.id, include_retired=True, page_size=10_000))[0]
    }
    named: set[str] = set()
    for template in wanted:
        data = {k: v for k, v in template.items() if k != "stores"}
        unknown = [code for code in template.get("stores", []) if code not in stores]
        if unknown:
            raise ValidationError(
                field=f"coupon_templates.{data.get('code')}.stores",
                reason=Reason(f"no store {unknown[0]!r}", f"没有编码为 {unknown[0]!r} 的门店"),
            )
        data["store_ids"] = [str(stores[code]) for code in template.get("stores", [])]
        code = str(data.get("code", ""))
        named.add(code)
        row = current.get(code)
        if row is None:
            await coupons.create_template(program.id, data, actor)
            changes.append(f"+ coupon_template {code}")
            continue
        if _template_terms(row) != _template_terms(data) or not row["active"]:
            await coupons.change_template(program.id, code, data, actor)
            changes.append(f"~ coupon_template {code}")
    for code, row in current.items():
        if code not in named and row["active"]:
            await coupons.retire_template(program.id, code, actor)
            changes.append(f"- coupon_template {code} (retired)")


def _template_terms(data: dict[str, Any]) -> dict[str, Any]:
    """A template's terms as the table keeps them, to compare a stored one with a document's."""
    fields = {f.name for f in msgspec.structs.fields(TemplateDef)}
    return msgspec.to_builtins(parse_template({k: v for k, v in msgspec.to_builtins(data).items() if k in fields}))


async def _apply_rules(program_id: uuid.UUID, wanted: list[dict[str, Any]], actor: str, changes: list[str]) -> None:
    current = {r["code"]: r for r in await points_rules.list_rules(program_id, include_retired=True)}
    named: set[str] = set()
    for rule in wanted:
        code = str(rule.get("code", ""))
        named.add(code)
        row = current.get(code)
        if row is None:
            await points_rules.create_rule(program_id, rule, actor)
            changes.append(f"+ points_rule {code}")
            continue
        stored = _clean(msgspec.to_builtins({k: v for k, v in row.items() if k not in ("active", "updated_at")}))
        parsed = _clean(points_rules.as_data(points_rules.parse_rule({**rule, "code": code})))
        if parsed != stored or not row["active"]:
            await points_rules.change_rule(program_id, code, rule, actor)
            changes.append(f"~ points_rule {code}")
    for code, row in current.items():
        if code not in named and row["active"]:
            await points_rules.retire_rule(program_id, code, actor)
            changes.append(f"- points_rule {code} (retired)")
