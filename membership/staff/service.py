"""Staff accounts: create, log in (argon2id, throttled), sessions, language, unlock.

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed when they change); hashing
runs in a worker thread so a login never stalls other requests. Failed logins slow down whoever
fails, by account and address, with growing waits (:mod:`membership.staff.throttle`); nothing a
stranger does locks the owner out, and an owner clears an account's waits with
:func:`unlock_staff`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import uuid
from typing import Any

import argon2

from membership.audit import service as audit
from membership.db import execute, fetch, fetch_one, new_id, use_case
from membership.errors import LoginFailed, Reason, ValidationError
from membership.org.service import binding_merchant
from membership.staff import throttle
from membership.staff.roles import Permission, Role, allows

SESSION_IDLE = dt.timedelta(hours=4)
SESSION_LIFETIME = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(minutes=1)
LANGUAGES = ("zh_CN", "en")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,49}")

_hasher = argon2.PasswordHasher()
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_hex(16))  # verified against, so timing tells nothing


@dataclasses.dataclass(frozen=True)
class StaffInfo:
    """A logged-in staff member: who, which role, which merchant (and store) they work for."""

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    merchant_id: uuid.UUID
    store_id: uuid.UUID | None
    language: str

    def can(self, permission: Permission) -> bool:
        """True when this staff member's role allows ``permission``."""
        return allows(self.role, permission)

    @property
    def actor(self) -> str:
        """How the audit log names this staff member."""
        return actor_of(self.username)


def actor_of(username: str) -> str:
    """How the audit log names the staff member ``username``."""
    return f"staff:{username}"


