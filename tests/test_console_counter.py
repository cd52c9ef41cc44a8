"""The counter page: identify, record a purchase (once per form), redeem, top up, issue an unknown card."""

from __future__ import annotations

import re

import pytest

from membership.db import fetch
from membership.errors import ValidationError
from membership.members import service as members
from membership.sales.console import parse_amount
from tests.console_client import csrf_of, text_of
from tests.helpers import ledger_violations, make_shop


def form_value(html: str, name: str) -> str:
    """The value of the first input ``name`` of a rendered panel (the store, a form's key)."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


async def take(client, member, price: str, **fields) -> tuple[str, str]:
    """Type a price at the counter, check the total and take the money: (review, answer) pages."""
    panel = (await client.get(f"/console/counter/members/{member}")).text
    data = {"sku": "", "name": "", "category": "", "quantity": "1", "price": price, "tender": "cash"}
    data |= {"store": form_value(panel, "store"), "key": form_value(panel, "key"), **fields}
    data["_csrf_token"] = csrf_of(client)
    review = (await client.post(f"/console/counter/members/{member}/sale/review", data=data)).text
    if "reviewed_total" not in review:
        return review, review
    data["reviewed_total"] = form_value(review, "reviewed_total")
    answer = await client.post(f"/console/counter/members/{member}/sale/confirm", data=data)
    return review, answer.text


async def test_identify_by_phone_shows_the_member_masked(console):
    async with console.logged_in("clerk") as client:
        panel = await client.get("/console/counter/identify", params={"q": "13812345678"})
    text = text_of(panel.text)
    assert "张伟" in text and "138****5678" in text and "13812345678" not in text


async def test_a_sale_is_recorded_once_however_often_the_button_is_pressed(console):
    member = console.shop.member_id
    async with console.logged_in("clerk") as client:
        review, first = await take(client, member, "12.50")
        assert "应付 ¥12.50" in text_of(review) and "前台消费" in text_of(review)
        _, again = await take(client, member, "12.50", key=form_value(review, "key"))  # a double click
    assert "已收款 ¥12.50" in text_of(first) and "已收款 ¥12.50" in text_of(again)
    sales = await fetch("SELECT total FROM sale WHERE member_id = {}", member)
    assert sales == [{"total": 1250}]
    assert await ledger_violations() == []


async def test_bad_amounts_and_overdrafts_say_why_beside_the_input_and_change_nothing(console):
    member = console.shop.member_id
    async with console.logged_in("clerk") as client:
        token = csrf_of(client)
        cents, _ = await take(client, member, "1.005")
        words = await client.post(
            f"/console/counter/members/{member}/top-up/review", data={"amount": "十元", "_csrf_token": token}
        )
        overdraw = await client.post(
            f"/console/counter/members/{member}/redeem", data={"points": "50", "_csrf_token": token}
        )
    assert "应为 ≥ 0 的金额，最多 2 位小数" in text_of(cents) and "无效" not in text_of(cents)
    assert "应为数字，如 12.50" in text_of(words.text) and "amount" not in text_of(words.text)
    assert 'class="field-error" role="alert"' in overdraw.text and "积分不足" in text_of(overdraw.text)
    assert await fetch("SELECT COUNT(*) AS n FROM ledger_posting") == [{"n": 0}]


async def test_top_up_then_pay_and_redeem(console):
    member = console.shop.member_id
    async with console.logged_in("manager") as client:
        token = csrf_of(client)
        form = {"amount": "100", "tender": "cash", "key": "t1", "_csrf_token": token}
        review = await client.post(f"/console/counter/members/{member}/top-up/review", data=form)
        assert "充值 ¥100.00" in text_of(review.text)
        topped = await client.post(f"/console/counter/members/{member}/top-up/confirm", data=form)
        assert "已充值 ¥100.00" in text_of(topped.text)
        await take(client, member, "300")
        redeemed = await client.post(
            f"/console/counter/members/{member}/redeem", data={"points": "100", "_csrf_token": token}
        )
    assert "已兑换 100 积分" in text_of(redeemed.text)
    assert await ledger_violations() == []


async def test_an_unknown_card_is_issued_to_a_member_and_then_identifies_them(console):
    shop = console.shop
    member = await members.get_member(shop.member_id)
    async with console.logged_in("clerk") as client:
        unknown = await client.get("/console/counter/identify", params={"q": "0F00A1B2C3"})
        assert "将此卡发给会员" in unknown.text
        issued = await client.post(
            "/console/counter/issue",
            data={
                "value": "0F00A1B2C3",
                "kind": "card_uid",
                "member": member.member_no,
                "_csrf_token": csrf_of(client),
            },
        )
        assert "已发卡" in text_of(issued.text) and "张伟" in issued.text
        found = await client.get("/console/counter/identify", params={"q": "0F00A1B2C3"})
    assert member.member_no in found.text
    audit = await fetch("SELECT actor FROM audit_log WHERE action LIKE 'credential.%'")
    assert {"actor": "staff:clerk"} in audit


async def test_issuing_to_a_member_nobody_has_says_so_and_issues_nothing(console):
    async with console.logged_in("clerk") as client:
        answer = await client.post(
            "/console/counter/issue",
            data={"value": "0F00A1B2C4", "kind": "card_uid", "member": "M-NOBODY", "_csrf_token": csrf_of(client)},
        )
    assert "会员 M-NOBODY 不存在" in text_of(answer.text) and "将此卡发给会员" in answer.text
    assert await fetch("SELECT id FROM audit_log WHERE action = 'credential.issue'") == []


async def test_another_merchants_member_is_not_found(console):
    other = await make_shop()
    async with console.logged_in("owner") as client:
        answer = await client.get(f"/console/counter/members/{other.member_id}")
    assert answer.status_code == 404 and "不存在" in answer.text and "张伟" not in answer.text
    assert answer.headers["content-type"].startswith("text/html")


async def test_an_unknown_counter_action_is_not_found(console):
    async with console.logged_in("owner") as client:
        answer = await client.post(
            f"/console/counter/members/{console.shop.member_id}/refund-all", data={"_csrf_token": csrf_of(client)}
        )
    assert answer.status_code == 404 and "该页面不存在" in answer.text


async def test_the_counter_shows_the_tier_benefits(console):
    from membership.tiers import service as tiers

    shop = console.shop
    gold = {"code": "gold", "name": "金卡", "threshold": 0, "discount_pct": 5, "free_items": ["停车 2 小时"]}
    await tiers.configure(shop.program.id, [{**gold, "points_multiplier_pct": 150}], None, "test")
    await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", shop.member_id)
    async with console.logged_in("clerk") as client:
        panel = text_of((await client.get(f"/console/counter/members/{shop.member_id}")).text)
    assert "金卡" in panel and "会员折扣 95折" in panel and "积分 ×1.5" in panel and "停车 2 小时" in panel


def test_a_typed_amount_is_digits_with_at_most_the_currencys_decimals():
    assert [parse_amount(text) for text in ("12.5", "12.50", "¥1,200", ".5", "3.")] == [1250, 1250, 120_000, 50, 300]
    for text in ("1e5", "NaN", "Infinity", "-3", "0", "1.234", "12,5.0.1", ""):
        with pytest.raises(ValidationError, match="amount"):
            parse_amount(text)
    assert parse_amount("0", field="min_spend", minimum=0) == 0  # a minimum spend of nothing
    with pytest.raises(ValidationError, match="min_spend"):
        parse_amount("-1", field="min_spend", minimum=0)
