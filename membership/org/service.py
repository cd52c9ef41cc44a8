"""Use cases for merchants, stores and programs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import UnknownCurrencyError, get_currency_precision
from cachetools import TTLCache

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import (
    MerchantNotFound,
    ProgramNotFound,
    Reason,
    StoreClosed,
    StoreNotFound,
    ValidationError,
)
from membership.ledger.accounts import SYSTEM_KINDS

PROGRAM_CACHE_SECONDS = 5.0
DEFAULT_BACKDATE_DAYS = 3  # an offline till's queue over a long weekend
_programs = database_cache(TTLCache(maxsize=1024, ttl=PROGRAM_CACHE_SECONDS))
_stores = database_cache(TTLCache(maxsize=100_000, ttl=PROGRAM_CACHE_SECONDS))  # store id -> (merchant, active)


@dataclasses.dataclass(frozen=True)
class ProgramConfig:
    """A program as rules and hooks see it."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    currency: str = "CNY"
    time_zone: str = "Asia/Shanghai"
    points_expiry_days: int | None = None
    point_value_minor: int = 1
    stored_value_earns: bool = True
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # enabled here: their settings

    @property
    def minor_per_unit(self) -> int:
        """Minor units in one currency unit (100 fen in a yuan)."""
        return 10 ** get_currency_precision(self.currency)

    @property
    def backdate_days(self) -> int:
        """How many days before now a sale may be dated (``settings["backdate_days"]``, default
        :data:`DEFAULT_BACKDATE_DAYS`): enough for an offline till to send its queue, not enough
        to replay last year's birthday or yesterday's unused daily cap."""
        return int(self.settings.get("backdate_days", DEFAULT_BACKDATE_DAYS))

    @property
    def language(self) -> str:
        """The language of messages to members (``zh`` or ``en``)."""
        return str(self.settings.get("language", "zh"))

    @property
    def min_redeem_points(self) -> int:
        """The fewest points one redemption or payment may use (0: no minimum)."""
        return int(self.settings.get("min_redeem_points", 0))

    @property
    def points_payment_earns(self) -> bool:
        """Whether the part of a sale paid with points earns points too (usually not)."""
        return bool(self.settings.get("points_payment_earns", False))

    @property
    def points_rounding(self) -> str:
        """How a rate's fraction of a point is rounded, once per transaction: ``floor`` or ``half_up``."""
        return str(self.settings.get("points_rounding", "floor"))

    @property
    def earning_base(self) -> str:
        """Points on what is paid ``after_discounts`` (default) or on the price ``before_discounts``."""
        return str(self.settings.get("earning_base", "after_discounts"))

    @property
    def receipt_unique_per(self) -> str:
        """A receipt number is recorded once per ``store`` (default) or once in the ``program``."""
        return str(self.settings.get("receipt_unique_per", "store"))

    def divide(self, numerator: int, denominator: int) -> int:
        """``numerator / denominator`` as whole points, rounded as the program says."""
        if self.points_rounding == "half_up":
            return (2 * numerator + denominator) // (2 * denominator)
        return numerator // denominator

    @property
    def retention_days(self) -> int | None:
        """After how many days without activity a member's personal data is erased
        (``settings["retention_days"]``; None, the default: kept until the member asks)."""
        days = self.settings.get("retention_days")
        return None if days is None else int(days)

    @property
    def zone(self) -> ZoneInfo:
        """The program's time zone."""
        return ZoneInfo(self.time_zone)

    def money(self, minor: int) -> str:
        """``minor`` units as text in the program's currency, exactly: ``12.50 CNY``."""
        digits = len(str(self.minor_per_unit)) - 1
        whole, fraction = divmod(minor, self.minor_per_unit)
        return f"{whole}.{fraction:0{digits}d} {self.currency}" if digits else f"{whole} {self.currency}"


def _program_from_row(row: dict[str, Any], plugins: dict[str, dict[str, Any]] | None = None) -> ProgramConfig:
    return ProgramConfig(
        id=row["id"],
        merchant_id=row["merchant_id"],
        name=row["name"],
        currency=row["currency"],
        time_zone=row["time_zone"],
        points_expiry_days=row["points_expiry_days"],
        point_value_minor=row["point_value_minor"],
        stored_value_earns=bool(row["stored_value_earns"]),
        settings=json_column(row["settings"]) or {},
        plugins=plugins or {},
    )