def _info(row: dict[str, Any]) -> StaffInfo:
    return StaffInfo(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        merchant_id=row["merchant_id"],
        store_id=row["store_id"],
        language=row["language"],
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _pause(seconds: float) -> None:
    """Wait before checking a password of an account under attack (tests replace it)."""
    await asyncio.sleep(seconds)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    """Refuse a password staff should not use: shorter than 8 characters or all one character."""
    if len(password) < 8 or len(set(password)) < 3:
        raise ValidationError(
            field="password",
            reason=Reason("at least 8 characters, not all the same", "至少 8 个字符，且不能全是同一个字符"),
        )


@use_case
async def create_staff(
    username: str,
    password: str,
    role: str,
    merchant_id: uuid.UUID | None = None,
    store_id: uuid.UUID | None = None,
    display_name: str = "",
    language: str = "zh_CN",
    actor: str = "cli",
) -> StaffInfo:
    """Create a staff account. A store implies its merchant; without either, the only merchant.
    ``actor`` is who creates it, for the audit log."""
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise ValidationError(
            field="username", reason=Reason("2 to 50 letters, digits or . _ @ -", "2 到 50 个字母、数字或 . _ @ -")
        )
    if role not in {r.value for r in Role}:
        raise ValidationError(
            field="role",
            reason=Reason(
                f"one of {', '.join(r.value for r in Role)}", f"只能是 {', '.join(r.value for r in Role)} 之一"
            ),
        )
    if language not in LANGUAGES:
        raise ValidationError(
            field="language", reason=Reason(" or ".join(LANGUAGES), f"只能是 {' 或 '.join(LANGUAGES)}")
        )
    check_password(password)
    merchant_id = await merchant_of(merchant_id, store_id)
    if await fetch_one("SELECT id FROM staff WHERE username = {}", username):
        raise ValidationError(field="username", reason=Reason(f"{username!r} is taken", f"{username!r} 已被占用"))
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    row = {
        "id": new_id(),
        "username": username,
        "display_name": display_name.strip() or username,
        "role": role,
        "merchant_id": merchant_id,
        "store_id": store_id,
        "language": language,
    }
    await execute(
        "INSERT INTO staff (id, username, display_name, role, merchant_id, store_id, language, password_hash,"
        " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
        *row.values(),
        password_hash,
        _now(),
    )
    await audit.record(actor, "staff.create", "staff", row["id"], details={"username": username, "role": role})
    return _info(row)


async def merchant_of(merchant_id: uuid.UUID | None, store_id: uuid.UUID | None) -> uuid.UUID:
    """The merchant of ``store_id``, else ``merchant_id`` checked, else the only merchant."""
    bound = await binding_merchant(merchant_id, store_id)
    if bound is not None:
        return bound
    merchants = await fetch("SELECT id FROM merchant ORDER BY created_at LIMIT 2")
    if len(merchants) != 1:
        raise ValidationError(
            field="merchant",
            reason=Reason(
                "name the merchant (there is none or more than one)", "请指定商户（当前没有商户或有多个商户）"
            ),
        )
    return merchants[0]["id"]


async def log_in(username: str, password: str, address: str = "") -> tuple[StaffInfo, str]:
    """Check the password and open a session: the staff member and the session token for the
    cookie. ``LoginFailed`` for a wrong name or password (the same answer for both);
    ``LoginThrottled`` while ``address`` has to wait after failing too often, for this account
    or across accounts (:mod:`membership.staff.throttle`): then no password is checked. Nothing
    done from one address refuses another address the right password."""
    row, attempt = await _checked_password(username, password, address)
    token = secrets.token_urlsafe(32)
    rehashed = _hasher.check_needs_rehash(row["password_hash"])  # hashed outside the write transaction
    password_hash = await asyncio.to_thread(_hasher.hash, password) if rehashed else row["password_hash"]
    await _open_session(row, password_hash, token, attempt)
    return _info(row), token


async def confirm_password(username: str, password: str, address: str = "") -> StaffInfo:
    """The staff member whose name and password were typed, without opening a session (a manager
    approving a clerk's sale at the counter). Throttled exactly as :func:`log_in`: a wrong
    password raises ``LoginFailed`` and counts against ``address``; ``LoginThrottled`` while it
    has to wait."""
    row, attempt = await _checked_password(username, password, address)
    await _confirmed(attempt)
    return _info(row)


async def _checked_password(username: str, password: str, address: str) -> tuple[dict[str, Any], throttle.Attempt]:
    """The enabled account's row when the password is right (its throttle attempt beside it)."""
    attempt = await throttle.admit(username, address, _now())
    if attempt.slow:
        await _pause(throttle.ACCOUNT_PAUSE)
    row = await fetch_one("SELECT * FROM staff WHERE username = {} AND disabled_at IS NULL", username.strip())
    verified = await asyncio.to_thread(_verify, row["password_hash"] if row else _UNKNOWN_USER_HASH, password)
    if row is None or not verified:
        await _record_failure(attempt, row)
        raise LoginFailed()
    return row, attempt


@use_case
async def _confirmed(attempt: throttle.Attempt) -> None:
    await throttle.succeeded(attempt)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


@use_case
async def _record_failure(attempt: throttle.Attempt, row: dict[str, Any] | None) -> None:
    """Count a wrong password; the audit log notes when an address starts having to wait."""
    for scope, seconds in await throttle.failed(attempt):
        actor, details = f"address:{attempt.address}", {"scope": scope, "wait_seconds": seconds}
        if scope == throttle.PAIR and row is not None:
            await audit.record(actor, "staff.login_throttled", "staff", row["id"], details=details)
        elif scope == throttle.ADDRESS:
            await audit.record(actor, "staff.login_throttled", "address", attempt.address, details=details)


@use_case
async def _open_session(row: dict[str, Any], password_hash: str, token: str, attempt: throttle.Attempt) -> None:
    now = _now()
    await execute(
        "INSERT INTO staff_session (id, token_hash, staff_id, created_at, last_seen_at, expires_at)"
        " VALUES ({}, {}, {}, {}, {}, {})",
        new_id(),
        _token_hash(token),
        row["id"],
        now,
        now,
        now + SESSION_LIFETIME,
    )
    if password_hash != row["password_hash"]:
        await execute("UPDATE staff SET password_hash = {} WHERE id = {}", password_hash, row["id"])
    await throttle.succeeded(attempt)
    await audit.record(actor_of(row["username"]), "staff.login", "staff", row["id"])


async def session_staff(token: str) -> StaffInfo | None:
    """The staff member the session ``token`` belongs to, or None when it is unknown, expired,
    idle for longer than :data:`SESSION_IDLE`, or the account was disabled."""
    now = _now()
    row = await fetch_one(
        "SELECT s.*, z.id AS session_id, z.last_seen_at FROM staff_session z JOIN staff s ON s.id = z.staff_id"
        " WHERE z.token_hash = {} AND z.expires_at > {} AND z.last_seen_at > {} AND s.disabled_at IS NULL",
        _token_hash(token),
        now,
        now - SESSION_IDLE,
    )
    if row is None:
        return None
    if now - row["last_seen_at"] > TOUCH_EVERY:
        await _touch(row["session_id"], now)
    return _info(row)


@use_case
async def _touch(session_id: uuid.UUID, now: dt.datetime) -> None:
    await execute("UPDATE staff_session SET last_seen_at = {} WHERE id = {}", now, session_id)


@use_case
async def log_out(token: str) -> None:
    """End the session ``token`` (nothing happens for an unknown one)."""
    await execute("DELETE FROM staff_session WHERE token_hash = {}", _token_hash(token))


@use_case
async def set_password(username: str, password: str, actor: str = "cli") -> None:
    """Give ``username`` a new password; their open sessions end and the waits its failed logins
    set are cleared (guesses at the old password no longer matter)."""
    check_password(password)
    row = await fetch_one("SELECT id FROM staff WHERE username = {}", username)
    if row is None:
        raise ValidationError(field="username", reason=Reason(f"no staff {username!r}", f"没有员工 {username!r}"))
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    await execute("UPDATE staff SET password_hash = {} WHERE id = {}", password_hash, row["id"])
    await execute("DELETE FROM staff_session WHERE staff_id = {}", row["id"])
    await throttle.clear(username, with_addresses=False)
    await audit.record(actor, "staff.password", "staff", row["id"])


@use_case
async def set_language(staff_id: uuid.UUID, language: str) -> None:
    """Remember the console language a staff member chose."""
    if language not in LANGUAGES:
        raise ValidationError(
            field="language", reason=Reason(" or ".join(LANGUAGES), f"只能是 {' 或 '.join(LANGUAGES)}")
        )
    await execute("UPDATE staff SET language = {} WHERE id = {}", language, staff_id)


async def list_staff(merchant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The merchant's staff (never the password hash), by username."""
    return await fetch(
        "SELECT s.id, s.username, s.display_name, s.role, s.language, s.created_at, s.disabled_at,"
        " st.code AS store FROM staff s LEFT JOIN store st ON st.id = s.store_id"
        " WHERE s.merchant_id = {} ORDER BY s.username",
        merchant_id,
    )


@use_case
async def disable_staff(staff_id: uuid.UUID, merchant_id: uuid.UUID, actor: str) -> None:
    """Disable an account of ``merchant_id`` (离职): it cannot log in and its sessions end now.
    An owner cannot disable themselves (someone must keep the keys)."""
    rows = await fetch(
        "UPDATE staff SET disabled_at = {} WHERE id = {} AND merchant_id = {} AND disabled_at IS NULL"
        " RETURNING username",
        _now(),
        staff_id,
        merchant_id,
    )
    if not rows:
        raise ValidationError(
            field="staff", reason=Reason("no active account of this merchant", "不是本商户的有效账号")
        )
    if actor_of(rows[0]["username"]) == actor:
        raise ValidationError(field="staff", reason=Reason("you cannot disable your own account", "不能停用自己的账号"))
    await execute("DELETE FROM staff_session WHERE staff_id = {}", staff_id)
    await audit.record(actor, "staff.disable", "staff", staff_id, details={"username": rows[0]["username"]})


async def staff_account(staff_id: uuid.UUID, merchant_id: uuid.UUID) -> dict[str, Any]:
    """One account of ``merchant_id`` (never the password hash) with its failed logins
    (``trouble``: see :func:`login_trouble`); ``ValidationError`` for another merchant's."""
    row = await fetch_one(
        "SELECT id, username, display_name, role, disabled_at FROM staff WHERE id = {} AND merchant_id = {}",
        staff_id,
        merchant_id,
    )
    if row is None:
        raise ValidationError(field="staff", reason=Reason("no account of this merchant", "不是本商户的账号"))
    row["trouble"] = (await throttle.state_of([row["username"]], _now())).get(row["username"])
    return row


async def login_trouble(merchant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The merchant's accounts with recent failed logins, by username: how many (``failures``),
    from how many addresses (``addresses``), and until when the longest wait runs
    (``waits_until``, None when nobody has to wait)."""
    rows = await fetch("SELECT username FROM staff WHERE merchant_id = {}", merchant_id)
    return await throttle.state_of([row["username"] for row in rows], _now())


@use_case
async def unlock_staff(username: str, actor: str = "cli", merchant_id: uuid.UUID | None = None) -> list[str]:
    """Clear the login throttle of ``username`` (解锁): its failed logins are forgotten, and so
    are the counts of the addresses they came from, so it logs in at once from where it usually
    does. Audited as ``staff.unlock``. ``merchant_id`` limits it to that merchant's accounts (the
    console); the CLI may unlock any. Returns the addresses whose waits were cleared."""
    row = await fetch_one("SELECT id, username, merchant_id FROM staff WHERE username = {}", username.strip())
    if row is None or (merchant_id is not None and row["merchant_id"] != merchant_id):
        raise ValidationError(field="username", reason=Reason(f"no staff {username!r}", f"没有员工 {username!r}"))
    addresses = await throttle.clear(row["username"])
    await audit.record(
        actor, "staff.unlock", "staff", row["id"], details={"username": row["username"], "addresses": addresses}
    )
    return addresses


@use_case
async def prune_sessions(before: dt.datetime) -> int:
    """Delete sessions that expired before ``before``; how many."""
    rows = await fetch("DELETE FROM staff_session WHERE expires_at < {} RETURNING id", before)
    return len(rows)
