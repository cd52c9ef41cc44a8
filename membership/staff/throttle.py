"""The login throttle (登录限速): growing waits for whoever guesses, never a lock on the owner.

Failed logins are counted three ways, in the ``staff_login_throttle`` table:

* **pair** — one account from one address. The first :data:`PAIR_FREE` failures cost nothing;
  after each further one the next attempt of that pair waits 1 s, 2 s, 4 s … up to
  :data:`MAX_WAIT`. A successful login of the pair starts it over.
* **address** — one address, whichever names it tries (a password sprayed over many accounts):
  the first :data:`ADDRESS_FREE` are free, then the same growing waits.
* **account** — one account from anywhere. This one never refuses: once it counts
  :data:`ACCOUNT_SLOW_AFTER` failures, every attempt on the account is answered no sooner than
  :data:`ACCOUNT_PAUSE` after it came, the owner's too (a second, never a lock).

So a stranger can slow only their own address: the owner, from another address, logs in with
the right password however hard the account is hammered. An attempt during a wait is refused
(:class:`~membership.errors.LoginThrottled`, 429 with ``Retry-After``) before any password is
checked. Each attempt is counted *before* its password is checked, in one transaction that locks
the pair's and the address's rows, so a thousand attempts sent at once pass no more than the
free ones; a success gives its count back (:func:`succeeded`). A counter with no failure for
:data:`FORGET_AFTER` counts from zero. An IPv6 address counts by its /64 network (one
subscriber's prefix), so a stranger cannot walk through the addresses of their own line.

The counts live in the database, not in a worker's memory: with ``membership serve --workers N``
on PostgreSQL every worker sees the same counts (a per-process count would give each worker a
budget of its own, and a restart a fresh one). Owners clear an account's counts with
:func:`clear` (the console's staff page, ``membership staff unlock``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math
from typing import Any

from membership.db import any_of, execute, fetch, is_sqlite, new_id, use_case
from membership.errors import LoginThrottled

PAIR_FREE = 3
ADDRESS_FREE = 10
FIRST_WAIT = dt.timedelta(seconds=1)
MAX_WAIT = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=1)
ACCOUNT_SLOW_AFTER = 10
ACCOUNT_PAUSE = 1.0  # seconds

PAIR, ADDRESS, ACCOUNT = "pair", "address", "account"
_FREE = {PAIR: PAIR_FREE, ADDRESS: ADDRESS_FREE}
_COLUMNS = "id, scope, username, address, failures, blocked_until, last_failure_at"


def wait_after(failures: int, free: int) -> dt.timedelta:
    """How long the next attempt waits after ``failures`` failures in a row when the first
    ``free`` cost nothing: nothing, then 1 s, 2 s, 4 s … up to :data:`MAX_WAIT`.

    >>> [int(wait_after(n, 3).total_seconds()) for n in (3, 4, 5, 6, 14, 50)]
    [0, 1, 2, 4, 900, 900]
    """
    if failures <= free:
        return dt.timedelta(0)
    return min(MAX_WAIT, FIRST_WAIT * 2 ** min(failures - free - 1, 20))


def place_of(address: str) -> str:
    """The address a counter is kept for: IPv4 as it is, IPv6 by its /64 network, anything
    else (a test client's name) as given, at most 64 characters.

    >>> place_of("2001:db8:1:2:aaaa::1"), place_of("::ffff:10.0.0.1"), place_of("10.0.0.1")
    ('2001:db8:1:2::/64', '10.0.0.1', '10.0.0.1')
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def seconds_of(wait: dt.timedelta) -> int:
    """A wait in whole seconds, rounded up, at least 1 (what ``Retry-After`` says)."""
    return max(1, math.ceil(wait.total_seconds()))


@dataclasses.dataclass(frozen=True)
class Attempt:
    """A login attempt the throttle let through and counted as failed until it succeeds.

    ``before`` holds the address counter's wait and last failure as they were and ``ours``
    what this attempt wrote, so a success can give its count back without undoing a failure
    that came meanwhile; ``slow`` says the account is under attack (pause before checking)."""

    username: str
    address: str
    now: dt.datetime
    pair_failures: int
    address_failures: int
    before: tuple[dt.datetime | None, dt.datetime | None]
    ours: dt.datetime | None
    slow: bool


def _fresh(row: dict[str, Any] | None, now: dt.datetime) -> bool:
    return row is not None and row["last_failure_at"] >= now - FORGET_AFTER


def _wait(rows: dict[str, dict[str, Any]], now: dt.datetime) -> dt.timedelta:
    """The longest wait the pair's and the address's counters still ask for."""
    wait = dt.timedelta(0)
    for scope in (PAIR, ADDRESS):
        row = rows.get(scope)
        if _fresh(row, now) and row["blocked_until"] is not None and row["blocked_until"] > now:
            wait = max(wait, row["blocked_until"] - now)
    return wait


async def _counters(username: str, address: str, lock: bool = False) -> dict[str, dict[str, Any]]:
    """The pair's, the address's and the account's counters, by scope (locked with ``lock`` on
    PostgreSQL; SQLite's write transaction holds the whole database already)."""
    rows = await fetch(
        f"SELECT {_COLUMNS} FROM staff_login_throttle"
        " WHERE (scope = 'pair' AND username = {} AND address = {})"
        " OR (scope = 'address' AND username = '' AND address = {})"
        " OR (scope = 'account' AND username = {} AND address = '')"
        " ORDER BY scope" + (" FOR UPDATE" if lock and not is_sqlite() else ""),
        username,
        address,
        address,
        username,
    )
    return {row["scope"]: row for row in rows}


async def admit(username: str, address: str, now: dt.datetime) -> Attempt:
    """Let one login attempt of ``username`` from ``address`` through, counted as a failure until
    :func:`succeeded` says otherwise; :class:`LoginThrottled` while the pair or the address has
    to wait (then nothing is written and no password is checked)."""
    username, address = username.strip()[:50], place_of(address)
    wait = _wait(await _counters(username, address), now)  # a refusal costs a read, no write
    if wait:
        raise LoginThrottled(seconds=seconds_of(wait))
    return await _count(username, address, now)


@use_case
async def _count(username: str, address: str, now: dt.datetime) -> Attempt:
    for scope, name in ((ADDRESS, ""), (PAIR, username)):  # rows in one order: no deadlock
        await execute(
            "INSERT INTO staff_login_throttle (id, scope, username, address, failures, blocked_until,"
            " last_failure_at) VALUES ({}, {}, {}, {}, 0, NULL, {}) ON CONFLICT (scope, username, address) DO NOTHING",
            new_id(),
            scope,
            name,
            address,
            now,
        )
    rows = await _counters(username, address, lock=True)
    wait = _wait(rows, now)  # another worker's attempt may have counted since the read
    if wait:
        raise LoginThrottled(seconds=seconds_of(wait))
    counted: dict[str, tuple[int, dt.datetime | None]] = {}
    for scope in (ADDRESS, PAIR):
        row = rows[scope]
        failures = (row["failures"] if _fresh(row, now) else 0) + 1
        wait = wait_after(failures, _FREE[scope])
        blocked = now + wait if wait else None
        await execute(
            "UPDATE staff_login_throttle SET failures = {}, blocked_until = {}, last_failure_at = {} WHERE id = {}",
            failures,
            blocked,
            now,
            row["id"],
        )
        counted[scope] = failures, blocked
    place = rows[ADDRESS]
    before = (place["blocked_until"], place["last_failure_at"]) if _fresh(place, now) else (None, None)
    account = rows.get(ACCOUNT)
    return Attempt(
        username=username,
        address=address,
        now=now,
        pair_failures=counted[PAIR][0],
        address_failures=counted[ADDRESS][0],
        before=before,
        ours=counted[ADDRESS][1],
        slow=_fresh(account, now) and account["failures"] >= ACCOUNT_SLOW_AFTER,
    )


async def succeeded(attempt: Attempt) -> None:
    """The attempt's password was right (call inside the use case that opens the session): the
    pair starts over, and the address gets back the failure the attempt was counted as."""
    await execute(
        "DELETE FROM staff_login_throttle WHERE scope = 'pair' AND username = {} AND address = {}",
        attempt.username,
        attempt.address,
    )
    blocked, last = attempt.before
    await execute(
        "UPDATE staff_login_throttle SET failures = failures - 1,"
        " blocked_until = CASE WHEN blocked_until = {} THEN {} ELSE blocked_until END,"
        " last_failure_at = CASE WHEN last_failure_at = {} THEN {} ELSE last_failure_at END"
        " WHERE scope = 'address' AND username = '' AND address = {} AND failures > 0",
        attempt.ours,
        blocked,
        attempt.now,
        last or attempt.now,
        attempt.address,
    )
    await execute(
        "DELETE FROM staff_login_throttle WHERE scope = 'address' AND username = '' AND address = {} AND failures = 0",
        attempt.address,
    )


async def failed(attempt: Attempt) -> list[tuple[str, int]]:
    """The attempt's password was wrong (call inside a use case): the name's own count goes up
    (a made-up name's too, so the pause tells no one which names exist) and counters forgotten
    for :data:`FORGET_AFTER` are deleted. Returns the counters whose waits begin with this
    failure, as (scope, seconds), for the audit log."""
    now = attempt.now
    await execute(
        "INSERT INTO staff_login_throttle (id, scope, username, address, failures, blocked_until, last_failure_at)"
        " VALUES ({}, 'account', {}, '', 1, NULL, {}) ON CONFLICT (scope, username, address) DO UPDATE SET"
        " failures = CASE WHEN staff_login_throttle.last_failure_at < {} THEN 1"
        " ELSE staff_login_throttle.failures + 1 END, last_failure_at = excluded.last_failure_at",
        new_id(),
        attempt.username,
        now,
        now - FORGET_AFTER,
    )
    await execute("DELETE FROM staff_login_throttle WHERE last_failure_at < {}", now - FORGET_AFTER)
    begun = []
    for scope, failures in ((PAIR, attempt.pair_failures), (ADDRESS, attempt.address_failures)):
        if failures == _FREE[scope] + 1:
            begun.append((scope, seconds_of(wait_after(failures, _FREE[scope]))))
    return begun


async def clear(username: str, with_addresses: bool = True) -> list[str]:
    """Forget every failed login of ``username`` (call inside a use case): its pairs and its own
    count, and (``with_addresses``) the address counters of the addresses it failed from, so it
    can log in from where it usually does at once. Returns those addresses."""
    rows = await fetch(
        "SELECT DISTINCT address FROM staff_login_throttle WHERE scope = 'pair' AND username = {} ORDER BY address",
        username,
    )
    addresses = [row["address"] for row in rows]
    await execute(
        "DELETE FROM staff_login_throttle WHERE scope IN ('pair', 'account') AND username = {}",
        username,
    )
    if with_addresses and addresses:
        condition, argument = any_of("address", addresses)
        await execute(f"DELETE FROM staff_login_throttle WHERE scope = 'address' AND {condition}", argument)
    return addresses


async def state_of(usernames: list[str], now: dt.datetime) -> dict[str, dict[str, Any]]:
    """For the staff page: per username with recent failures, how many (``failures``, from
    anywhere, none more than :data:`FORGET_AFTER` apart), from how many ``addresses`` (which:
    ``places``), and until when the longest wait of one of its pairs runs (``waits_until``, None
    when none is waiting)."""
    if not usernames:
        return {}
    condition, argument = any_of("username", usernames)
    rows = await fetch(
        f"SELECT {_COLUMNS} FROM staff_login_throttle WHERE scope IN ('pair', 'account') AND {condition}"
        " AND last_failure_at >= {} ORDER BY address",
        argument,
        now - FORGET_AFTER,
    )
    state: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = state.setdefault(row["username"], {"failures": 0, "addresses": 0, "places": [], "waits_until": None})
        if row["scope"] == ACCOUNT:
            entry["failures"] = row["failures"]
            continue
        entry["addresses"] += 1
        entry["places"].append(row["address"])
        if row["blocked_until"] is not None and row["blocked_until"] > now:
            entry["waits_until"] = max(filter(None, (entry["waits_until"], row["blocked_until"])))
    return state
