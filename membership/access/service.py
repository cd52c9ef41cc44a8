"""API keys: create (the key is shown once), authenticate, list, revoke.

A key reads ``mk_<prefix>_<secret>``: the prefix finds its row, and the SHA-256 of the whole key
must match the stored hash. Keys carry 192 random bits, so a fast hash is the right one (a slow
password hash like argon2 protects guessable secrets and would cost milliseconds per request).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from enum import StrEnum
from typing import Any

from cachetools import TTLCache

from membership.audit import service as audit
from membership.db import fetch, fetch_one, new_id, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import Reason, Unauthorized, ValidationError
from membership.org.service import binding_merchant

KEY_CACHE_SECONDS = 10.0


class Scope(StrEnum):
    """What a key may do. ``read``: look members up; ``pos``: the till's writes (enrol, cards,
    sales, refunds, redemptions, top-ups); ``admin``: everything, incl. manual point adjustments."""

    READ = "read"
    POS = "pos"
    ADMIN = "admin"


@dataclasses.dataclass(frozen=True)
class ApiKeyInfo:
    """An authenticated key: who it is, what it may do and which data it may see."""

    id: uuid.UUID
    name: str
    scopes: frozenset[str]
    merchant_id: uuid.UUID | None
    store_id: uuid.UUID | None
    rate_limit: int

    def allows(self, scope: Scope) -> bool:
        """True when the key holds ``scope`` (``admin`` holds all; ``pos`` includes ``read``)."""
        held = self.scopes
        return Scope.ADMIN in held or scope in held or (scope is Scope.READ and Scope.POS in held)

    @property
    def actor(self) -> str:
        """How the audit log names this key."""
        return f"api-key:{self.name}"


@dataclasses.dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``secret`` is the only copy of the full key."""

    info: ApiKeyInfo
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse_scopes(scopes: list[str]) -> frozenset[str]:
    known = {s.value for s in Scope}
    cleaned = {s.strip() for s in scopes if s.strip()}
    if not cleaned or cleaned - known:
        raise ValidationError(
            field="scopes", reason=Reason(f"one or more of {sorted(known)}", f"应为 {sorted(known)} 中的一项或多项")
        )
    return frozenset(cleaned)


def _info(row: dict[str, Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row["id"],
        name=row["name"],
        scopes=frozenset(json_column(row["scopes"]) or []),
        merchant_id=row["merchant_id"],
        store_id=row["store_id"],
        rate_limit=row["rate_limit"],
    )


@use_case
async def create_api_key(
    name: str,
    scopes: list[str],
    merchant_id: uuid.UUID | None = None,
    store_id: uuid.UUID | None = None,
    rate_limit: int = 100,
    actor: str = "cli",
) -> NewApiKey:
    """Create a key. A store binding implies its merchant; a key with neither sees every merchant
    and must be ``admin``. ``rate_limit`` is requests per second (burst: the same number)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError(field="name", reason=Reason("1 to 100 characters", "1 到 100 个字符"))
    parsed = _parse_scopes(scopes)
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or not 1 <= rate_limit <= 100_000:
        raise ValidationError(
            field="rate_limit", reason=Reason("1 to 100000 requests per second", "每秒 1 到 100000 次请求")
        )
    merchant_id = await binding_merchant(merchant_id, store_id)
    if merchant_id is None and Scope.ADMIN not in parsed:
        raise ValidationError(
            field="merchant",
            reason=Reason(
                "a key without a merchant or store must have the admin scope",
                "未绑定商户或门店的密钥必须具有 admin 权限范围",
            ),
        )
    prefix = secrets.token_hex(4)
    while await fetch_one("SELECT id FROM api_key WHERE prefix = {}", prefix):
        prefix = secrets.token_hex(4)  # pragma: no cover - one chance in 4 billion per key
    secret = f"mk_{prefix}_{secrets.token_urlsafe(24)}"
    key_id = new_id()
    await fetch(
        "INSERT INTO api_key (id, name, prefix, key_hash, scopes, merchant_id, store_id, rate_limit, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
        key_id,
        name,
        prefix,
        _hash(secret),
        json.dumps(sorted(parsed)),
        merchant_id,
        store_id,
        rate_limit,
        dt.datetime.now(dt.UTC),
    )
    await audit.record(actor, "api_key.create", "api_key", key_id, details={"name": name, "scopes": sorted(parsed)})
    return NewApiKey(ApiKeyInfo(key_id, name, parsed, merchant_id, store_id, rate_limit), secret)


_verified = database_cache(TTLCache(maxsize=10_000, ttl=KEY_CACHE_SECONDS))


async def authenticate(secret: str) -> ApiKeyInfo:
    """The key ``secret`` belongs to; ``Unauthorized`` when it is unknown, malformed or revoked.

    Verified keys are remembered for ``KEY_CACHE_SECONDS`` (a revocation takes effect within that
    time) so the hot path does not read the database on every request."""
    cached = _verified.get(secret)
    if cached is not None:
        return cached
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != "mk":
        raise Unauthorized()
    row = await fetch_one("SELECT * FROM api_key WHERE prefix = {} AND revoked_at IS NULL", parts[1])
    if row is None or not hmac.compare_digest(row["key_hash"], _hash(secret)):
        raise Unauthorized()
    info = _verified[secret] = _info(row)
    return info


async def list_api_keys(merchant_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every key (never the secret): name, prefix, scopes, binding, state; only those bound to
    ``merchant_id`` (or its stores) when given."""
    only = " WHERE k.merchant_id = {}" if merchant_id else ""
    rows = await fetch(
        "SELECT k.id, k.name, k.prefix, k.scopes, k.rate_limit, k.created_at, k.revoked_at,"
        " m.name AS merchant, s.code AS store FROM api_key k LEFT JOIN merchant m ON m.id = k.merchant_id"
        f" LEFT JOIN store s ON s.id = k.store_id{only} ORDER BY k.created_at",
        *([merchant_id] if merchant_id else []),
    )
    for row in rows:
        row["scopes"] = json_column(row["scopes"]) or []
    return rows


@use_case
async def revoke_api_key(prefix: str, merchant_id: uuid.UUID | None = None, actor: str = "cli") -> None:
    """Revoke the key with ``prefix`` (only a key of ``merchant_id`` when given); requests with
    it fail within ``KEY_CACHE_SECONDS``."""
    only = " AND merchant_id = {}" if merchant_id else ""
    rows = await fetch(
        "UPDATE api_key SET revoked_at = {} WHERE prefix = {} AND revoked_at IS NULL" + only + " RETURNING id, name",
        dt.datetime.now(dt.UTC),
        prefix,
        *([merchant_id] if merchant_id else []),
    )
    if not rows:
        raise ValidationError(field="prefix", reason=Reason(f"no active key {prefix!r}", f"没有有效的密钥 {prefix!r}"))
    await audit.record(actor, "api_key.revoke", "api_key", rows[0]["id"], details={"name": rows[0]["name"]})
    _verified.clear()
