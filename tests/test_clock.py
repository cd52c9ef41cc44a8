"""A clock for jobs and tests: ``membership jobs run NAME --at …`` runs a job as of a given time
(a year of rules in seconds, through the runner and the CLI; a run "in the past" after a later
one undoes nothing), and every balance a till or an app sees is spendable now: a lot past its
expiry leaves the balance before the expiry job writes it off, and is never spent. A member's
points lots through the API (paged, merchant-bound) and on the console."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from zoneinfo import ZoneInfo

import pytest

from membership.access.service import create_api_key
from membership.coupons import service as coupons
from membership.db import fetch, fetch_one, use_case
from membership.db.sql import recorded_statements
from membership.errors import InsufficientPoints, ValidationError
from membership.jobs import runner
from membership.jobs.clock import parse_as_of
from membership.ledger import service as ledger
from membership.ledger.accounts import Kind
from membership.ledger.rules import Award, LineInput
from membership.ledger.service import MemberAccounts, PostingWriter, credit_points
from membership.members import service as members
from membership.org import service as org
from membership.org.service import get_program, update_settings
from membership.sales import service as sales
from membership.tiers import paid
from membership.tiers import service as tiers
from tests.console_client import text_of
from tests.helpers import ledger_violations, make_shop

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)
WEEK = 7 * DAY
# the scheduled jobs in the order a day runs them (00:05 … 03:50), as an operator catching up would
JOBS = [
    "expire-coupons",
    "grant-birthday-coupons",
    "expire-paid-memberships",
    "release-pending-points",
    "expire-points",
    "review-tiers",
    "purge-idempotency-keys",
    "prune-reader-reads",
    "apply-retention",
    "warn-expiring-points",
]


async def _stored_points(member_id: uuid.UUID) -> int:
    """The points balance the ledger stores: the sum of its entries, expiry written or not."""
    row = await fetch_one("SELECT balance FROM ledger_account WHERE member_id = {} AND kind = 'points'", member_id)
    return int(row["balance"])


async def _lot_past_expiry(member_id: uuid.UUID, points: int, ago: dt.timedelta = DAY) -> None:
    """Give the member ``points`` in a lot whose expiry passed ``ago`` (the job has not run)."""
    result = await ledger.adjust_points(member_id, points, "补偿", "admin")
    expired = dt.datetime.now(dt.UTC) - ago
    await fetch("UPDATE points_lot SET expires_at = {} WHERE posting_id = {}", expired, result.posting_id)


# -- the time an operator names -------------------------------------------------------------------


def test_as_of_is_read_in_the_deployment_zone_unless_it_has_an_offset():
    shanghai_midnight = dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    assert parse_as_of("2027-01-01T00:00", "Asia/Shanghai") == shanghai_midnight
    assert parse_as_of(" 2027-01-01 00:00 ", "Asia/Shanghai") == shanghai_midnight
    assert parse_as_of("2027-01-01", "Asia/Shanghai") == shanghai_midnight  # a date: its midnight
    assert parse_as_of("2027-01-01T00:00+08:00", "Europe/Berlin") == shanghai_midnight
    assert parse_as_of("2026-12-31T16:00Z", "Asia/Shanghai") == shanghai_midnight
    assert parse_as_of("2027-07-01T12:00", "Europe/Berlin") == dt.datetime(2027, 7, 1, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "zone", "en", "zh"),
    [
        ("next tuesday", "Asia/Shanghai", "is not a time: write it as 2027-01-01T00:00", "不是有效的时间"),
        ("2027-13-01", "Asia/Shanghai", "is not a time", "不是有效的时间"),
        ("", "Asia/Shanghai", "is not a time", "不是有效的时间"),
        ("1970-01-01", "Asia/Shanghai", "the year must be from 2000 to 2199", "年份须在 2000 到 2199 之间"),
        ("9999-12-31T23:59", "Asia/Shanghai", "the year must be from 2000 to 2199", "超出范围"),
        ("2027-03-28T02:30", "Europe/Berlin", "does not exist in Europe/Berlin", "时钟跳过"),
        ("2027-10-31T02:30", "Europe/Berlin", "happens twice in Europe/Berlin", "2027-10-31T02:30+02:00"),
    ],
)
def test_a_bad_time_is_one_clear_line_in_both_languages(text, zone, en, zh):
    with pytest.raises(ValidationError) as caught:
        parse_as_of(text, zone)
    assert en in caught.value.detail("en") and zh in caught.value.detail("zh")
    assert caught.value.detail("en").startswith("Invalid --at:")
    assert "\n" not in caught.value.detail("en") + caught.value.detail("zh")


# -- balances are what can be spent now --------------------------------------------------------------


async def test_a_lot_past_its_expiry_leaves_every_balance_before_the_job_writes_it_off(any_api):
    api = any_api
    member = api.shop.member_id
    await ledger.adjust_points(member, 50, "赠送", "admin")
    await _lot_past_expiry(member, 100)
    assert await _stored_points(member) == 150  # the ledger's balance: the sum of its entries
    balances = await api.call("GET", f"/members/{member}/balances", "read")
    assert balances.status_code == 200 and balances.json()["points"] == 50
    found = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13812345678"})
    assert found.json()["balances"]["points"] == 50
    bought = await api.buy(api.sale(9_900))  # earns 99 without spending: nothing written off at the till
    assert bought.status_code == 201 and bought.json()["balances"]["points"] == 50 + 99
    assert await _stored_points(member) == 150 + 99
    signed = await api.call("POST", f"/members/{member}/sign-ins")
    assert signed.json()["balances"]["points"] == 149
    topped = await api.call("POST", f"/members/{member}/stored-value/top-up", "pos", {"amount": 1_000})
    assert topped.json()["balances"]["points"] == 149
    lots = (await api.call("GET", f"/members/{member}/points-lots", "read")).json()["items"]
    gone = next(lot for lot in lots if lot["points"] == 100)
    assert (gone["state"], gone["remaining"], gone["expired"], gone["spent"]) == ("expired", 0, 100, 0)
    assert await ledger_violations() == []

    expired = await runner.run_job("expire-points")
    assert expired.result.processed == 1  # the job writes the entries now …
    assert await _stored_points(member) == 149  # … and the stored balance meets the shown one
    assert (await api.call("GET", f"/members/{member}/balances", "read")).json()["points"] == 149
    entry = await fetch_one(
        "SELECT e.amount FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE a.member_id = {} AND e.rule = 'expiry'",
        member,
    )
    assert entry["amount"] == -100
    lots = (await api.call("GET", f"/members/{member}/points-lots", "read")).json()["items"]
    gone = next(lot for lot in lots if lot["points"] == 100)
    assert (gone["state"], gone["remaining"], gone["expired"]) == ("expired", 0, 100)  # the same, written
    assert (await runner.run_job("expire-points")).result.processed == 0
    assert await ledger_violations() == []


async def test_redemption_never_spends_points_past_their_expiry(any_api):
    api = any_api
    member = api.shop.member_id
    await ledger.adjust_points(member, 50, "赠送", "admin")
    await _lot_past_expiry(member, 100)
    with pytest.raises(InsufficientPoints) as caught:
        await ledger.redeem_points(member, 120)
    assert caught.value.params == {"requested": 120, "available": 50}
    assert await _stored_points(member) == 150  # refused whole: the inline expiry rolled back too
    refused = await api.call(
        "POST", f"/members/{member}/points/redeem", "pos", {"points": 51}, **{"Idempotency-Key": "r-51"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_points"
    paid_with = api.sale(9_900, payments=[{"method": "points", "points": 51}, {"method": "cash", "amount": 9_849}])
    refused = await api.buy(paid_with)  # nor paying part of a purchase with them
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_points", refused.text

    redeemed = await api.call(
        "POST", f"/members/{member}/points/redeem", "pos", {"points": 50}, **{"Idempotency-Key": "r-50"}
    )
    assert redeemed.status_code == 201 and redeemed.json()["balances"]["points"] == 0
    assert await _stored_points(member) == 0  # the redemption wrote the expired lot off first
    consumed = await fetch(
        "SELECT l.points, c.points AS taken FROM points_lot_consumption c JOIN points_lot l ON l.id = c.lot_id"
    )
    assert consumed == [{"points": 50, "taken": 50}]  # only the spendable lot was spent
    assert (await runner.run_job("expire-points")).result.processed == 0
    assert await ledger_violations() == []


async def test_balances_are_one_statement_and_tell_what_expires_soon(any_api):
    api = any_api
    member = api.shop.member_id
    soon = await ledger.adjust_points(member, 100, "赠送", "admin")
    later = await ledger.adjust_points(member, 40, "赠送", "admin")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    await fetch("UPDATE points_lot SET expires_at = {} WHERE posting_id = {}", now + 10 * DAY, soon.posting_id)
    await fetch("UPDATE points_lot SET expires_at = {} WHERE posting_id = {}", now + 200 * DAY, later.posting_id)
    body = (await api.call("GET", f"/members/{member}/balances", "read")).json()
    assert (body["points"], body["points_expiring"], body["points_expiring_days"]) == (140, 100, 30)
    assert dt.datetime.fromisoformat(body["next_expiry_at"]) == now + 10 * DAY
    await update_settings(api.shop.program.id, {"points_policy": {**_POLICY, "warn_days": 300}})
    body = (await api.call("GET", f"/members/{member}/balances", "read")).json()
    assert (body["points_expiring"], body["points_expiring_days"]) == (140, 300)  # the program's warn_days
    await fetch("UPDATE points_lot SET expires_at = {} WHERE posting_id = {}", now - DAY, soon.posting_id)
    body = (await api.call("GET", f"/members/{member}/balances", "read")).json()
    assert (body["points"], body["points_expiring"]) == (40, 40)
    assert dt.datetime.fromisoformat(body["next_expiry_at"]) == now + 200 * DAY

    program = await get_program(api.shop.program.id)
    with recorded_statements() as statements:
        accounts = await MemberAccounts.load(program, member)
    assert len(statements) == 1 and accounts.balances().points == 40 and accounts.due == 100
    for n in range(30):  # more lots, the same one statement
        await ledger.adjust_points(member, 1, f"赠送 {n}", "admin")
    with recorded_statements() as statements:
        accounts = await MemberAccounts.load(program, member)
    assert len(statements) == 1 and accounts.balances().points == 70


_POLICY = {"expiry": "days_after", "expiry_days": 365}


async def test_a_till_that_read_before_the_job_wrote_the_expiry_still_answers_what_is_spendable(any_db):
    """The expiry job may write a lot off between a till's reading of the accounts and its write:
    the till's answer then reads what is due again instead of leaving it out twice."""
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 50, "赠送", "admin")
    await _lot_past_expiry(shop.member_id, 100)
    program = await get_program(shop.program.id)
    accounts = await MemberAccounts.load(program, shop.member_id)  # the till reads …
    assert (accounts.balances().points, accounts.due) == (50, 100)
    assert (await runner.run_job("expire-points")).result.processed == 1  # … the job commits …

    @use_case
    async def earn() -> None:  # … and the till earns 10 points
        now = dt.datetime.now(dt.UTC)
        writer = await PostingWriter(program, "adjust", shop.member_id, now, operator="till", reason="补录").open()
        await credit_points(writer, accounts, [Award("manual", 10, "补录")], Kind.POINTS_ADJUSTED)
        await writer.close()

    await earn()
    assert (accounts.balances().points, accounts.due) == (60, 0)
    assert await _stored_points(shop.member_id) == 60
    assert await ledger_violations() == []


