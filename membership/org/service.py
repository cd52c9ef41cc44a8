"""Use cases for merchants, stores and programs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import UnknownCurrencyError, get_currency_precision
from cachetools import LRUCache, TTLCache

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import MerchantNotFound, ProgramNotFound, Reason, StoreNotFound, ValidationError
from membership.ledger.accounts import SYSTEM_KINDS

PROGRAM_CACHE_SECONDS = 5.0
DEFAULT_BACKDATE_DAYS = 3  # an offline till's queue over a long weekend
_programs = database_cache(TTLCache(maxsize=1024, ttl=PROGRAM_CACHE_SECONDS))
_store_merchants = database_cache(LRUCache(maxsize=100_000))  # a store never changes merchant


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


def _program_from_row(row: dict[str, Any]) -> ProgramConfig:
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
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@use_case
async def create_merchant(name: str) -> uuid.UUID:
    """Create a merchant (商户)."""
    if not name.strip():
        raise ValidationError(field="name", reason=Reason("must not be empty", "不能为空"))
    merchant_id = new_id()
    await fetch("INSERT INTO merchant (id, name, created_at) VALUES ({}, {}, {})", merchant_id, name.strip(), _now())
    return merchant_id


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


def _check_zone_and_currency(time_zone: str, currency: str) -> str:
    """The currency code in capitals, once it and the zone are known."""
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
    currency = _check_zone_and_currency(time_zone, currency)
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
async def update_program(
    program_id: uuid.UUID,
    time_zone: str,
    currency: str,
    points_expiry_days: int | None,
    actor: str = "system",
) -> ProgramConfig:
    """Change a program's time zone, currency and points validity (设置). The currency cannot change
    once anything has been sold or booked in it: amounts are kept in its minor units."""
    before = await get_program(program_id)
    currency = _check_zone_and_currency(time_zone, currency)
    if points_expiry_days is not None and not 1 <= points_expiry_days <= 36_500:
        raise ValidationError(
            field="points_expiry_days",
            reason=Reason("1 to 36500 days, or empty for never", "应为 1 到 36500 天，留空表示永不过期"),
        )
    if currency != before.currency and await fetch_one(
        "SELECT id FROM ledger_posting WHERE program_id = {} LIMIT 1", program_id
    ):
        raise ValidationError(
            field="currency",
            reason=Reason(
                "the program already has transactions in " + before.currency,
                f"会员方案已有 {before.currency} 交易，不能更改币种",
            ),
        )
    await fetch(
        "UPDATE program SET time_zone = {}, currency = {}, points_expiry_days = {} WHERE id = {}",
        time_zone,
        currency,
        points_expiry_days,
        program_id,
    )
    changes = {
        name: [old, new]
        for name, old, new in (
            ("time_zone", before.time_zone, time_zone),
            ("currency", before.currency, currency),
            ("points_expiry_days", before.points_expiry_days, points_expiry_days),
        )
        if old != new
    }
    await audit.record(actor, "program.update", "program", program_id, program_id, changes)
    _programs.pop(program_id, None)
    _programs.pop("*", None)
    return await get_program(program_id)


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
    _programs.pop(program_id, None)
    _programs.pop("*", None)
    return await get_program(program_id)


async def get_program(program_id: uuid.UUID) -> ProgramConfig:
    """A program's configuration; ``ProgramNotFound`` when it does not exist. Kept for
    ``PROGRAM_CACHE_SECONDS`` per process (every purchase reads it)."""
    program = _programs.get(program_id)
    if program is None:
        row = await fetch_one("SELECT * FROM program WHERE id = {}", program_id)
        if row is None:
            raise ProgramNotFound(program_id=program_id)
        program = _programs[program_id] = _program_from_row(row)
    return program


async def list_programs() -> list[ProgramConfig]:
    """Every program, oldest first (kept like :func:`get_program`)."""
    programs = _programs.get("*")
    if programs is None:
        rows = await fetch("SELECT * FROM program ORDER BY created_at")
        programs = _programs["*"] = [_program_from_row(row) for row in rows]
    return list(programs)


async def check_store(program: ProgramConfig, store_id: uuid.UUID) -> None:
    """Refuse a store that does not belong to the program's merchant."""
    merchant_id = _store_merchants.get(store_id)
    if merchant_id is None:
        row = await fetch_one("SELECT merchant_id FROM store WHERE id = {}", store_id)
        if row is not None:
            merchant_id = _store_merchants[store_id] = row["merchant_id"]
    if merchant_id != program.merchant_id:
        raise StoreNotFound(store_id=store_id)


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


async def list_stores(merchant_id: uuid.UUID) -> list[dict[str, Any]]:
    """A merchant's stores by code."""
    return await fetch(
        "SELECT id, code, name, city, address, active FROM store WHERE merchant_id = {} ORDER BY code", merchant_id
    )
