"""Login protection without denial of service (issue 17, item 5).

Whoever fails waits, growing waits, by (account, address) pair and by address; nothing a stranger
does at one address refuses the owner's right password at another. The clock is moved by hand
(``service._now``), never slept on; the account's soft pause is recorded, not waited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys

import argon2
import httpx
import pytest

from membership.db import fetch, fetch_one
from membership.errors import LoginFailed, LoginThrottled, ValidationError
from membership.staff import service, throttle
from tests.console_client import PASSWORD, csrf_of, log_in, text_of
from tests.helpers import make_shop

ATTACKER = "203.0.113.66"
OWNER_AT = "198.51.100.7"
WRONG = "guess-0000"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch) -> None:
    """Argon2id at its lowest cost: these tests check hundreds of passwords, not the hash."""
    monkeypatch.setattr(service, "_hasher", argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(service, "_now", moved)
    return moved


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    """The soft pauses asked for (recorded instead of slept)."""
    asked: list[float] = []

    async def pause(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(service, "_pause", pause)
    return asked


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The passwords actually verified against a hash, in order."""
    passwords: list[str] = []
    verify = service._verify

    def counting(password_hash: str, password: str) -> bool:
        passwords.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", counting)
    return passwords


def client_at(console, address: str) -> httpx.AsyncClient:
    """A browser at ``address`` (the address the server sees)."""
    transport = httpx.ASGITransport(app=console.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def attempt(username: str, password: str, address: str) -> str | int:
    """One login through the service: "ok", "wrong", or the seconds it was told to wait."""
    try:
        await service.log_in(username, password, address)
    except LoginFailed:
        return "wrong"
    except LoginThrottled as refused:
        return refused.retry_after
    return "ok"


async def fail_until(username: str, address: str, failures: int, clock: Clock) -> list[int]:
    """Fail ``failures`` times from ``address``, each time after waiting as told; the waits."""
    waits = []
    done = 0
    while done < failures:
        answer = await attempt(username, WRONG, address)
        if answer == "wrong":
            done += 1
        else:
            assert isinstance(answer, int), answer
            waits.append(answer)
            clock.advance(answer)
    return waits


async def test_an_attacker_failing_50_times_does_not_stop_boss_logging_in_from_elsewhere(console, clock, pauses):
    await service.create_staff("boss", PASSWORD, "owner", merchant_id=console.shop.merchant_id)
    waits = await fail_until("boss", ATTACKER, 50, clock)
    assert waits and max(waits) == throttle.MAX_WAIT.total_seconds()  # the attacker was slowed to the cap
    assert isinstance(await attempt("boss", WRONG, ATTACKER), int)  # and still is
    assert pauses and set(pauses) == {throttle.ACCOUNT_PAUSE}  # an account under attack answers a second later
    pauses.clear()
    async with client_at(console, OWNER_AT) as owner:
        answer = await log_in(owner, "boss")
        assert answer.status_code == 303, text_of(answer.text)  # the right password, another address: in
        assert (await owner.get("/console/staff")).status_code == 200
    assert pauses == [throttle.ACCOUNT_PAUSE]  # the attack costs the owner a second, no more

    async with client_at(console, ATTACKER) as attacker:  # the attacker's address still waits, even
        refused = await log_in(attacker, "boss")  # with the right password
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


async def test_the_attacker_waits_longer_after_each_failure_and_is_refused_unchecked(console, clock, checked):
    for _ in range(throttle.PAIR_FREE):  # a few typing mistakes cost nothing
        assert await attempt("clerk", WRONG, ATTACKER) == "wrong"
    waits = []
    for _ in range(14):
        assert await attempt("clerk", WRONG, ATTACKER) == "wrong"
        verified = len(checked)
        wait = await attempt("clerk", WRONG, ATTACKER)
        assert isinstance(wait, int)
        assert await attempt("clerk", PASSWORD, ATTACKER) == wait  # the right password waits too
        clock.advance(wait - 0.5)
        assert await attempt("clerk", PASSWORD, ATTACKER) == 1  # half a second left: still refused
        assert len(checked) == verified  # refused before any password was checked
        clock.advance(0.5)
        waits.append(wait)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]


async def test_the_wait_is_said_in_chinese_and_english_with_retry_after(console, clock):
    await fail_until("clerk", ATTACKER, throttle.PAIR_FREE + 3, clock)  # the next attempt waits 4 s
    async with client_at(console, ATTACKER) as client:
        chinese = await log_in(client, "clerk")
        form = {"username": "clerk", "password": PASSWORD, "_csrf_token": csrf_of(client)}
        english = await client.post("/console/login", data=form, headers={"Accept-Language": "en"})
    assert chinese.status_code == 429 and chinese.headers["retry-after"] == "4"
    assert "登录失败次数过多，请 4 秒后再试" in text_of(chinese.text)
    assert english.status_code == 429 and english.headers["retry-after"] == "4"
    assert "try again in 4 seconds" in text_of(english.text)


