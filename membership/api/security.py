"""API-key authentication, scopes, per-key rate limits and object-level access checks.

Every ``/api/v1`` route names the scope it needs in ``opt={"scope": …}``; :func:`api_key_guard`
authenticates the bearer key, applies the key's rate limit and checks the scope. Routes then load
the objects they touch through :func:`program_for`, :func:`member_for` and :func:`store_for`,
which answer "not found" for anything outside the key's merchant, so a key never learns that
another merchant's member exists.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from membership.access.service import ApiKeyInfo, Scope, authenticate
from membership.errors import (
    Forbidden,
    MemberNotFound,
    ProgramNotFound,
    RateLimited,
    Reason,
    Unauthorized,
    ValidationError,
)
from membership.members.service import member_row
from membership.org.service import ProgramConfig, check_store, get_program, list_programs

_ACTIONS_ZH = {Scope.READ: "读取会员数据", Scope.POS: "执行收银操作", Scope.ADMIN: "执行管理操作"}


class TokenBucket:
    """``rate`` requests per second with bursts of ``rate``; per worker process."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when a request may pass now, else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


_buckets: dict[uuid.UUID, TokenBucket] = {}


def _rate_limit(key: ApiKeyInfo) -> None:
    bucket = _buckets.get(key.id)
    if bucket is None or bucket.rate != key.rate_limit:
        bucket = _buckets[key.id] = TokenBucket(key.rate_limit)
    wait = bucket.take()
    if wait:
        raise RateLimited(retry_after=max(1, math.ceil(wait)))


def _refuse_unknown_query(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A typo like ``?pagesize=`` or a repeated ``?page=1&page=2`` is an error, not silently
    ignored."""
    query = connection.query_params
    unknown = sorted(set(query) - set(handler.parsed_fn_signature.parameters))
    if unknown:
        raise ValidationError(field=unknown[0][:50], reason=Reason("unknown query parameter", "未知的查询参数"))
    repeated = sorted(name for name in query if len(query.getall(name)) > 1)
    if repeated:
        raise ValidationError(field=repeated[0], reason=Reason("given more than once", "重复给出"))


async def api_key_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Authenticate the bearer key, rate-limit it, check the route's scope and its query."""
    if handler.opt.get("public"):  # health: no key needed
        _refuse_unknown_query(connection, handler)
        return
    scope = handler.opt.get("scope", Scope.ADMIN)  # a route that names no scope is for admins
    header = connection.headers.get("authorization", "")
    kind, _, secret = header.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        raise Unauthorized()
    key = await authenticate(secret.strip())
    _rate_limit(key)
    if not key.allows(scope):
        raise Forbidden(action=f"{scope.value} (scope {scope.value!r} needed)", action_zh=_ACTIONS_ZH[scope])
    _refuse_unknown_query(connection, handler)
    connection.state.api_key = key


def current_key(connection: ASGIConnection) -> ApiKeyInfo:
    """The key :func:`api_key_guard` authenticated for this request."""
    return connection.state.api_key


def require(key: ApiKeyInfo, scope: Scope, action: str, action_zh: str) -> None:
    """Refuse an action inside a route that needs more than the route's scope."""
    if not key.allows(scope):
        raise Forbidden(action=action, action_zh=action_zh)


async def program_for(key: ApiKeyInfo, program_id: uuid.UUID | None = None) -> ProgramConfig:
    """The program a request works in: the one named (if the key's merchant owns it), else the
    key's merchant's only program."""
    if program_id is not None:
        program = await get_program(program_id)
        if key.merchant_id is not None and program.merchant_id != key.merchant_id:
            raise ProgramNotFound(program_id=program_id)
        return program
    programs = [p for p in await list_programs() if key.merchant_id in (None, p.merchant_id)]
    if len(programs) == 1:
        return programs[0]
    if not programs:
        raise ProgramNotFound(program_id="-")
    raise ValidationError(
        field="program_id",
        reason=Reason("required: several programs are visible to this key", "必填：该密钥可访问多个会员方案"),
    )


async def member_for(key: ApiKeyInfo, member_id: uuid.UUID) -> dict[str, Any]:
    """The member's row, if the key's merchant owns the member's program; else ``MemberNotFound``."""
    row = await member_row(member_id)
    if key.merchant_id is not None:
        program = await get_program(row["program_id"])
        if program.merchant_id != key.merchant_id:
            raise MemberNotFound(member_id=member_id)
    return row


async def store_for(
    key: ApiKeyInfo, program: ProgramConfig, store_id: uuid.UUID | None, open_only: bool = True
) -> uuid.UUID | None:
    """The store a write happens at: the key's own store by default; a store-bound key may not
    act for another store, and the store must belong to the program's merchant (and be open,
    unless ``open_only`` is False: reading a closed store's records)."""
    if store_id is None:
        return key.store_id
    await check_store(program, store_id, open_only)
    if key.store_id is not None and store_id != key.store_id:
        raise Forbidden(action="act for another store", action_zh="代其他门店操作")
    return store_id


async def member_store(key: ApiKeyInfo, member: dict[str, Any], store_id: uuid.UUID | None) -> uuid.UUID | None:
    """:func:`store_for` a write on ``member`` (a row from :func:`member_for`), in their program."""
    return await store_for(key, await get_program(member["program_id"]), store_id)


async def required_store(key: ApiKeyInfo, program: ProgramConfig, store_id: uuid.UUID | None) -> uuid.UUID:
    """Like :func:`store_for`, for writes that must happen at a store (sales)."""
    store = await store_for(key, program, store_id)
    if store is None:
        raise ValidationError(
            field="store_id", reason=Reason("required for a key not bound to a store", "未绑定门店的密钥必须提供")
        )
    return store