# -- points lots ----------------------------------------------------------------------------------------


async def test_points_lots_are_paged_latest_first_and_bound_to_the_merchant(any_api):
    api = any_api
    member = api.shop.member_id
    for points in (10, 20, 30, 40, 50):
        await ledger.adjust_points(member, points, f"赠送 {points}", "admin")
    await ledger.redeem_points(member, 15)  # nearest expiry first: all of the first lot, 5 of the second
    path = f"/members/{member}/points-lots"
    first = (await api.call("GET", path, "read", params={"page_size": 2})).json()
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 5)
    assert [lot["points"] for lot in first["items"]] == [50, 40]
    last = (await api.call("GET", path, "store", params={"page": 3, "page_size": 2})).json()
    assert [(lot["points"], lot["remaining"], lot["spent"], lot["state"]) for lot in last["items"]] == [
        (10, 0, 10, "spent")
    ]
    middle = (await api.call("GET", path, "read", params={"page": 2, "page_size": 2})).json()["items"]
    assert [(lot["points"], lot["remaining"], lot["state"]) for lot in middle] == [
        (30, 30, "available"),
        (20, 15, "available"),
    ]
    assert all(lot["expires_at"] and lot["available_at"] is None for lot in first["items"] + middle)
    beyond = (await api.call("GET", path, "read", params={"page": 9, "page_size": 2})).json()
    assert beyond["items"] == [] and beyond["total"] == 5
    assert (await api.call("GET", path, "read", params={"page_size": 0})).status_code == 422
    assert (await api.call("GET", path, None)).status_code == 401

    other = await org.create_merchant("别家超市")
    stranger = (await create_api_key("other-read", ["read"], merchant_id=other)).secret
    answer = await api.call("GET", path, stranger)
    assert answer.status_code == 404 and answer.json()["code"] == "member_not_found"
    other_program = await org.create_program(other, "别家会员")
    theirs = await members.enrol(other_program.id, {"name": "李娜"})
    answer = await api.call("GET", f"/members/{theirs.id}/points-lots", "read")
    assert answer.status_code == 404  # our key, their member: not found either
    assert (await api.call("GET", f"/members/{uuid.uuid4()}/points-lots", "read")).status_code == 404