async def test_an_address_failing_across_30_accounts_waits_but_the_accounts_work_elsewhere(console, clock, pauses):
    names = [f"clerk{i:02d}" for i in range(30)]
    for name in names:
        await service.create_staff(name, PASSWORD, "clerk", merchant_id=console.shop.merchant_id)
    waits = []
    for name in names:  # one guess each: no pair fails twice, the address fails 30 times
        waits += await fail_until(name, ATTACKER, 1, clock)
    assert len(waits) == 30 - throttle.ADDRESS_FREE - 1
    assert waits == sorted(waits) and waits[0] == 1 and waits[-1] >= 256  # the waits grow
    assert isinstance(await attempt("clerk00", PASSWORD, ATTACKER), int)  # the address waits, whatever name
    async with client_at(console, OWNER_AT) as shop:
        for name in (names[0], names[15], names[29]):
            assert (await log_in(shop, name)).status_code == 303, name  # the accounts work from elsewhere
    assert await attempt("clerk", PASSWORD, "192.0.2.1") == "ok"
    assert pauses == []  # one failure per account: no account is under attack
    audit = await fetch("SELECT object_type, object_id FROM audit_log WHERE action = 'staff.login_throttled'")
    assert audit == [{"object_type": "address", "object_id": ATTACKER}]


async def test_a_successful_login_resets_the_pair_and_gives_the_address_its_count_back(console, clock):
    for _ in range(throttle.PAIR_FREE):
        assert await attempt("clerk", WRONG, ATTACKER) == "wrong"
    assert await attempt("clerk", PASSWORD, ATTACKER) == "ok"
    assert await throttle_row("pair", "clerk", ATTACKER) is None
    for _ in range(throttle.PAIR_FREE):  # free again: the pair started over
        assert await attempt("clerk", WRONG, ATTACKER) == "wrong"
    assert await attempt("clerk", PASSWORD, ATTACKER) == "ok"
    place = await throttle_row("address", "", ATTACKER)
    assert place["failures"] == 2 * throttle.PAIR_FREE  # the two logins were given back
    for _ in range(throttle.ADDRESS_FREE):  # a busy shop's logins never add up to a wait
        assert await attempt("manager", PASSWORD, ATTACKER) == "ok"
    assert (await throttle_row("address", "", ATTACKER))["failures"] == 2 * throttle.PAIR_FREE
    for name in ("analyst", "owner", "nobody", "manager"):  # the shop's address at its last free failure
        assert await attempt(name, WRONG, ATTACKER) == "wrong"
    assert (await throttle_row("address", "", ATTACKER))["failures"] == throttle.ADDRESS_FREE
    for name in ("manager", "analyst", "owner"):  # each success was counted as the 11th failure, then given back
        assert await attempt(name, PASSWORD, ATTACKER) == "ok"
    assert await throttle_row("address", "", ATTACKER) == {"failures": throttle.ADDRESS_FREE, "blocked_until": None}


async def test_the_owner_unlocks_an_account_in_the_console_after_a_confirmation(console, clock):
    await fail_until("clerk", ATTACKER, throttle.PAIR_FREE + 10, clock)  # the next attempt waits 512 s
    assert await attempt("clerk", PASSWORD, ATTACKER) == 512
    clerk = await fetch_one("SELECT id FROM staff WHERE username = 'clerk'")
    async with console.logged_in("owner") as owner:
        listing = text_of((await owner.get("/console/staff")).text)
        assert "最近登录失败 13 次，涉及 1 个地址" in listing and "解锁" in listing
        question = await owner.get(f"/console/staff/{clerk['id']}/unlock")
        assert question.status_code == 200
        assert "确认解锁" in question.text and ATTACKER in question.text
        unconfirmed = await owner.post(f"/console/staff/{clerk['id']}/unlock", data={"_csrf_token": csrf_of(owner)})
        assert unconfirmed.status_code == 200 and "确认解锁" in unconfirmed.text  # asked again, nothing done
        assert await attempt("clerk", PASSWORD, ATTACKER) == 512
        unlocked = await owner.post(
            f"/console/staff/{clerk['id']}/unlock", data={"confirm": "yes", "_csrf_token": csrf_of(owner)}
        )
        assert unlocked.status_code == 303 and unlocked.headers["location"] == "/console/staff?done=unlocked"
        after = text_of((await owner.get(unlocked.headers["location"])).text)
        assert "账号已解锁" in after and "最近登录失败" not in after
    assert await attempt("clerk", PASSWORD, ATTACKER) == "ok"  # at once, from the same address
    audit = await fetch("SELECT actor, object_id, details FROM audit_log WHERE action = 'staff.unlock'")
    assert [(row["actor"], row["object_id"]) for row in audit] == [("staff:owner", str(clerk["id"]))]
    assert ATTACKER in audit[0]["details"]


async def test_a_manager_cannot_unlock_and_an_owner_only_their_merchant_s_accounts(console, clock):
    clerk = await fetch_one("SELECT id FROM staff WHERE username = 'clerk'")
    async with console.logged_in("manager") as manager:
        refused = await manager.post(
            f"/console/staff/{clerk['id']}/unlock", data={"confirm": "yes", "_csrf_token": csrf_of(manager)}
        )
    assert refused.status_code == 403
    other = await make_shop()
    await service.create_staff("elsewhere", PASSWORD, "clerk", merchant_id=other.merchant_id)
    with pytest.raises(ValidationError, match="no staff 'elsewhere'"):
        await service.unlock_staff("elsewhere", "staff:owner", merchant_id=console.shop.merchant_id)