async def _enabled_plugins(program_id: uuid.UUID | None = None) -> dict[Any, dict[str, dict[str, Any]]]:
    """The plugins enabled per program (of one program, or of all): ``{program: {plugin: settings}}``."""
    only, args = (" AND program_id = {}", [program_id]) if program_id is not None else ("", [])
    rows = await fetch(
        f"SELECT program_id, plugin, settings FROM program_plugin WHERE enabled = {{}}{only}", True, *args
    )
    found: dict[Any, dict[str, dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["program_id"], {})[row["plugin"]] = json_column(row["settings"]) or {}
    return found


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(field: str, value: str, longest: int = 200) -> str:
    """A trimmed name: 1 to ``longest`` characters."""
    value = value.strip()
    if not 1 <= len(value) <= longest:
        raise ValidationError(field=field, reason=Reason(f"1 to {longest} characters", f"1 到 {longest} 个字符"))
    return value


@use_case
async def create_merchant(name: str) -> uuid.UUID:
    """Create a merchant (商户)."""
    merchant_id = new_id()
    await fetch(
        "INSERT INTO merchant (id, name, created_at) VALUES ({}, {}, {})", merchant_id, _name("name", name), _now()
    )
    return merchant_id


@use_case
async def rename_merchant(merchant_id: uuid.UUID, name: str, actor: str = "system") -> None:
    """Give a merchant another name; audited."""
    row = await merchant_row(merchant_id)
    await fetch("UPDATE merchant SET name = {} WHERE id = {}", _name("name", name), merchant_id)
    await audit.record(actor, "merchant.rename", "merchant", merchant_id, None, {"name": [row["name"], name.strip()]})


async def merchant_row(merchant_id: uuid.UUID) -> dict[str, Any]:
    """A merchant's row; ``MerchantNotFound`` when there is none."""
    row = await fetch_one("SELECT id, name, created_at FROM merchant WHERE id = {}", merchant_id)
    if row is None:
        raise MerchantNotFound(merchant_id=merchant_id)
    return row


async def list_merchants() -> list[dict[str, Any]]:
    """Every merchant, oldest first."""
    return await fetch("SELECT id, name, created_at FROM merchant ORDER BY created_at")


@use_case
async def create_store(merchant_id: uuid.UUID, code: str, name: str, city: str = "", address: str = "") -> uuid.UUID:
    """Add a store (门店) to a merchant; ``code`` is unique within the merchant."""
    if not await fetch_one("SELECT id FROM merchant WHERE id = {}", merchant_id):
        raise MerchantNotFound(merchant_id=merchant_id)
    if not code.strip() or not name.strip():
        raise ValidationError(field="code/name", reason=Reason("must not be empty", "不能为空"))
    if await fetch_one("SELECT id FROM store WHERE merchant_id = {} AND code = {}", merchant_id, code):
        raise ValidationError(
            field="code", reason=Reason(f"store code {code!r} already exists", f"门店编码 {code!r} 已存在")
        )
    store_id = new_id()
    await fetch(
        "INSERT INTO store (id, merchant_id, code, name, city, address, active, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        store_id,
        merchant_id,
        code.strip(),
        name.strip(),
        city,
        address,
        True,
        _now(),
    )
    return store_id


def check_zone_and_currency(time_zone: str, currency: str) -> str:
    """The currency code in capitals, once it and the zone are known; ``ValidationError``
    naming the one that is not."""
    currency = currency.strip().upper()
    try:
        get_currency_precision(currency)
        if len(currency) != 3:
            raise UnknownCurrencyError(currency)
    except UnknownCurrencyError as exc:
        raise ValidationError(
            field="currency", reason=Reason(f"unknown currency {currency!r}", f"未知币种 {currency!r}")
        ) from exc
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            field="time_zone", reason=Reason(f"unknown zone {time_zone!r}", f"未知时区 {time_zone!r}")
        ) from exc
    return currency


