"""小票补录积分: tills send the receipts they record without a member; a member claims one within
the claim window, once, and it becomes their purchase through the kernel (points, tier, receipt
number); made-up, late or repeated claims are refused; the API refuses where the pack is off."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from membership.plugin import Conflict, LineInput, balances, fetch_one
from membership.sales import service as sales
from membership.testing import Clock, enable_plugin, make_member, make_program
from membership_retail import member_prices, receipts
from membership_retail.errors import ClaimTooLate, ReceiptClaimed, ReceiptDiffers, ReceiptNotFound

LINES = [LineInput("6901", 2, 3_500, "伊利纯牛奶", "乳品", "伊利"), LineInput("7001", 1, 3_000, "大米")]


async def _keep(retail, number="SH01-0001", when=None, lines=LINES):
    when = when or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return await receipts.keep_receipt(retail.program, retail.shop.store_id, number, when, lines)


async def test_a_member_claims_a_receipt_once_and_it_earns_as_a_purchase(retail):
    await member_prices.set_member_price(retail.program, "sku", "6901", "", price=1_000)  # not for a paid receipt
    kept, new = await _keep(retail)
    assert new and kept.total == 10_000 and not kept.claimed
    shop = retail.shop
    claim = await receipts.claim_receipt(retail.program, shop.member_id, shop.store_id, "SH01-0001", "staff:clerk")
    assert (claim.total, claim.points_earned) == (10_000, 100)
    assert (await balances(shop.member_id)).points == 100
    sale = await fetch_one(
        "SELECT receipt_no, total, member_discount, attributes FROM sale WHERE id = {}", claim.sale_id
    )
    assert sale["receipt_no"] == "SH01-0001" and sale["total"] == 10_000 and sale["member_discount"] == 0
    with pytest.raises(ReceiptClaimed) as again:
        await receipts.claim_receipt(retail.program, shop.member_id, shop.store_id, "SH01-0001")
    assert "已于" in again.value.detail("zh")
    other = await make_member(retail.program.id, "李娜")
    with pytest.raises(ReceiptClaimed):
        await receipts.claim_receipt(retail.program, other, shop.store_id, "SH01-0001")
    assert (await receipts.receipt_at(retail.program.id, shop.store_id, "SH01-0001")).claimed


async def test_a_receipt_sent_again_is_kept_once_and_another_with_its_number_is_refused(retail):
    when = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    first, new = await _keep(retail, when=when)
    second, again = await _keep(retail, when=when)
    assert new and not again and first.id == second.id
    with pytest.raises(ReceiptDiffers):
        await _keep(retail, when=when, lines=LINES[:1])


async def test_only_within_the_claim_window_and_only_receipts_a_till_sent(retail):
    program = await enable_plugin(retail.program.id, "retail", {"claim_days": 3})
    clock = Clock(dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC))  # 12:00 in Shanghai
    await receipts.keep_receipt(program, retail.shop.store_id, "R-1", clock.now, LINES, now=clock.now)
    with pytest.raises(ReceiptNotFound):
        await receipts.claim_receipt(program, retail.shop.member_id, retail.shop.store_id, "R-404", now=clock.now)
    clock.advance(days=3, hours=11)  # 23:00 on the third day after: still in time
    late = clock.now + dt.timedelta(hours=2)
    with pytest.raises(ClaimTooLate) as refused:
        await receipts.claim_receipt(program, retail.shop.member_id, retail.shop.store_id, "R-1", now=late)
    assert refused.value.detail("zh") == "小票 R-1 的消费日期是 2026-12-01，只能在消费后 3 天内补录积分。"
    claim = await receipts.claim_receipt(program, retail.shop.member_id, retail.shop.store_id, "R-1", now=clock.now)
    assert claim.points_earned == 100


async def test_a_receipt_the_till_recorded_for_a_member_does_not_earn_twice(retail):
    shop = retail.shop
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, LINES, receipt_no="SH01-0002")
    await _keep(retail, "SH01-0002")
    with pytest.raises(Conflict):
        await receipts.claim_receipt(retail.program, shop.member_id, shop.store_id, "SH01-0002")


async def test_two_claims_at_once_one_wins(retail):
    await _keep(retail)
    first, second = await make_member(retail.program.id, "王芳"), await make_member(retail.program.id, "刘洋")
    results = await asyncio.gather(
        *(receipts.claim_receipt(retail.program, m, retail.shop.store_id, "SH01-0001") for m in (first, second)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, receipts.ClaimResult) for r in results) == 1
    assert all(isinstance(r, receipts.ClaimResult | Conflict) for r in results)  # the other: receipt_claimed


async def test_forgotten_receipts_are_those_nobody_claimed_in_time(retail):
    now = dt.datetime.now(dt.UTC)
    await _keep(retail, "OLD-1", now - dt.timedelta(days=30))
    await _keep(retail, "OLD-2", now - dt.timedelta(days=30))
    await _keep(retail, "NEW-1", now - dt.timedelta(days=1))
    program = await enable_plugin(retail.program.id, "retail", {"claim_days": 30})
    await receipts.claim_receipt(program, retail.shop.member_id, retail.shop.store_id, "OLD-2")
    assert await receipts.forget_receipts(retail.program, now) == 1  # claim_days 7: twice is 14 days
    assert await receipts.receipt_at(retail.program.id, retail.shop.store_id, "OLD-1") is None
    assert await receipts.receipt_at(retail.program.id, retail.shop.store_id, "OLD-2") is not None


async def test_tills_and_apps_through_the_api(retail, retail_api):
    till = await retail_api("pos", store_id=retail.shop.store_id)
    receipt = {
        "receipt_no": "SH01-20261204-0042",
        "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
        "lines": [{"sku": "6901", "name": "伊利纯牛奶", "quantity": 2, "unit_price": 3_500}],
    }
    sent = await till.post("/retail/receipts", json=receipt)
    assert sent.status_code == 201, sent.text
    assert (await till.post("/retail/receipts", json=receipt)).status_code == 200
    app = await retail_api("pos")
    body = {"member_id": str(retail.shop.member_id), "receipt_no": "SH01-20261204-0042"}
    refused = await app.post("/retail/claims", json=body)  # a key of no store must name it
    assert refused.status_code == 422
    claimed = await app.post("/retail/claims", json={**body, "store_id": str(retail.shop.store_id)})
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["points_earned"] == 70
    again = await app.post("/retail/claims", json={**body, "store_id": str(retail.shop.store_id)})
    assert again.status_code == 409 and again.json()["code"] == "receipt_claimed"
    unknown = await app.post(
        "/retail/claims", json={**body, "receipt_no": "nope", "store_id": str(retail.shop.store_id)}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "receipt_not_found"


async def test_the_api_refuses_where_the_pack_is_off(retail, retail_api):
    await enable_plugin(retail.program.id, "retail", enabled=False)
    app = await retail_api("pos")
    body = {"member_id": str(retail.shop.member_id), "receipt_no": "X", "store_id": str(retail.shop.store_id)}
    off = await app.post("/retail/claims", json=body)
    assert off.status_code == 409 and off.json()["code"] == "retail_off"
    assert (await app.get("/retail/products")).status_code == 409
    stranger = await make_program(None, "别家的会员方案")
    other_member = await make_member(stranger.id)
    hidden = await app.post("/retail/claims", json={**body, "member_id": str(other_member)})
    assert hidden.status_code == 404  # another merchant's member does not exist for this key