async def test_membership_staff_unlock_clears_the_throttle_and_is_audited(db, console, clock, tmp_path):
    await fail_until("clerk", ATTACKER, throttle.PAIR_FREE + 10, clock)
    assert isinstance(await attempt("clerk", PASSWORD, ATTACKER), int)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env.update(MEMBERSHIP_DATABASE_URL=db.database_url, MEMBERSHIP_SECRET_KEY=db.secret_key)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "membership.cli", "staff", "unlock", "clerk"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Unlocked clerk" in result.stdout and ATTACKER in result.stdout
    assert await attempt("clerk", PASSWORD, ATTACKER) == "ok"
    audit = await fetch("SELECT actor FROM audit_log WHERE action = 'staff.unlock'")
    assert audit == [{"actor": "cli"}]
    unknown = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "membership.cli", "staff", "unlock", "nobody"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "nobody" in unknown.stderr and "Traceback" not in unknown.stderr


async def test_a_new_password_clears_the_account_s_waits(console, clock):
    await fail_until("clerk", ATTACKER, throttle.PAIR_FREE + 2, clock)
    await service.set_password("clerk", "新密码-2026-abc", actor="staff:owner")
    assert await attempt("clerk", "新密码-2026-abc", ATTACKER) == "ok"


async def test_counts_are_forgotten_after_an_hour_without_failures(console, clock):
    await fail_until("clerk", ATTACKER, throttle.PAIR_FREE + 5, clock)
    clock.advance(throttle.FORGET_AFTER.total_seconds() + 1)
    for _ in range(throttle.PAIR_FREE):
        assert await attempt("clerk", WRONG, ATTACKER) == "wrong"  # free again
    await attempt("clerk", WRONG, ATTACKER)
    assert await attempt("clerk", WRONG, ATTACKER) == 1
    rows = await fetch("SELECT scope FROM staff_login_throttle ORDER BY scope")
    assert [row["scope"] for row in rows] == ["account", "address", "pair"]  # nothing left over


async def test_an_ipv6_line_counts_as_one_address(console, clock):
    for i in range(throttle.PAIR_FREE + 1):  # a new address of the same /64 each time
        assert await attempt("clerk", WRONG, f"2001:db8:1:2::{i + 1:x}") == "wrong"
    assert await attempt("clerk", WRONG, "2001:db8:1:2:ffff::1") == 1
    assert await attempt("clerk", PASSWORD, "2001:db8:1:3::1") == "ok"  # the next /64 is someone else


@pytest.mark.parametrize("attempts", [20])
async def test_attempts_sent_at_once_pass_no_more_than_the_free_ones(any_db, attempts, clock, checked):
    shop = await make_shop()
    await service.create_staff("boss", PASSWORD, "owner", merchant_id=shop.merchant_id)
    answers = await asyncio.gather(*(attempt("boss", WRONG, ATTACKER) for _ in range(attempts)))
    assert answers.count("wrong") == throttle.PAIR_FREE + 1  # counted before checking: no burst gets through
    assert len(checked) == throttle.PAIR_FREE + 1
    assert all(isinstance(answer, int) for answer in answers if answer != "wrong")
    assert await attempt("boss", PASSWORD, OWNER_AT) == "ok"  # another worker, another address: in


async def test_a_shop_at_its_last_free_failure_logs_in_one_after_another(any_db, clock):
    shop = await make_shop()
    for name in ("boss", "clerk"):
        await service.create_staff(name, PASSWORD, "clerk", merchant_id=shop.merchant_id)
    for i in range(throttle.ADDRESS_FREE):  # typing mistakes of the whole shop, one address
        assert await attempt(f"nobody{i}", WRONG, ATTACKER) == "wrong"
    for name in ("boss", "clerk", "boss", "clerk"):  # no success leaves a wait behind for the next
        assert await attempt(name, PASSWORD, ATTACKER) == "ok"
    assert await throttle_row("address", "", ATTACKER) == {"failures": throttle.ADDRESS_FREE, "blocked_until": None}
    assert await attempt("nobody", WRONG, ATTACKER) == "wrong"  # the 11th failure: now the address waits
    assert await attempt("boss", PASSWORD, ATTACKER) == 1


def test_waits_double_from_one_second_up_to_the_cap():
    assert [throttle.wait_after(n, 3).total_seconds() for n in range(1, 8)] == [0, 0, 0, 1, 2, 4, 8]
    assert throttle.wait_after(10_000, 3) == throttle.MAX_WAIT
    assert throttle.place_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttle.place_of("::ffff:10.0.0.1") == "10.0.0.1"


async def throttle_row(scope: str, username: str, address: str):
    return await fetch_one(
        "SELECT failures, blocked_until FROM staff_login_throttle WHERE scope = {} AND username = {} AND address = {}",
        scope,
        username,
        throttle.place_of(address) if address else "",
    )