async def test_pending_lots_show_when_they_become_spendable(any_db):
    shop = await make_shop()
    await update_settings(shop.program.id, {"points_policy": {**_POLICY, "pending_days": 7}})
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 5_000)])
    lots, total = await ledger.points_lots_page(shop.member_id)
    assert total == 1 and (lots[0]["state"], lots[0]["remaining"]) == ("pending", 50)
    assert lots[0]["available_at"] - lots[0]["earned_at"] == 7 * DAY
    released = await runner.run_job("release-pending-points", as_of=lots[0]["available_at"])
    assert released.result.processed == 1
    lots, _ = await ledger.points_lots_page(shop.member_id)
    assert (lots[0]["state"], lots[0]["remaining"], lots[0]["available_at"]) == ("available", 50, None)


async def test_the_member_page_shows_spendable_points_and_every_lot(console):
    shop = console.shop
    await ledger.adjust_points(shop.member_id, 50, "赠送", "admin")
    await _lot_past_expiry(shop.member_id, 100)
    async with console.logged_in("clerk") as client:
        html = (await client.get(f"/console/members/{shop.member_id}")).text
        counter = (await client.get(f"/console/counter/members/{shop.member_id}")).text
    assert '<dd class="points">50</dd>' in html  # not 150: the 100 are past their expiry
    assert '<dd class="points">50</dd>' in counter
    page = text_of(html)
    assert "积分批次" in page and "已过期" in page and "可用" in page
    assert 'class="lot-expired"' in html and 'class="lot-available"' in html
    assert "最近到期" in page


