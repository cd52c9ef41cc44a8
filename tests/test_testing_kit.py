"""The test kit plugin authors get from membership.testing: factories, a movable clock, an API
client with a key of a chosen scope, and plugins loaded through their entry points."""

from __future__ import annotations

from membership.ledger.service import balances
from membership.org.program_plugins import program_plugins
from membership.testing import (
    Clock,
    make_card,
    make_member,
    make_program,
    make_sale,
    make_store,
)
from tests.test_program_plugins import plugin_site  # noqa: F401 (a fixture: the throwaway package)


async def test_factories_make_a_working_shop(shop):
    assert shop.program.name == "测试会员" and shop.program.currency == "CNY"
    second_store = await make_store(shop.merchant_id)
    other = await make_member(shop.program.id, "李娜", store_id=second_store)
    card = await make_card(other)
    assert card["kind"] == "card_uid" and card["value"]
    sale = await make_sale(shop.program.id, second_store, other, 12_300, sku="A1")
    assert sale.total == 12_300 and sale.points_earned == 123
    assert (await shop.sale(1_000)).points_earned == 10
    program = await make_program(shop.merchant_id, "第二个方案", settings={"min_redeem_points": 100})
    assert program.merchant_id == shop.merchant_id and program.settings["min_redeem_points"] == 100


async def test_the_clock_moves_purchases_refunds_and_jobs(membership_db):
    program = await make_program(points_expiry_days=30)
    store = await make_store(program.merchant_id)
    member = await make_member(program.id, store_id=store)
    clock = Clock()
    sale = await make_sale(program.id, store, member, 5_000, now=clock.now)
    clock.advance(days=10)
    await clock.refund(sale.id)
    assert (await balances(member)).points == 0
    await make_sale(program.id, store, member, 5_000, now=clock.now)
    clock.advance(days=31)
    outcome = await clock.run_job("expire-points")
    assert outcome.result is not None and (await balances(member)).points == 0


async def test_an_api_client_with_a_key_of_each_scope(shop, api_client):
    pos = await api_client("pos", merchant_id=shop.merchant_id, lang="en")
    found = await pos.get(f"/members/{shop.member_id}")
    assert found.status_code == 200, found.text
    reader = await api_client("read", merchant_id=shop.merchant_id)
    body = {"amount": 100, "store_id": str(shop.store_id)}
    refused = await reader.post(
        f"/members/{shop.member_id}/stored-value/top-up", json=body, headers={"Idempotency-Key": "t1"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    admin = await api_client("admin")
    assert (await admin.get(f"/programs/{shop.program.id}/plugins")).status_code == 200


async def test_plugins_load_through_their_entry_points_and_are_enabled_per_program(
    shop,
    load_plugins,
    plugin_site,  # noqa: F811
    monkeypatch,
):
    monkeypatch.syspath_prepend(str(plugin_site))
    loaded = await load_plugins("brandday")
    assert loaded["brandday"].__name__ == "brandday"
    settings = {"extra_points": 7, "skus": ["B1"]}
    program = await make_program(shop.merchant_id, "品牌日方案", plugins={"brandday": settings})
    assert program.plugins == {"brandday": settings}
    assert [p.enabled for p in await program_plugins(shop.program.id) if p.name == "brandday"] == [False]
    member = await make_member(program.id)
    assert (await make_sale(program.id, shop.store_id, member, 1_000, sku="B1")).points_earned == 10 + 7
    assert (await shop.sale(1_000, sku="B1")).points_earned == 10