@use_case
async def create_program(
    merchant_id: uuid.UUID,
    name: str,
    currency: str = "CNY",
    time_zone: str = "Asia/Shanghai",
    points_expiry_days: int | None = None,
    point_value_minor: int = 1,
    stored_value_earns: bool = True,
    settings: dict[str, Any] | None = None,
) -> ProgramConfig:
    """Create a membership program and its system (contra) ledger accounts."""
    if not await fetch_one("SELECT id FROM merchant WHERE id = {}", merchant_id):
        raise MerchantNotFound(merchant_id=merchant_id)
    currency = check_zone_and_currency(time_zone, currency)
    if points_expiry_days is not None and points_expiry_days < 1:
        raise ValidationError(field="points_expiry_days", reason=Reason("must be at least 1 day", "至少为 1 天"))
    if point_value_minor < 1:
        raise ValidationError(field="point_value_minor", reason=Reason("must be at least 1", "至少为 1"))
    program = ProgramConfig(
        id=new_id(),
        merchant_id=merchant_id,
        name=name,
        currency=currency,
        time_zone=time_zone,
        points_expiry_days=points_expiry_days,
        point_value_minor=point_value_minor,
        stored_value_earns=stored_value_earns,
        settings=settings or {},
    )
    now = _now()
    await fetch(
        "INSERT INTO program (id, merchant_id, name, currency, time_zone, points_expiry_days,"
        " point_value_minor, stored_value_earns, settings, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        program.id,
        merchant_id,
        name,
        program.currency,
        time_zone,
        points_expiry_days,
        point_value_minor,
        stored_value_earns,
        json.dumps(program.settings, ensure_ascii=False),
        now,
    )
    for kind in SYSTEM_KINDS:
        await fetch(
            "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at)"
            " VALUES ({}, {}, NULL, {}, 0, {})",
            new_id(),
            program.id,
            kind,
            now,
        )
    _programs.pop("*", None)
    return program


@use_case
async def update_settings(program_id: uuid.UUID, changes: dict[str, Any], actor: str = "system") -> ProgramConfig:
    """Set keys of the program's ``settings`` (tiers, tier policy, paid plans…), audited with
    their values before and after."""
    row = await fetch_one("SELECT settings FROM program WHERE id = {}", program_id)
    if row is None:
        raise ProgramNotFound(program_id=program_id)
    settings = json_column(row["settings"]) or {}
    before = {key: settings.get(key) for key in changes}
    settings.update(changes)
    await fetch("UPDATE program SET settings = {} WHERE id = {}", json.dumps(settings, ensure_ascii=False), program_id)
    await audit.record(
        actor, "program.settings", "program", program_id, program_id, {"before": before, "after": changes}
    )
    forget_program(program_id)
    return await get_program(program_id)


def forget_programs() -> None:
    """Drop every cached program (after a transaction that changed some was rolled back)."""
    _programs.clear()


def forget_program(program_id: uuid.UUID) -> None:
    """Drop the cached program (after a change), here and in the list of programs."""
    _programs.pop(program_id, None)
    _programs.pop("*", None)


async def get_program(program_id: uuid.UUID) -> ProgramConfig:
    """A program's configuration; ``ProgramNotFound`` when it does not exist. Kept for
    ``PROGRAM_CACHE_SECONDS`` per process (every purchase reads it)."""
    program = _programs.get(program_id)
    if program is None:
        row = await fetch_one("SELECT * FROM program WHERE id = {}", program_id)
        if row is None:
            raise ProgramNotFound(program_id=program_id)
        plugins = (await _enabled_plugins(program_id)).get(row["id"])
        program = _programs[program_id] = _program_from_row(row, plugins)
    return program


async def list_programs() -> list[ProgramConfig]:
    """Every program, oldest first (kept like :func:`get_program`)."""
    programs = _programs.get("*")
    if programs is None:
        rows = await fetch("SELECT * FROM program ORDER BY created_at")
        plugins = await _enabled_plugins()
        programs = _programs["*"] = [_program_from_row(row, plugins.get(row["id"])) for row in rows]
    return list(programs)


async def check_store(program: ProgramConfig, store_id: uuid.UUID, open_only: bool = True) -> None:
    """Refuse a store that does not belong to the program's merchant, or (``open_only``, for
    business done there) that is closed: nothing more happens at a closed store, though its
    records can still be read."""
    known = _stores.get(store_id)
    if known is None:
        row = await fetch_one("SELECT merchant_id, active FROM store WHERE id = {}", store_id)
        if row is not None:
            known = _stores[store_id] = (row["merchant_id"], bool(row["active"]))
    if known is None or known[0] != program.merchant_id:
        raise StoreNotFound(store_id=store_id)
    if open_only and not known[1]:
        raise StoreClosed(store_id=store_id)


async def binding_merchant(merchant_id: uuid.UUID | None, store_id: uuid.UUID | None) -> uuid.UUID | None:
    """The merchant an account bound to ``merchant_id`` and/or ``store_id`` works for (a store
    implies its merchant); ``StoreNotFound`` / ``MerchantNotFound`` when they do not exist or do
    not match; None when neither is given."""
    if store_id is not None:
        store = await fetch_one("SELECT merchant_id FROM store WHERE id = {}", store_id)
        if store is None or merchant_id not in (None, store["merchant_id"]):
            raise StoreNotFound(store_id=store_id)
        return store["merchant_id"]
    if merchant_id is not None and not await fetch_one("SELECT id FROM merchant WHERE id = {}", merchant_id):
        raise MerchantNotFound(merchant_id=merchant_id)
    return merchant_id