# -- a year of rules in seconds --------------------------------------------------------------------------


TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 100},
    {"code": "gold", "name": "金卡", "threshold": 1000},
]


async def _a_year_of_rules():
    """A shop with every rule a job applies: points pending 7 days and expiring 90 days after
    earning (warned 30 days ahead), tiers reviewed every 60 days over a 180-day window, a 30-day
    paid plan, and a birthday coupon. One member buys gold at once; another buys the paid plan;
    the first one's birthday comes in week 15."""
    shop = await make_shop()
    start = dt.datetime.now(dt.UTC)
    policy = {"expiry": "days_after", "expiry_days": 90, "pending_days": 7, "warn_days": 30}
    await update_settings(shop.program.id, {"points_policy": policy})
    tier_policy = {"window_days": 180, "period_days": 60, "grace_days": 0, "downgrade": "one_down"}
    await tiers.configure(shop.program.id, TIERS, tier_policy, "test")
    await update_settings(
        shop.program.id, {"paid_plans": [{"code": "m", "name": "月卡", "tier": "gold", "fee": 3_000, "days": 30}]}
    )
    birthday = (start + 15 * WEEK).astimezone(ZONE).date().replace(year=1992)
    await fetch("UPDATE member SET birthday = {} WHERE id = {}", birthday, shop.member_id)
    template = {"code": "bday", "name": "生日券", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
    await coupons.create_template(shop.program.id, {**template, "issue_on": "birthday"})
    bought = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 120_000)])
    assert bought.tier == "gold" and bought.balances.points == 0  # 1200 points pending
    subscriber = await members.enrol(shop.program.id, {"name": "李娜", "phone": "13912345678"})
    await paid.buy(subscriber.id, "m", "cash", shop.store_id)
    return shop, subscriber.id, start


