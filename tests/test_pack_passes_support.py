"""What the kernel gives a pack that sells passes (a scenic area's annual pass): a paid membership
bought as of another moment (``buy_paid_membership(now=…)``), a program's paid plans set by a
plugin (``set_paid_plans``), and a plugin's secret about a member sealed under the member's data
key (``seal_member_secret``/``open_member_secret``): bound to the member and the field, readable
after a key rotation, unreadable once the member is erased."""

from __future__ import annotations

import datetime as dt

import pytest

from membership import plugin
from membership.config import Settings, new_secret_key
from membership.db import close_database, fetch_one, open_database
from membership.db.engine import current_settings
from membership.errors import MemberErased, NotConfigured, ValidationError
from membership.members import rights
from membership.members.rotation import rotate
from membership.tiers import service as tiers
from tests.conftest import SECRET
from tests.helpers import make_shop

TIERS = [
    {"code": "silver", "name": "季卡会员", "threshold": 100_000},
    {"code": "gold", "name": "年卡会员", "threshold": 1_000_000},
]
PLANS = [
    {"code": "annual", "name": "景区年卡", "tier": "gold", "fee": 29_900, "days": 365},
    {"code": "summer", "name": "暑期季卡", "tier": "silver", "fee": 9_900, "days": 92},
]
DAY = dt.timedelta(days=1)


async def _shop():
    shop = await make_shop()
    await tiers.configure(shop.program.id, TIERS, {"period_days": 365}, "test")
    assert [p.code for p in await plugin.set_paid_plans(shop.program.id, PLANS, "test")] == ["annual", "summer"]
    return shop


async def test_a_plugin_sets_the_paid_plans_each_buying_a_tier(any_db):
    shop = await _shop()
    program = await plugin.get_program(shop.program.id)
    assert [(p.code, p.fee, p.days) for p in plugin.paid_plans(program.settings)] == [
        ("annual", 29_900, 365),
        ("summer", 9_900, 92),
    ]
    with pytest.raises(ValidationError):
        await plugin.set_paid_plans(shop.program.id, [{**PLANS[0], "tier": "platinum"}], "test")


async def test_a_paid_membership_bought_as_of_the_past_renews_from_its_end_or_is_over(any_db):
    shop = await _shop()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = await plugin.buy_paid_membership(shop.member_id, "annual", "cash", shop.store_id, now=now - 400 * DAY)
    assert first.status == "expired" and first.ends_at == now - 35 * DAY and first.member_tier is None
    member = await fetch_one("SELECT tier FROM member WHERE id = {}", shop.member_id)
    assert member["tier"] is None  # over by now: no tier lifted

    renewal = await plugin.buy_paid_membership(shop.member_id, "annual", "cash", shop.store_id, now=now - 380 * DAY)
    assert renewal.starts_at == first.ends_at and renewal.status == "active" and renewal.member_tier == "gold"
    again = await plugin.buy_paid_membership(shop.member_id, "annual", "cash", shop.store_id, now=now - 370 * DAY)
    assert again.starts_at == renewal.ends_at  # a third purchase follows the latest end
    later = await plugin.buy_paid_membership(shop.member_id, "summer", "cash", shop.store_id, now=now + 30 * DAY)
    assert later.starts_at <= dt.datetime.now(dt.UTC)  # the future is not a moment to buy at
    held, total = await plugin.paid_memberships(shop.member_id)
    assert total == 4 and [m.plan for m in held][-1] == "annual"


async def _reopen(secret: str, *old: str) -> None:
    url = current_settings().database_url
    await close_database()
    await open_database(Settings(database_url=url, secret_key=secret, old_secret_keys=old))


async def test_a_plugin_secret_is_sealed_for_one_member_and_field(any_db):
    shop = await make_shop()
    token = await plugin.seal_member_secret(shop.member_id, "tourism:pass", "k3y")
    assert "k3y" not in token
    assert await plugin.open_member_secret(shop.member_id, "tourism:pass", token) == "k3y"
    with pytest.raises(NotConfigured):  # another field cannot open it
        await plugin.open_member_secret(shop.member_id, "tourism:other", token)
    other = await plugin.issue_credential(shop.member_id, "card_uid", "04AABBCC")
    assert other["kind"] == "card_uid"
    second = (await make_shop()).member_id
    with pytest.raises(NotConfigured):  # nor another member
        await plugin.open_member_secret(second, "tourism:pass", token)
    with pytest.raises(ValidationError):
        await plugin.seal_member_secret(shop.member_id, "Bad Field", "x")

    new = new_secret_key()
    await _reopen(new, SECRET)
    await rotate(lambda done, total: None)
    await _reopen(new)  # the old key forgotten: the data key was re-wrapped, the secret stays readable
    assert await plugin.open_member_secret(shop.member_id, "tourism:pass", token) == "k3y"
    await rights.erase_member(shop.member_id, "test")
    with pytest.raises(MemberErased):
        await plugin.open_member_secret(shop.member_id, "tourism:pass", token)
    await _reopen(SECRET)


async def test_a_plugin_lists_a_merchants_stores(db):
    shop = await make_shop()
    stores = await plugin.list_stores(shop.merchant_id)
    assert shop.store_id in [store["id"] for store in stores] and {"code", "name", "city"} <= set(stores[0])
