"""The one-time setup link (设置链接) of a deployment that has no business yet.

``membership init`` (when no merchant exists) and ``membership setup-link`` print
``http://HOST:PORT/console/setup?token=…``: the token is 32 random bytes, kept only as its
SHA-256 hash, good for :data:`LIFETIME` and for one finished setup. Finishing the setup spends
every open token in the same transaction that creates the business (so two browsers cannot
both set one up); once a merchant exists the wizard is closed whatever the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from membership.db import execute, fetch, fetch_one, new_id, use_case
from membership.errors import MembershipError, Reason

LIFETIME = dt.timedelta(hours=24)
SETUP_PATH = "/console/setup"


class SetupLinkInvalid(MembershipError):
    """The setup link is unknown, expired or already used."""

    code = "setup_link_invalid"
    status = 403
    message_en = "This setup link cannot be used: {reason}. On the server, `membership setup-link` prints a new one."
    message_zh = "这个设置链接不能用了：{reason}。请在服务器上运行 `membership setup-link` 获取新链接。"


class SetupDone(MembershipError):
    """The business is already set up: the wizard is closed."""

    code = "setup_done"
    status = 404
    message_en = "This deployment is already set up: log in at /console/login."
    message_zh = "系统已经设置好了，请在 /console/login 登录。"


UNKNOWN = Reason("it is not one this server issued", "链接不完整或不是本系统发出的")
EXPIRED = Reason("it has expired", "链接已过期")
USED = Reason("it has already been used", "链接已经用过")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def setup_needed() -> bool:
    """True while no merchant exists (the wizard is open)."""
    return await fetch_one("SELECT id FROM merchant LIMIT 1") is None


@use_case
async def issue_setup_token(now: dt.datetime | None = None) -> str:
    """A fresh setup token (shown once; only its hash is kept), good for :data:`LIFETIME`.
    Earlier tokens stay good until they expire; expired ones are forgotten. ``SetupDone``
    once a merchant exists."""
    if not await setup_needed():
        raise SetupDone()
    now = now or _now()
    token = secrets.token_urlsafe(32)
    await execute("DELETE FROM setup_token WHERE expires_at <= {}", now)
    await execute(
        "INSERT INTO setup_token (id, token_hash, created_at, expires_at) VALUES ({}, {}, {}, {})",
        new_id(),
        _hash(token),
        now,
        now + LIFETIME,
    )
    return token


def setup_link(base_url: str, token: str) -> str:
    """The wizard's address for ``token`` on the server at ``base_url`` (``http://127.0.0.1:8000``)."""
    return f"{base_url.rstrip('/')}{SETUP_PATH}?token={token}"


async def check_setup_token(token: str, now: dt.datetime | None = None) -> None:
    """Refuse a token that is not open: ``SetupDone`` once a merchant exists, else
    ``SetupLinkInvalid`` saying whether it is unknown, expired or used."""
    if not await setup_needed():
        raise SetupDone()
    row = await fetch_one("SELECT expires_at, used_at FROM setup_token WHERE token_hash = {}", _hash(token or ""))
    if row is None:
        raise SetupLinkInvalid(reason=UNKNOWN)
    if row["used_at"] is not None:
        raise SetupLinkInvalid(reason=USED)
    if row["expires_at"] <= (now or _now()):
        raise SetupLinkInvalid(reason=EXPIRED)


async def spend_setup_token(token: str, now: dt.datetime | None = None) -> None:
    """Inside the transaction that sets the business up: spend every open token, refusing
    (as :func:`check_setup_token`) unless ``token`` was one of them. Rows stay locked until
    the transaction ends, so a second setup finishing at the same time finds none open."""
    now = now or _now()
    await check_setup_token(token, now)
    spent = await fetch(
        "UPDATE setup_token SET used_at = {} WHERE used_at IS NULL AND expires_at > {} RETURNING token_hash",
        now,
        now,
    )
    if _hash(token) not in {row["token_hash"] for row in spent}:
        raise SetupLinkInvalid(reason=USED)