async def _state(member_ids: list[uuid.UUID]) -> dict:
    """What the jobs may have changed, to compare before and after."""
    return {
        "members": await fetch(
            "SELECT id, tier, tier_review_at FROM member WHERE id IN ({}, {}) ORDER BY id", *member_ids
        ),
        "tier_changes": (await fetch_one("SELECT COUNT(*) AS n FROM tier_change"))["n"],
        "entries": (await fetch_one("SELECT COUNT(*) AS n FROM ledger_entry"))["n"],
        "lots": await fetch("SELECT id, remaining, expired, available_at, warned_at FROM points_lot ORDER BY id"),
        "coupons": await fetch("SELECT id, state FROM coupon ORDER BY id"),
        "paid": await fetch("SELECT id, status FROM paid_membership ORDER BY id"),
    }


async def test_a_year_of_rules_in_seconds_through_the_runner(any_db):
    shop, subscriber, start = await _a_year_of_rules()
    steps = [start + week * WEEK for week in range(1, 54)]
    clock = asyncio.get_running_loop().time()
    for as_of in steps:
        for name in JOBS:
            outcome = await runner.run_job(name, as_of=as_of)
            assert outcome.result is not None, name
    assert asyncio.get_running_loop().time() - clock < 60  # a year: seconds, not a year

    assert await _stored_points(shop.member_id) == 0  # released in week 2, expired in week 13
    expiry = await fetch_one("SELECT created_at FROM ledger_posting WHERE kind = 'expire'")
    assert expiry["created_at"] == start + 13 * WEEK  # dated as of the run that wrote it off
    release = await fetch_one("SELECT created_at FROM ledger_posting WHERE kind = 'release'")
    assert release["created_at"] == start + 2 * WEEK
    lot = await fetch_one("SELECT warned_at, expired FROM points_lot")
    assert lot["warned_at"] == start + 9 * WEEK and lot["expired"] == 1200  # warned 27 days ahead

    changes = await fetch(
        "SELECT member_id, from_tier, to_tier, reason, created_at FROM tier_change ORDER BY created_at"
    )
    mine = [
        (c["from_tier"], c["to_tier"], c["reason"], c["created_at"])
        for c in changes
        if c["member_id"] == shop.member_id
    ]
    assert mine[0][:3] == (None, "gold", "upgrade")
    assert [c[:3] for c in mine[1:]] == [
        ("gold", "gold", "renewal"),  # week 9: the purchase is in the 180-day window
        ("gold", "gold", "renewal"),  # week 18
        ("gold", "silver", "downgrade"),  # week 27: out of the window, one tier down
        ("silver", None, "downgrade"),  # week 36
    ]
    assert [c[3] for c in mine[1:]] == [start + week * WEEK for week in (9, 18, 27, 36)]
    theirs = [(c["to_tier"], c["reason"], c["created_at"]) for c in changes if c["member_id"] == subscriber]
    assert theirs == [("gold", "paid", theirs[0][2]), (None, "paid_expired", start + 5 * WEEK)]
    assert (await fetch_one("SELECT status FROM paid_membership"))["status"] == "expired"

    coupon = await fetch_one("SELECT occasion, issued_at, state FROM coupon")
    assert coupon["issued_at"] == start + 15 * WEEK and coupon["state"] == "expired"
    assert coupon["occasion"] == f"birthday:{(start + 15 * WEEK).astimezone(ZONE).year}"

    runs = await fetch("SELECT as_of FROM job_run WHERE name = 'expire-points' ORDER BY as_of")
    assert [r["as_of"] for r in runs] == steps  # each run recorded the time it ran as of
    assert await ledger_violations() == []

    after_the_year = await _state([shop.member_id, subscriber])
    for as_of in (steps[-1], start + 10 * DAY, start + 20 * WEEK):  # again, and "in the past"
        for name in JOBS:
            assert (await runner.run_job(name, as_of=as_of)).result.processed == 0, (name, as_of)
    assert await _state([shop.member_id, subscriber]) == after_the_year  # nothing undone, nothing twice
    assert await ledger_violations() == []


