"""The points mall page (积分商城) on SQLite and PostgreSQL: rewards added and changed in forms
(points as numbers, amounts in yuan, discounts as 折, errors beside their field, no JSON), taken
off, redeemed for a member named by phone (the coupon shown to hand over, a refusal said on the
page), the clerk's view (redeem, not configure), and the page in English."""

from __future__ import annotations

import re

from membership.ledger import service as ledger
from membership.rewards import service as rewards
from tests.console_client import csrf_of, text_of
from tests.test_counter_sales import confirm, review

PAGE = "/console/loyalty/rewards"


def _field_error(page: str, name: str) -> str:
    at = page.index(f'name="{name}"')
    cell = re.split(r"</div>", page[at:], maxsplit=1)[0]
    error = re.search(r'class="field-error"[^>]*>(.*?)</span>', cell, re.S)
    return error[1] if error else ""


async def test_a_manager_adds_changes_and_takes_off_rewards_in_forms(any_console):
    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        page = (await client.get(PAGE)).text
        assert "积分商城" in text_of(page) and 'name="params-sku"' in page and "JSON" not in text_of(page)
        drink = {"kind": "gift", "code": "drink300", "name": "300积分换饮品", "points": "300", "stock": "50"}
        drink |= {"params-sku": "DRINK-01", "member_limit": "2", "limit_period": "month", "coupon_days": "30"}
        added = await client.post(PAGE, data={**drink, "_csrf_token": csrf_of(client)})
        assert added.status_code == 303, added.text
        found = await rewards.get_reward(shop.program.id, "drink300")
        assert (found["points"], found["stock"], found["member_limit"], found["params"]) == (
            300,
            50,
            2,
            {"sku": "DRINK-01"},
        )

        page = (await client.get(PAGE, params={"kind": "discount"})).text
        assert 'name="params-percent_off"' in page and "折" in text_of(page)
        off = {"kind": "discount", "code": "off20", "name": "500积分享8折", "points": "500", "coupon_days": "30"}
        off |= {"params-percent_off": "8", "params-max_off": "50", "_csrf_token": csrf_of(client)}
        assert (await client.post(PAGE, data=off)).status_code == 303
        found = await rewards.get_reward(shop.program.id, "off20")
        assert found["params"] == {"percent_off": 20, "max_off": 5000, "min_spend": 0, "amount_off": None}

        both = {**off, "code": "both", "params-amount_off": "10"}
        refused = await client.post(PAGE, data=both)
        assert refused.status_code == 422
        assert "二选一" in _field_error(refused.text, "params-percent_off")
        bad = {**off, "code": "bad", "points": "三百"}
        refused = await client.post(PAGE, data=bad)
        assert refused.status_code == 422 and _field_error(refused.text, "points")
        taken = {**drink, "_csrf_token": csrf_of(client)}
        refused = await client.post(PAGE, data=taken)
        assert refused.status_code == 422 and "已存在" in _field_error(refused.text, "code")

        listing = text_of((await client.get(PAGE)).text)
        assert "300积分换饮品 赠品 赠送 DRINK-01 300 50 每月 2 次" in listing
        assert "500积分享8折 折扣 8折，最多减 50.00 元" in listing
        edit = (await client.get(PAGE, params={"edit": "drink300"})).text
        assert 'name="params-sku" value="DRINK-01"' in edit and 'name="code"' not in edit
        changed = {k: v for k, v in drink.items() if k != "code"} | {"points": "280", "_csrf_token": csrf_of(client)}
        assert (await client.post(f"{PAGE}/drink300", data=changed)).status_code == 303
        assert (await rewards.get_reward(shop.program.id, "drink300"))["points"] == 280

        retire = {"confirm": "yes", "_csrf_token": csrf_of(client)}
        assert (await client.post(f"{PAGE}/off20/retire", data=retire)).status_code == 303
        assert not (await rewards.get_reward(shop.program.id, "off20"))["active"]
        assert "已下架" in text_of((await client.get(PAGE)).text)


