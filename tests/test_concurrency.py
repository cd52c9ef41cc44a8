"""Concurrent redemptions never overdraw; concurrent replays of one key have one effect."""

from __future__ import annotations

import asyncio

import pytest

from membership.db import fetch
from membership.errors import IdempotencyConflict, IdempotencyKeyInUse, InsufficientPoints
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.sales import service as sales
from tests.helpers import ledger_violations, make_shop


async def test_1000_concurrent_one_point_redemptions_against_100_points(any_db):
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 100, "活动赠送", "admin")

    async def redeem(i: int):
        try:
            return await ledger.redeem_points(shop.member_id, 1, shop.store_id, f"兑换 {i}")
        except InsufficientPoints as exc:
            return exc

    results = await asyncio.gather(*(redeem(i) for i in range(1000)))
    succeeded = [r for r in results if isinstance(r, ledger.PointsResult)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 100
    assert len(refused) == 900
    assert all(r.code == "insufficient_points" and "1" in r.detail("en") for r in refused)
    assert (await ledger.balances(shop.member_id)).points == 0
    assert len(await fetch("SELECT id FROM ledger_posting WHERE kind = 'redeem'")) == 100
    assert await ledger_violations() == []


async def test_one_idempotency_key_replayed_concurrently_has_one_effect(any_db):
    shop = await make_shop()
    lines = [LineInput("6901", 1, 9_900)]

    async def submit():
        return await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, lines, idempotency_key="till-7-42"
        )

    answers = await asyncio.gather(*(submit() for _ in range(20)), return_exceptions=True)
    # PostgreSQL answers "still in flight" at once; SQLite queues writers, so replays follow
    assert all(isinstance(a, IdempotencyKeyInUse) for a in answers if isinstance(a, BaseException))
    results = [a for a in answers if not isinstance(a, BaseException)]
    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert {(r.points_earned, r.balances) for r in results} == {(99, results[0].balances)}
    assert len(await fetch("SELECT id FROM sale")) == 1
    assert (await ledger.balances(shop.member_id)).points == 99

    other = [LineInput("6901", 2, 9_900)]
    with pytest.raises(IdempotencyConflict):
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, other, idempotency_key="till-7-42")
    assert await ledger_violations() == []


async def test_concurrent_purchases_and_redemptions_keep_the_ledger_sound(any_db):
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 50, "赠送", "admin")

    async def buy(i: int):
        return await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [LineInput(f"s{i}", 1, 1_000)]
        )

    async def spend(i: int):
        try:
            return await ledger.redeem_points(shop.member_id, 7, shop.store_id)
        except InsufficientPoints as exc:
            return exc

    results = await asyncio.gather(*(buy(i) if i % 2 else spend(i) for i in range(100)))
    spent = sum(7 for r in results if isinstance(r, ledger.PointsResult))
    assert (await ledger.balances(shop.member_id)).points == 50 + 50 * 10 - spent
    assert await ledger_violations() == []
