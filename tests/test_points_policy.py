"""The points policy: purchase points pending through the return window (a refund inside it
cancels them; the release job makes them spendable and repays any debt), expiry at the end of a
month or year, and warnings before points expire — every job twice changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import pytest

from membership import hookimpl
from membership.db import fetch, fetch_one
from membership.errors import InsufficientPoints
from membership.ledger import service as ledger
from membership.ledger.pending import release_pending_points, warn_expiring_points
from membership.ledger.rules import LineInput
from membership.org.service import update_settings
from membership.sales import service as sales
from membership.testing import deliver_events
from tests.helpers import ledger_violations, make_shop

DAY = dt.timedelta(days=1)


def _no_progress(done: int, total: int) -> None:
    pass


async def _policy(shop, **policy):
    await update_settings(shop.program.id, {"points_policy": policy})


async def _buy(shop, yuan: int):
    return await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, yuan * 100)])


async def test_purchase_points_wait_for_the_return_window_and_a_refund_inside_it_cancels_them(any_db):
    shop = await make_shop()
    await _policy(shop, pending_days=7, expiry="days_after", expiry_days=365)
    kept, returned = await _buy(shop, 120), await _buy(shop, 30)
    balances = await ledger.balances(shop.member_id)
    assert (balances.points, balances.points_pending) == (0, 150)
    with pytest.raises(InsufficientPoints):
        await ledger.redeem_points(shop.member_id, 10)
    await sales.refund(returned.id, idempotency_key="return-1")
    balances = await ledger.balances(shop.member_id)
    assert (balances.points, balances.points_pending, balances.points_debt) == (0, 120, 0)
    now = dt.datetime.now(dt.UTC)
    assert (await release_pending_points(now + 6 * DAY, _no_progress)).processed == 0
    released = await release_pending_points(now + 7 * DAY + dt.timedelta(minutes=1), _no_progress)
    assert released.processed == 1 and "120 pending points" in released.summary
    assert (await release_pending_points(now + 8 * DAY, _no_progress)).processed == 0
    balances = await ledger.balances(shop.member_id)
    assert (balances.points, balances.points_pending) == (120, 0)
    lot = await fetch_one("SELECT expires_at, available_at FROM points_lot WHERE remaining > 0")
    assert lot["available_at"] is None and lot["expires_at"] is not None  # kept its expiry
    assert kept.points_earned == 120
    assert await ledger_violations() == []


async def test_released_points_repay_a_debt_first(any_db):
    shop = await make_shop()
    first = await _buy(shop, 100)
    await ledger.redeem_points(shop.member_id, 100)
    await sales.refund(first.id, idempotency_key="r")
    assert (await ledger.balances(shop.member_id)).points_debt == -100
    await _policy(shop, pending_days=7)
    await _buy(shop, 120)
    await release_pending_points(dt.datetime.now(dt.UTC) + 8 * DAY, _no_progress)
    balances = await ledger.balances(shop.member_id)
    assert (balances.points, balances.points_debt, balances.points_pending) == (20, 0, 0)
    assert await ledger_violations() == []


async def test_a_debt_is_never_repaid_with_points_past_their_expiry(any_db):
    shop = await make_shop()
    first = await _buy(shop, 100)
    await ledger.redeem_points(shop.member_id, 100)
    await sales.refund(first.id, idempotency_key="r")  # 100 spent points owed
    await _policy(shop, pending_days=7, expiry="days_after", expiry_days=5)
    await _buy(shop, 120)  # pending for 7 days, but valid for 5
    await release_pending_points(dt.datetime.now(dt.UTC) + 8 * DAY, _no_progress)
    balances = await ledger.balances(shop.member_id)
    assert (balances.points, balances.points_debt) == (0, -100)  # expired points repay nothing
    lot = await fetch_one("SELECT remaining, expired FROM points_lot WHERE points = 120")
    assert (lot["remaining"], lot["expired"]) == (0, 120)
    assert await ledger_violations() == []


@pytest.mark.parametrize(
    ("policy", "expected_local"),
    [
        ({"expiry": "end_of_year", "expiry_months": 12}, dt.datetime(2028, 1, 1)),  # 次年年底
        ({"expiry": "end_of_month", "expiry_months": 3}, dt.datetime(2027, 3, 1)),
        ({"expiry": "days_after", "expiry_days": 30}, dt.datetime(2026, 12, 15, 10, 30)),
        ({"expiry": "never"}, None),
    ],
)
async def test_expiry_policies(db, policy, expected_local):
    shop = await make_shop()
    await _policy(shop, **policy)
    earned = dt.datetime(2026, 11, 15, 10, 30, tzinfo=shop.program.zone)
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 100)], now=earned)
    lot = await fetch_one("SELECT expires_at FROM points_lot")
    expected = expected_local and expected_local.replace(tzinfo=shop.program.zone).astimezone(dt.UTC)
    assert lot["expires_at"] == expected


async def test_members_are_warned_once_before_their_points_expire(any_db, register_plugin):
    heard = []

    class Listener:
        @hookimpl
        def membership_event(self, event):
            if event.name == "points.expiring":
                heard.append((event.member_id, event.data["points"]))

    register_plugin(Listener(), name="listener")
    shop = await make_shop()
    await _policy(shop, expiry="days_after", expiry_days=20, warn_days=30)
    await _buy(shop, 80)
    await _buy(shop, 20)
    now = dt.datetime.now(dt.UTC)
    first = await warn_expiring_points(now, _no_progress)
    await deliver_events()
    assert first.processed == 2 and heard == [(shop.member_id, 100)]
    assert (await warn_expiring_points(now, _no_progress)).processed == 0
    await deliver_events()
    assert len(heard) == 1


async def test_warnings_in_small_chunks_tell_every_member_of_every_lot_once(any_db, register_plugin):
    from membership.members import service as members

    heard: Counter[uuid.UUID] = Counter()

    class Listener:
        @hookimpl
        def membership_event(self, event):
            if event.name == "points.expiring":
                heard[event.member_id] += event.data["points"]

    register_plugin(Listener(), name="listener")
    shop = await make_shop()
    await _policy(shop, expiry="days_after", expiry_days=20, warn_days=30)
    ids = [shop.member_id] + [
        (await members.enrol(shop.program.id, {"name": f"会员{i}", "phone": f"1391234{i:04d}"})).id for i in range(4)
    ]
    for n, member_id in enumerate(ids):
        for points in range(1, n + 2):  # 1, 2, … lots: chunks of 2 lots end inside accounts
            await ledger.adjust_points(member_id, points, "活动", "admin")
    result = await warn_expiring_points(dt.datetime.now(dt.UTC), _no_progress, chunk_size=2)
    await deliver_events()
    assert result.processed == 15
    assert heard == {member_id: sum(range(1, n + 2)) for n, member_id in enumerate(ids)}
    assert await fetch("SELECT id FROM points_lot WHERE warned_at IS NULL") == []
    assert (await warn_expiring_points(dt.datetime.now(dt.UTC), _no_progress, chunk_size=2)).processed == 0


async def test_the_points_policy_through_the_api(api):
    path = f"/programs/{api.shop.program.id}/points-policy"
    assert (await api.call("GET", path, "read")).json()["expiry"] == "days_after"  # the shop's 365 days
    body = {"pending_days": 7, "expiry": "end_of_year", "expiry_months": 12, "warn_days": 30}
    answer = await api.call("PUT", path, "admin", body)
    assert answer.status_code == 200 and answer.json()["pending_days"] == 7
    bought = await api.buy(api.sale(10_000))
    assert bought.json()["balances"]["points_pending"] == 100 and bought.json()["balances"]["points"] == 0
    bad = await api.call("PUT", path, "admin", {"expiry": "days_after"})
    assert bad.status_code == 422 and "expiry_days" in bad.json()["detail"]
    assert await fetch("SELECT action FROM audit_log WHERE action = 'program.settings'") != []
