"""Purchases, redemptions, stored value, refunds and expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from membership.db import fetch, fetch_one, is_sqlite
from membership.errors import (
    DuplicateReceipt,
    IdempotencyConflict,
    InsufficientPoints,
    InsufficientStoredValue,
    RedemptionNotAllowed,
    SaleFullyRefunded,
    ValidationError,
)
from membership.ledger import service as ledger
from membership.ledger.expiry import expire_points
from membership.ledger.rules import LineInput
from membership.sales import service as sales
from membership.sales.service import PaymentInput
from membership.tiers.service import review_tiers
from tests.helpers import ledger_violations, make_shop

COFFEE = LineInput("6901", 2, 12_850, "咖啡", "drink")  # ¥257.00


def _no_progress(done: int, total: int) -> None:
    pass


async def test_purchase_earns_one_point_per_yuan_rounded_down(any_db):
    shop = await make_shop()
    result = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [COFFEE, LineInput("x", 1, 99)]
    )
    assert result.total == 25_799
    assert result.points_earned == 257 and result.growth_earned == 257
    assert [(a.rule, a.points) for a in result.awards] == [("base", 257)]
    assert "257" in result.awards[0].reason
    assert result.balances.points == 257
    assert await ledger_violations() == []


async def test_same_idempotency_key_replays_and_different_payload_conflicts(any_db):
    shop = await make_shop()
    first = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [COFFEE], idempotency_key="pos-1-0001"
    )
    again = await sales.record_purchase(
        shop.program.id, shop.store_id, shop.member_id, [COFFEE], idempotency_key="pos-1-0001"
    )
    assert again.replayed and not first.replayed
    assert again.id == first.id and again.balances == first.balances and again.awards == first.awards
    assert (await ledger.balances(shop.member_id)).points == 257
    with pytest.raises(IdempotencyConflict) as caught:
        await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [LineInput("6901", 3, 12_850)], idempotency_key="pos-1-0001"
        )
    assert caught.value.code == "idempotency_conflict"
    assert len(await fetch("SELECT id FROM sale")) == 1


async def test_same_receipt_number_never_earns_twice(any_db):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE], receipt_no="R-001")
    with pytest.raises(DuplicateReceipt):
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE], receipt_no="R-001")
    # the same receipt number at another store is another receipt
    await sales.record_purchase(shop.program.id, shop.other_store_id, shop.member_id, [COFFEE], receipt_no="R-001")
    assert (await ledger.balances(shop.member_id)).points == 514


async def test_pay_with_points_and_stored_value(any_db):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE])  # 257 points
    await ledger.top_up(shop.member_id, 10_000, shop.store_id)
    result = await sales.record_purchase(
        shop.program.id,
        shop.store_id,
        shop.member_id,
        [LineInput("tea", 1, 15_000)],
        payments=[
            PaymentInput("points", points=200),
            PaymentInput("stored_value", 10_000),
            PaymentInput("cash", 4_800),
        ],
    )
    # 200 points pay ¥2.00 (1 fen a point); the ¥148 paid otherwise earns 148 points
    assert result.points_redeemed == 200 and result.points_earned == 148
    assert result.balances.points == 257 - 200 + 148
    assert result.balances.stored_value == 0
    with pytest.raises(InsufficientStoredValue):
        await sales.record_purchase(
            shop.program.id,
            shop.store_id,
            shop.member_id,
            [COFFEE],
            payments=[PaymentInput("stored_value", COFFEE.amount)],
        )
    with pytest.raises(ValidationError):
        await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [COFFEE], payments=[PaymentInput("cash", 1)]
        )
    assert await ledger_violations() == []


async def test_refund_after_points_were_spent_records_debt_that_later_earnings_repay(any_db):
    shop = await make_shop()
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE])  # +257
    await ledger.redeem_points(shop.member_id, 200, shop.store_id)
    refund = await sales.refund(sale.id)
    assert refund.points_reversed == 257 and refund.points_debt == 200
    assert refund.balances.points == 0 and refund.balances.points_debt == -200
    assert refund.growth_reversed == 257
    later = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("rice", 1, 50_000)])
    assert later.points_earned == 500
    assert later.balances.points_debt == 0 and later.balances.points == 300
    reasons = {row["rule"] for row in await fetch("SELECT rule FROM ledger_entry")}
    assert "debt_repayment" in reasons
    assert await ledger_violations() == []


async def test_partial_refunds_reverse_pro_rata_and_add_up_exactly(any_db):
    shop = await make_shop()
    lines = [LineInput("a", 3, 3_333), LineInput("b", 1, 1)]
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, lines)  # 10_000 → 100 points
    parts = [
        await sales.refund(sale.id, {1: 1}),
        await sales.refund(sale.id, {1: 1}),
        await sales.refund(sale.id, {1: 1, 2: 1}),
    ]
    assert sum(p.points_reversed for p in parts) == 100
    assert sum(p.amount for p in parts) == 10_000
    row = await fetch_one("SELECT status, refunded_amount FROM sale WHERE id = {}", sale.id)
    assert row["status"] == "refunded" and row["refunded_amount"] == 10_000
    with pytest.raises(SaleFullyRefunded):
        await sales.refund(sale.id)
    assert await ledger_violations() == []


async def test_refund_gives_back_points_paid_with_their_original_expiry(any_db):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE])
    lot = await fetch_one("SELECT expires_at FROM points_lot")
    paid = await sales.record_purchase(
        shop.program.id,
        shop.store_id,
        shop.member_id,
        [LineInput("tea", 1, 100)],
        payments=[PaymentInput("points", points=100)],
    )
    refund = await sales.refund(paid.id, idempotency_key="refund-1")
    assert refund.points_returned == 100
    given_back = await fetch_one("SELECT points, expires_at FROM points_lot ORDER BY earned_at DESC, points LIMIT 1")
    assert given_back["points"] == 100 and given_back["expires_at"] == lot["expires_at"]
    assert (await sales.refund(paid.id, idempotency_key="refund-1")).replayed
    assert await ledger_violations() == []


async def test_redemption_consumes_nearest_expiry_first_and_expiry_job_is_idempotent(any_db):
    shop = await make_shop()
    member = shop.member_id
    await ledger.adjust_points(member, 100, "老积分", "admin")
    await fetch("UPDATE points_lot SET expires_at = {}", dt.datetime.now(dt.UTC) + dt.timedelta(days=10))
    await ledger.adjust_points(member, 100, "新积分", "admin")  # expires in 365 days
    await ledger.redeem_points(member, 60)
    lots = await fetch("SELECT remaining, expires_at FROM points_lot ORDER BY expires_at")
    assert [lot["remaining"] for lot in lots] == [40, 100]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    first = await expire_points(later, _no_progress, chunk_size=1)
    assert first.processed == 1 and "40 points" in first.summary
    second = await expire_points(later, _no_progress)
    assert second.processed == 0
    assert (await ledger.balances(member)).points == 100
    assert await ledger_violations() == []


async def test_redeem_expires_due_lots_before_checking_the_balance(any_db):
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 100, "赠送", "admin")
    await fetch("UPDATE points_lot SET expires_at = {}", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    with pytest.raises(InsufficientPoints) as caught:
        await ledger.redeem_points(shop.member_id, 50)
    assert caught.value.params == {"requested": 50, "available": 0}
    # the refused redemption rolled back whole, its inline expiry too; the job expires them
    stored = "SELECT balance FROM ledger_account WHERE member_id = {} AND kind = 'points'"
    assert (await fetch_one(stored, shop.member_id))["balance"] == 100
    assert (await ledger.balances(shop.member_id)).points == 0  # shown as spendable: none
    assert (await expire_points(dt.datetime.now(dt.UTC), _no_progress)).processed == 1
    assert (await fetch_one(stored, shop.member_id))["balance"] == 0
    assert (await ledger.balances(shop.member_id)).points == 0
    assert await ledger_violations() == []


async def test_expiry_job_processes_many_accounts_in_chunks(any_db):
    """Chunks take whole accounts (all their due lots: one entry each per run); on PostgreSQL two
    workers share the accounts between them, on SQLite a chunk takes the next accounts in account
    order."""
    from membership.members import service as members

    shop = await make_shop()
    ids = [shop.member_id] + [
        (await members.enrol(shop.program.id, {"name": f"会员{i}", "phone": f"1391234{i:04d}"})).id for i in range(30)
    ]
    for member_id in ids:
        await ledger.adjust_points(member_id, 7, "活动", "admin")
        await ledger.adjust_points(member_id, 3, "活动", "admin")
    seen = []
    result = await expire_points(
        dt.datetime.now(dt.UTC) + dt.timedelta(days=366), lambda d, t: seen.append((d, t)), chunk_size=8
    )
    assert result.processed == 62 and "310 points expired in 62 lots of 31 member accounts" in result.summary
    assert result.summary.startswith("过期积分 310")
    assert seen[0] == (0, 62) and seen[-1] == (62, 62)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    if is_sqlite():  # 8 accounts a chunk: 31 accounts in 4 chunks
        assert len(seen) == 5
    entries = await fetch(
        "SELECT a.kind, COUNT(*) AS n, CAST(SUM(e.amount) AS BIGINT) AS total FROM ledger_entry e"
        " JOIN ledger_account a ON a.id = e.account_id WHERE e.rule = 'expiry' GROUP BY a.kind ORDER BY a.kind"
    )
    by_kind = {e["kind"]: (e["n"], e["total"]) for e in entries}  # one entry per account, one contra per chunk
    assert by_kind["points"] == (31, -310) and by_kind["system.points_expired"][1] == 310
    assert await ledger_violations() == []


async def test_manual_adjustment_needs_a_reason_and_is_audited(any_db):
    shop = await make_shop()
    with pytest.raises(ValidationError):
        await ledger.adjust_points(shop.member_id, 10, " ", "admin")
    await ledger.adjust_points(shop.member_id, 10, "客诉补偿", "staff:li")
    row = await fetch_one("SELECT actor, action, details FROM audit_log WHERE action = 'points.adjust'")
    assert row["actor"] == "staff:li" and "客诉补偿" in str(row["details"])
    with pytest.raises(InsufficientPoints):
        await ledger.adjust_points(shop.member_id, -11, "扣减", "staff:li")


async def test_program_minimum_redemption_is_enforced(db):
    shop = await make_shop(settings={"min_redeem_points": 100})
    await ledger.adjust_points(shop.member_id, 500, "赠送", "admin")
    with pytest.raises(RedemptionNotAllowed) as caught:
        await ledger.redeem_points(shop.member_id, 50)
    assert caught.value.detail("zh") == "不允许兑换：每次至少使用 100 积分"
    assert caught.value.detail("en") == "Redemption refused: at least 100 points per redemption"
    assert (await ledger.redeem_points(shop.member_id, 100)).balances.points == 400


async def test_tier_rises_with_growth_and_a_refund_takes_back_the_tier_it_gave(any_db):
    tiers = [{"code": "silver", "name": "银卡", "min_growth": 200, "points_multiplier_pct": 150}]
    shop = await make_shop(settings={"tiers": tiers})
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE])
    assert sale.tier == "silver"  # 257 growth ≥ 200 (inclusive bound)
    second = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("x", 1, 10_000)])
    assert second.points_earned == 150  # silver earns ×1.5
    await sales.refund(sale.id)
    row = await fetch_one("SELECT tier, tier_review_at FROM member WHERE id = {}", shop.member_id)
    assert row["tier"] is None and row["tier_review_at"] is None  # 100 growth left, below silver: taken back
    assert (await review_tiers(dt.datetime.now(dt.UTC), lambda done, total: None)).processed == 0


async def test_points_of_a_replayed_offline_sale_expire_from_the_sale_day(db):
    shop = await make_shop(settings={"backdate_days": 30})
    sold_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [COFFEE], occurred_at=sold_at)
    lot = await fetch_one("SELECT earned_at, expires_at FROM points_lot")
    assert lot["earned_at"] == sold_at
    assert lot["expires_at"] == sold_at + dt.timedelta(days=365)


async def test_a_lot_expires_all_at_once(any_db):
    """A lot with points left has expired none (the expiry job counts on it)."""
    from membership.db import execute

    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 10, "活动", "admin")
    with pytest.raises(Exception, match="expired_only_when_empty"):
        await execute("UPDATE points_lot SET expired = 1")
    await execute("UPDATE points_lot SET expired = remaining, remaining = 0")  # all at once is fine


async def test_sqlite_stores_lots_by_account_and_the_rebuild_keeps_them(db):
    """Migration 2026-11-30T14:00 rebuilt SQLite's lots in account order: run again over lots,
    consumptions and checks in use, it keeps every row and reference and the checks hold."""
    import importlib

    from membership.db import execute

    rebuild = importlib.import_module("membership.ledger.piccolo_migrations.ledger_2026_11_30t14_00_00_000000")
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 30, "活动", "admin")
    await ledger.adjust_points(shop.member_id, 50, "活动", "admin")
    await ledger.redeem_points(shop.member_id, 40)
    before = await fetch("SELECT * FROM points_lot ORDER BY id"), await fetch("SELECT * FROM points_lot_consumption")
    table = await fetch_one("SELECT sql FROM sqlite_master WHERE name = 'points_lot'")
    assert "WITHOUT ROWID" in table["sql"] and 'PRIMARY KEY ("account_id", "id")' in table["sql"]
    for statement in rebuild._SQLITE_REBUILD:
        await execute(statement)
    after = await fetch("SELECT * FROM points_lot ORDER BY id"), await fetch("SELECT * FROM points_lot_consumption")
    assert after == before and len(before[1]) == 2
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await execute("UPDATE points_lot_consumption SET lot_id = {}", shop.member_id)
    with pytest.raises(Exception, match="remaining_in_range"):
        await execute("UPDATE points_lot SET remaining = points + 1")
    with pytest.raises(Exception, match="expired_only_when_empty"):
        await execute("UPDATE points_lot SET expired = 1")
    assert await ledger_violations() == []