async def test_a_clerk_redeems_for_a_member_and_is_told_why_not(any_console):
    shop = any_console.shop
    gift = {"code": "drink300", "name": "300积分换饮品", "kind": "gift", "params": {"sku": "DRINK-01"}, "points": 300}
    await rewards.create_reward(shop.program.id, {**gift, "stock": 1})
    async with any_console.logged_in("clerk") as client:
        counter = (await client.get(f"/console/counter/members/{shop.member_id}")).text
        link = re.search(r'href="(/console/loyalty/rewards\?member=[^"#]+)', counter)
        assert link and "或兑换积分商城的兑换品" in text_of(counter)
        page = (await client.get(link[1])).text  # from the counter: the member filled in
        assert "为会员兑换" in text_of(page) and 'name="params-sku"' not in page  # no configuration for a clerk
        assert re.search(r'name="member" value="\d+"', page)
        refused = await client.post(PAGE, data={"kind": "gift", "code": "x", "_csrf_token": csrf_of(client)})
        assert refused.status_code == 403
        form = {"member": "13812345678", "reward": "drink300", "_csrf_token": csrf_of(client)}
        short = await client.post(f"{PAGE}/redeem", data=form)
        assert short.status_code == 422 and "积分不足：需要 300，可用 0" in text_of(short.text)
        await ledger.adjust_points(shop.member_id, 400, "活动", "admin")
        done = await client.post(f"{PAGE}/redeem", data=form, follow_redirects=True)
        assert done.status_code == 200
        said = text_of(done.text)
        assert "已兑换“300积分换饮品”，扣除 300 积分；券码" in said
        assert (await ledger.balances(shop.member_id)).points == 100
        gone = await client.post(f"{PAGE}/redeem", data={**form, "_csrf_token": csrf_of(client)})
        assert gone.status_code == 422 and "库存不足" in text_of(gone.text)
        nobody = await client.post(f"{PAGE}/redeem", data={**form, "member": "13900000000"})
        assert nobody.status_code == 422


async def test_the_page_in_english(any_console):
    await rewards.create_reward(
        any_console.shop.program.id,
        {"code": "off10", "name": "Ten off", "kind": "discount", "params": {"amount_off": 1000}, "points": 100},
    )
    async with any_console.logged_in("manager") as client:
        chosen = {"language": "en", "next": PAGE, "_csrf_token": csrf_of(client)}
        await client.post("/console/language", data=chosen)
        page = text_of((await client.get(PAGE)).text)
    assert "Points mall" in page and "Ten off discount 10.00 off" in page and "Redeem for a member" in page


async def test_a_reward_redeemed_inside_a_sale_at_the_counter(any_console):
    shop = any_console.shop
    gift = {"code": "drink300", "name": "300积分换饮品", "kind": "gift", "params": {"sku": "6901"}, "points": 300}
    await rewards.create_reward(shop.program.id, {**gift, "stock": 5})
    await rewards.create_reward(shop.program.id, {**gift, "code": "later", "available_from": "2099-01-01"})
    await ledger.adjust_points(shop.member_id, 400, "活动", "admin")
    lines = {"sku": ["6901", "6902"], "name": ["拿铁", "可颂"], "quantity": ["1", "1"], "price": ["30", "15"]}
    async with any_console.logged_in("clerk") as client:
        panel = (await client.get(f"/console/counter/members/{shop.member_id}")).text
        assert 'name="reward" value="drink300"' in panel and 'value="later"' not in panel  # not yet redeemable
        reviewed = await review(client, shop.member_id, lines, reward="drink300")
        shown = text_of(reviewed)
        assert "积分商城 300积分换饮品 300 积分" in shown and "应付 ¥15.00" in shown.replace("应收", "应付")
        await confirm(client, shop.member_id, reviewed)
        assert (await ledger.balances(shop.member_id)).points == 100 + 15  # 400 − 300, then ¥15 earns 15
        assert (await rewards.get_reward(shop.program.id, "drink300"))["stock"] == 4
        refused = await review(client, shop.member_id, lines, reward="drink300")  # 115 points left
        assert "积分不足" in text_of(refused)