async def store_row(store_id: uuid.UUID) -> dict[str, Any]:
    """A store's row; ``StoreNotFound`` when there is none."""
    row = await fetch_one(
        "SELECT id, merchant_id, code, name, city, address, active FROM store WHERE id = {}", store_id
    )
    if row is None:
        raise StoreNotFound(store_id=store_id)
    return row


@use_case
async def update_store(
    store_id: uuid.UUID,
    name: str | None = None,
    city: str | None = None,
    address: str | None = None,
    actor: str = "system",
) -> dict[str, Any]:
    """Change a store's name, city or address (its code stays: tills and keys name it); audited."""
    row = await store_row(store_id)
    changes = {
        key: value
        for key, value in (
            ("name", None if name is None else _name("name", name)),
            ("city", None if city is None else city.strip()[:100]),
            ("address", None if address is None else address.strip()[:500]),
        )
        if value is not None and value != row[key]
    }
    if changes:
        assignments = ", ".join(f"{key} = {{}}" for key in changes)
        await fetch(f"UPDATE store SET {assignments} WHERE id = {{}}", *changes.values(), store_id)
        details = {key: [row[key], value] for key, value in changes.items()}
        await audit.record(actor, "store.update", "store", row["code"], None, details)
    return {**row, **changes}


@use_case
async def set_store_open(store_id: uuid.UUID, open_: bool, actor: str = "system") -> dict[str, Any]:
    """Close a store (闭店: nothing more is sold, redeemed or topped up there; its history and
    settlement stay) or open it again; audited."""
    row = await store_row(store_id)
    await fetch("UPDATE store SET active = {} WHERE id = {}", open_, store_id)
    await audit.record(actor, "store.open" if open_ else "store.close", "store", row["code"], None)
    _stores.pop(store_id, None)
    return {**row, "active": open_}


async def list_stores(merchant_id: uuid.UUID) -> list[dict[str, Any]]:
    """A merchant's stores by code."""
    return await fetch(
        "SELECT id, code, name, city, address, active FROM store WHERE merchant_id = {} ORDER BY code", merchant_id
    )


async def find_merchant(text: str | None) -> uuid.UUID:
    """The merchant named by id or exact name; with ``text`` None, the only merchant there is."""
    rows = await list_merchants()
    if text is None:
        if len(rows) == 1:
            return rows[0]["id"]
        raise ValidationError(
            field="merchant",
            reason=Reason("name the merchant (--merchant)", "请指明商户（--merchant）")
            if rows
            else Reason(
                "there is no merchant yet: run `membership init` or `membership merchant create`",
                "还没有商户：请先运行 `membership init` 或 `membership merchant create`",
            ),
        )
    found = [row["id"] for row in rows if str(row["id"]) == text or row["name"] == text]
    if len(found) != 1:
        raise MerchantNotFound(merchant_id=text)
    return found[0]


async def find_program(text: str | None, merchant_id: uuid.UUID | None = None) -> ProgramConfig:
    """The program named by id or exact name (of ``merchant_id`` when given); with ``text``
    None, the only program there is."""
    programs = [p for p in await list_programs() if merchant_id in (None, p.merchant_id)]
    if text is not None:
        programs = [p for p in programs if str(p.id) == text or p.name == text]
    if len(programs) == 1:
        return programs[0]
    if text is not None and not programs:
        raise ProgramNotFound(program_id=text)
    raise ValidationError(
        field="program",
        reason=Reason("name the program (by id or name)", "请指明会员方案（编号或名称）")
        if programs
        else Reason(
            "there is no program yet: run `membership program create`",
            "还没有会员方案：请先运行 `membership program create`",
        ),
    )


async def find_store(text: str, merchant_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The store named by id or code (of ``merchant_id`` when given)."""
    rows = await fetch("SELECT id, merchant_id, code, name, city, address, active FROM store")
    found = [r for r in rows if (str(r["id"]) == text or r["code"] == text) and merchant_id in (None, r["merchant_id"])]
    if len(found) > 1:
        raise ValidationError(
            field="store",
            reason=Reason(
                f"code {text!r} exists in several merchants: add --merchant",
                f"门店编码 {text!r} 存在于多个商户：请加上 --merchant",
            ),
        )
    if not found:
        raise StoreNotFound(store_id=text)
    return found[0]