def _cli(*args: str, settings, cwd) -> subprocess.CompletedProcess:
    """``membership ARGS`` in a subprocess, on the test's database (given in the environment)."""
    from tests.conftest import SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env.update(
        MEMBERSHIP_DATABASE_URL=settings.database_url,
        MEMBERSHIP_SECRET_KEY=SECRET,
        MEMBERSHIP_TIME_ZONE="Asia/Shanghai",
        COLUMNS="250",
    )
    return subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_jobs_run_at_through_the_cli(any_db, tmp_path):
    settings = any_db
    shop = await make_shop()  # points expire 365 days after they are earned
    await ledger.adjust_points(shop.member_id, 100, "赠送", "admin")
    start = dt.datetime.now(dt.UTC)
    later = (start + 400 * DAY).astimezone(ZONE).replace(second=0, microsecond=0)
    at = later.strftime("%Y-%m-%dT%H:%M")

    ran = await asyncio.to_thread(_cli, "jobs", "run", "expire-points", "--at", at, settings=settings, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert f"as of {later:%Y-%m-%d %H:%M} Asia/Shanghai" in ran.stdout and "days ahead of now" in ran.stdout
    assert "100 points expired in 1 lots" in ran.stdout
    assert await _stored_points(shop.member_id) == 0
    run = await fetch_one("SELECT as_of, started_at FROM job_run WHERE name = 'expire-points'")
    assert run["as_of"] == later.astimezone(dt.UTC) and run["started_at"] < start + DAY
    listing = await asyncio.to_thread(_cli, "jobs", "list", settings=settings, cwd=tmp_path)
    assert listing.returncode == 0 and "as of" in listing.stdout and f"{later:%Y-%m-%d %H:%M}" in listing.stdout

    past = (start + 10 * DAY).astimezone(ZONE).strftime("%Y-%m-%d %H:%M")  # after the later run: no undo
    again = await asyncio.to_thread(
        _cli, "jobs", "run", "expire-points", "--at", f"{past}", settings=settings, cwd=tmp_path
    )
    assert again.returncode == 0 and "0 points expired" in again.stdout, again.stderr

    bad = await asyncio.to_thread(
        _cli, "jobs", "run", "expire-points", "--at", "next tuesday", settings=settings, cwd=tmp_path
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "validation_error" in bad.stderr and "--at" in bad.stderr and "2027-01-01T00:00" in bad.stderr
    assert "━" not in bad.stdout  # refused before the progress bar
    assert len(await fetch("SELECT id FROM job_run")) == 2  # the refused run left no trace
    assert await ledger_violations() == []
