"""The counter's sales through the console, on SQLite and PostgreSQL: a sale of several lines at
tier prices with a coupon, paid with stored value, points and a tender; the review that shows
what will be charged and earned; a clerk's limit per sale and void window, a manager's approval
typed on the clerk's screen (checked, refused, audited); voids and refunds of chosen lines with a
reason; top-ups and paid memberships; the receipt; ledger balances after mixed payments and voids."""

from __future__ import annotations

import datetime as dt
import html.parser
import json
import re
import uuid

import pytest

from membership.coupons import service as coupons
from membership.db import fetch, fetch_one
from membership.errors import ApprovalRefused, ApprovalRequired, LoginFailed
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org import service as org
from membership.org.settings import change_settings
from membership.sales import counter_rules
from membership.sales import service as sales
from membership.staff import service as staff_service
from membership.testing import app_for
from membership.tiers import paid
from membership.tiers import service as tiers
from tests.console_client import PASSWORD, Console, csrf_of, make_staff, text_of
from tests.helpers import ledger_violations, make_shop

GOLD = {"code": "gold", "name": "金卡", "threshold": 0, "discount_pct": 5}
TEN_OFF = {"code": "ten-off", "name": "满50减10", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
LINES = {  # two lines: 2 × ¥30.00 and 1 × ¥45.00 of the category 生鲜 (105.00 listed)
    "sku": ["6901", "6902"],
    "name": ["拿铁", "三文鱼"],
    "category": ["饮品", "生鲜"],
    "quantity": ["2", "1"],
    "price": ["30", "45.00"],
}


@pytest.fixture
async def counter(any_db):
    """The console over a shop whose member 张伟 is gold (95折), holds a ¥10 coupon and ¥50.00
    of stored value; one staff account per role."""
    shop = await make_shop()
    await make_staff(shop)
    await tiers.configure(shop.program.id, [GOLD], None, "test")
    await fetch("UPDATE member SET tier = 'gold' WHERE id = {}", shop.member_id)
    await coupons.create_template(shop.program.id, TEN_OFF)
    await coupons.issue(shop.program.id, "ten-off", [shop.member_id])
    await ledger.top_up(shop.member_id, 5_000, shop.store_id)
    return Console(app_for(any_db), shop)


class _Forms(html.parser.HTMLParser):
    """The inputs of each form of a page, by the form's class (in order, repeated names kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._current: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = self.forms.setdefault(found.get("class", "") or found.get("id", ""), [])
        elif tag == "input" and self._current is not None and found.get("name"):
            if found.get("type") not in ("checkbox", "radio") or "checked" in found:
                self._current.append((found["name"], found.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def as_form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Inputs as httpx posts them: each name with its values in order."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def form_fields(page: str, form_class: str) -> list[tuple[str, str]]:
    """The inputs a rendered form posts back."""
    parser = _Forms()
    parser.feed(page)
    assert form_class in parser.forms, list(parser.forms)
    return parser.forms[form_class]


def _coupon_code(page: str) -> str:
    match = re.search(r'name="coupon" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


async def review(client, member_id, lines=LINES, **fields) -> str:
    """The review of a sale typed into the counter's form (the page the clerk checks)."""
    panel = (await client.get(f"/console/counter/members/{member_id}")).text
    store = dict(form_fields(panel, "sale-form"))["store"]
    key = dict(form_fields(panel, "sale-form"))["key"]
    data = {**lines, "store": store, "key": key, "tender": "cash", **fields, "_csrf_token": csrf_of(client)}
    if fields.get("coupon") == "held":
        data["coupon"] = _coupon_code(panel)
    answer = await client.post(f"/console/counter/members/{member_id}/sale/review", data=data)
    assert answer.status_code == 200
    return answer.text


async def confirm(client, member_id, reviewed: str, **extra) -> str:
    """Press the review's confirmation button (with a manager's name and password in ``extra``)."""
    shown = [(name, value) for name, value in form_fields(reviewed, "confirm-sale") if name not in extra]
    data = as_form([*shown, *extra.items(), ("_csrf_token", csrf_of(client))])
    answer = await client.post(f"/console/counter/members/{member_id}/sale/confirm", data=data)
    assert answer.status_code == 200
    return answer.text


async def test_a_sale_of_two_lines_at_tier_prices_with_a_coupon_paid_by_stored_value_and_cash(counter):
    member = counter.shop.member_id
    async with counter.logged_in("clerk") as client:
        reviewed = await review(client, member, stored_value="50", tender="wechat_pay", coupon="held")
        shown = text_of(reviewed)
        # the review: listed and tier prices, the tier discount as 95折, the coupon, what is paid how
        assert "¥30.00 ¥28.50" in shown and "¥45.00 ¥42.75" in shown
        assert "会员折扣 金卡 95折 −¥5.25" in shown and "优惠券 满50减10 −¥10.00" in shown
        assert "应付 ¥89.75" in shown and "储值卡 ¥50.00" in shown and "微信支付 ¥39.75" in shown
        assert re.search(r"本单可得 \d+ 积分", shown)
        assert await fetch("SELECT id FROM sale") == []  # nothing is recorded by a review
        done = await confirm(client, member, reviewed)
        again = await confirm(client, member, reviewed)  # a double click records once
    assert "已收款 ¥89.75" in text_of(done) and "打印小票" in text_of(done) and "已收款 ¥89.75" in text_of(again)
    sale = await fetch_one("SELECT * FROM sale WHERE member_id = {}", member)
    assert (sale["subtotal"], sale["member_discount"], sale["discount"], sale["total"]) == (10_500, 525, 1_525, 8_975)
    lines = await fetch("SELECT sku, category, quantity, unit_price, member_price FROM sale_line ORDER BY line_no")
    assert lines == [
        {"sku": "6901", "category": "饮品", "quantity": 2, "unit_price": 3_000, "member_price": 2_850},
        {"sku": "6902", "category": "生鲜", "quantity": 1, "unit_price": 4_500, "member_price": 4_275},
    ]
    payments = await fetch("SELECT method, amount FROM sale_payment WHERE sale_id = {} ORDER BY amount", sale["id"])
    assert payments == [{"method": "wechat_pay", "amount": 3_975}, {"method": "stored_value", "amount": 5_000}]
    assert await fetch("SELECT state FROM coupon") == [{"state": "redeemed"}]
    balances = await ledger.balances(member)
    assert balances.stored_value == 0 and balances.points == sale["points_earned"] > 0
    assert await ledger_violations() == []


async def test_points_pay_at_the_programs_point_value_shown_at_the_counter(counter):
    shop = counter.shop
    await ledger.adjust_points(shop.member_id, 1_000, "开业赠送", actor="test")
    async with counter.logged_in("clerk") as client:
        panel = text_of((await client.get(f"/console/counter/members/{shop.member_id}")).text)
        assert "积分抵现：100 积分抵 1.00 元（1 积分 = 1 分）" in panel
        lines = {"sku": ["6901"], "name": ["拿铁"], "quantity": ["1"], "price": ["30"], "category": [""]}
        reviewed = await review(client, shop.member_id, lines, points="500", tender="card")
        assert "积分 500 积分 = ¥5.00" in text_of(reviewed) and "银行卡 ¥23.50" in text_of(reviewed)
        await confirm(client, shop.member_id, reviewed)
    payments = await fetch("SELECT method, amount, points FROM sale_payment ORDER BY amount")
    assert payments == [
        {"method": "points", "amount": 500, "points": 500},
        {"method": "card", "amount": 2_350, "points": 0},
    ]
    assert (await ledger.balances(shop.member_id)).points >= 500
    assert await ledger_violations() == []


async def test_amounts_are_typed_in_yuan_and_mistakes_sit_beside_their_inputs_in_chinese_and_english(counter):
    member = counter.shop.member_id
    bad = {
        "sku": ["6901", ""],
        "name": ["拿铁", "赠品"],
        "category": ["", ""],
        "quantity": ["二", "1"],
        "price": ["1.005", ""],
    }
    async with counter.logged_in("clerk") as client:
        zh = await review(client, member, bad, stored_value="十元")
        await client.post(
            "/console/language", data={"language": "en", "next": "/console/counter", "_csrf_token": csrf_of(client)}
        )
        en = await review(client, member, bad, stored_value="十元")
    assert "应为整数，如 2" in text_of(zh) and "应为正数金额，最多 2 位小数" not in text_of(zh)
    assert (
        "应为 ≥ 0 的金额，最多 2 位小数" in text_of(zh)
        and "必填" in text_of(zh)
        and "应为数字，如 12.50" in text_of(zh)
    )
    assert "a whole number, such as 2" in text_of(en) and "0 or more with at most 2 decimals" in text_of(en)
    assert "a number such as 12.50" in text_of(en)
    for page in (zh, en):
        assert 'value="1.005"' in page and 'value="二"' in page  # what was typed stays
    assert "无效" not in text_of(zh) and "price" not in text_of(zh)  # no "price 无效": the label is beside it
    assert await fetch("SELECT id FROM sale") == []


async def test_a_clerk_over_the_limit_needs_a_manager_typed_on_the_same_screen(counter):
    shop = counter.shop
    await change_settings(shop.program.id, {"clerk_sale_limit_minor": 10_000}, actor="staff:owner")
    org.forget_programs()
    big = {"sku": ["6903"], "name": ["红酒"], "category": ["酒"], "quantity": ["1"], "price": ["99999999"]}
    async with counter.logged_in("clerk") as client:
        reviewed = await review(client, shop.member_id, big)
        assert "超过收银员单笔限额 ¥100.00" in text_of(reviewed) and 'name="approver_password"' in reviewed
        refused = await confirm(client, shop.member_id, reviewed)  # no approval typed
        assert "需要店长授权" in text_of(refused)
        wrong = await confirm(client, shop.member_id, reviewed, approver="manager", approver_password="nope-nope")
        assert "用户名或密码错误" in text_of(wrong)
        clerk = await confirm(client, shop.member_id, reviewed, approver="clerk", approver_password="柜台-pass-2026")
        assert "收银员不能为自己授权" in text_of(clerk)
        assert await fetch("SELECT id FROM sale") == []  # a ¥99,999,999 typo is not one click away
        approved = await confirm(
            client, shop.member_id, reviewed, approver="manager", approver_password="柜台-pass-2026"
        )
    assert "已收款 ¥94,999,999.05" in text_of(approved)
    sale = await fetch_one("SELECT id, total FROM sale")
    audit = await fetch_one("SELECT actor, details FROM audit_log WHERE action = 'counter.sale_approved'")
    details = json.loads(audit["details"]) if isinstance(audit["details"], str) else audit["details"]
    assert audit["actor"] == "staff:clerk" and details["approved_by"] == "staff:manager"
    assert details["total"] == sale["total"] == 9_499_999_905
    refusals = await fetch("SELECT actor, object_id FROM audit_log WHERE action = 'counter.approval_refused'")
    assert [row["actor"] for row in refusals] == ["staff:clerk"]
    # the manager has no limit of their own
    async with counter.logged_in("manager") as client:
        reviewed = await review(client, shop.member_id, big)
        assert 'name="approver"' not in reviewed
    assert await ledger_violations() == []


async def _sale(client, member_id, **fields) -> str:
    """Take the two-line sale; its id."""
    done = await confirm(client, member_id, await review(client, member_id, **fields))
    match = re.search(r"/console/counter/sales/([0-9a-f-]{36})\"", done)
    assert match, done
    return match.group(1)


async def _void(client, sale_id: str, **fields):
    page = (await client.get(f"/console/counter/sales/{sale_id}")).text
    data = [*form_fields(page, "void-form"), *fields.items()]
    data = [(name, value) for name, value in data if name not in fields or (name, value) in fields.items()]
    return await client.post(f"/console/counter/sales/{sale_id}/void", data=as_form(data))


async def test_a_clerk_voids_a_sale_inside_the_window_and_everything_comes_back(counter):
    member = counter.shop.member_id
    async with counter.logged_in("clerk") as client:
        sale_id = await _sale(client, member, stored_value="50", coupon="held")
        no_reason = await _void(client, sale_id)
        assert "请填写原因" in text_of(no_reason.text)
        voided = await _void(client, sale_id, reason="录入错误")
    assert (
        voided.status_code == 200
        and "已退款 ¥89.75" in text_of(voided.text)
        and "退回储值 ¥50.00" in text_of(voided.text)
    )
    sale = await fetch_one("SELECT status, refunded_amount FROM sale WHERE id = {}", sale_id)
    assert sale == {"status": "refunded", "refunded_amount": 8_975}
    balances = await ledger.balances(member)
    assert (balances.stored_value, balances.points) == (5_000, 0)
    assert await fetch("SELECT state FROM coupon") == [{"state": "issued"}]  # the coupon is usable again
    audit = await fetch_one("SELECT actor, details FROM audit_log WHERE action = 'sale.void'")
    details = json.loads(audit["details"]) if isinstance(audit["details"], str) else audit["details"]
    assert audit["actor"] == "staff:clerk" and details["reason"] == "录入错误" and details["approved_by"] is None
    assert details["amount"] == 8_975 and details["lines"] == "all"
    assert await ledger_violations() == []


async def test_a_void_past_the_window_is_refused_to_a_clerk_and_approved_by_a_manager(counter):
    member = counter.shop.member_id
    async with counter.logged_in("clerk") as client:
        sale_id = await _sale(client, member, stored_value="20")
        await _age(sale_id, minutes=31)  # the default window is 30 minutes
        page = (await client.get(f"/console/counter/sales/{sale_id}")).text
        assert "超过 30 分钟" in text_of(page) and 'name="approver"' in page
        refused = await _void(client, sale_id, reason="顾客退货", approver="", approver_password="")
        assert "需要店长授权" in text_of(refused.text)
        assert (await fetch_one("SELECT status FROM sale WHERE id = {}", sale_id))["status"] == "completed"
        approved = await _void(
            client,
            sale_id,
            reason="顾客退货",
            approver="manager",
            approver_password="柜台-pass-2026",
            **{"qty-1": "1", "qty-2": "0"},
        )
    assert "已退款" in text_of(approved.text)
    sale = await fetch_one("SELECT status, refunded_amount, total FROM sale WHERE id = {}", sale_id)
    lines = await fetch("SELECT refunded_quantity FROM sale_line WHERE sale_id = {} ORDER BY line_no", sale_id)
    assert sale["status"] == "partially_refunded" and [r["refunded_quantity"] for r in lines] == [1, 0]
    audit = await fetch_one("SELECT actor, details FROM audit_log WHERE action = 'sale.refund'")
    details = json.loads(audit["details"]) if isinstance(audit["details"], str) else audit["details"]
    assert (
        details["approved_by"] == "staff:manager"
        and details["lines"] == {"1": 1}
        and details["minutes_after_sale"] >= 31
    )
    assert details["amount"] == sale["refunded_amount"] > 0
    # a manager voids the rest alone, however late
    async with counter.logged_in("manager") as client:
        rest = await _void(client, sale_id, reason="顾客退货")
    assert "已退款" in text_of(rest.text)
    assert (await fetch_one("SELECT status FROM sale WHERE id = {}", sale_id))["status"] == "refunded"
    assert (await ledger.balances(member)).stored_value == 5_000
    assert await ledger_violations() == []


async def _age(sale_id: str, minutes: int) -> None:
    """Move a sale's recording time ``minutes`` back (a sale taken earlier)."""
    row = await fetch_one("SELECT created_at FROM sale WHERE id = {}", uuid.UUID(sale_id))
    await fetch(
        "UPDATE sale SET created_at = {} WHERE id = {}",
        row["created_at"] - dt.timedelta(minutes=minutes),
        uuid.UUID(sale_id),
    )


async def test_a_top_up_over_the_limit_needs_approval_and_a_plan_pays_its_bonus(counter):
    shop = counter.shop
    await change_settings(shop.program.id, {"clerk_sale_limit_minor": 100_000}, actor="test")
    org.forget_programs()
    async with counter.logged_in("clerk") as client:
        token = csrf_of(client)
        url = f"/console/counter/members/{shop.member_id}/top-up"
        typo = await client.post(
            f"{url}/review", data={"amount": "99999999", "tender": "cash", "key": "k1", "_csrf_token": token}
        )
        assert "超过收银员单笔限额 ¥1,000.00" in text_of(typo.text)
        refused = await client.post(
            f"{url}/confirm", data={"amount": "99999999", "tender": "cash", "key": "k1", "_csrf_token": token}
        )
        assert "需要店长授权" in text_of(refused.text)
        small = await client.post(
            f"{url}/review", data={"amount": "200", "tender": "alipay", "key": "k2", "_csrf_token": token}
        )
        assert "充值 ¥200.00" in text_of(small.text) and "支付宝" in text_of(small.text)
        done = await client.post(
            f"{url}/confirm", data={"amount": "200", "tender": "alipay", "key": "k2", "_csrf_token": token}
        )
        again = await client.post(
            f"{url}/confirm", data={"amount": "200", "tender": "alipay", "key": "k2", "_csrf_token": token}
        )
    assert "已充值 ¥200.00" in text_of(done.text) and "已充值 ¥200.00" in text_of(again.text)
    assert (await ledger.balances(shop.member_id)).stored_value == 5_000 + 20_000
    assert await ledger_violations() == []


async def test_a_paid_membership_is_sold_at_the_counter(counter):
    shop = counter.shop
    silver = {"code": "silver", "name": "银卡", "threshold": 100_000}
    await tiers.configure(shop.program.id, [GOLD, silver], None, "test")
    await paid.set_plans(
        shop.program.id, [{"code": "year", "name": "年卡", "tier": "silver", "fee": 19_900, "days": 365}]
    )
    org.forget_programs()
    async with counter.logged_in("clerk") as client:
        panel = (await client.get(f"/console/counter/members/{shop.member_id}")).text
        assert "年卡 · ¥199.00 · 365 天" in text_of(panel)
        sold = await client.post(
            f"/console/counter/members/{shop.member_id}/paid-membership",
            data={"plan": "year", "method": "wechat_pay", "key": "m1", "_csrf_token": csrf_of(client)},
        )
    assert "已售出付费会员 ¥199.00" in text_of(sold.text)
    rows = await fetch("SELECT plan, method, fee, status FROM paid_membership")
    assert rows == [{"plan": "year", "method": "wechat_pay", "fee": 19_900, "status": "active"}]


async def test_the_receipt_lists_the_lines_payments_and_points_for_an_80mm_printer(counter):
    member = counter.shop.member_id
    async with counter.logged_in("clerk") as client:
        sale_id = await _sale(client, member, stored_value="50", coupon="held")
        receipt = await client.get(f"/console/counter/sales/{sale_id}/receipt")
        css = await client.get("/console/static/counter.css")
    shown = text_of(receipt.text)
    assert receipt.status_code == 200
    assert "拿铁" in shown and "2 × ¥28.50" in shown and "¥57.00" in shown and "三文鱼" in shown
    assert "储值卡 ¥50.00" in shown and "应付 ¥89.75" in shown and "会员价 −¥5.25" in shown
    assert 'onclick="window.print()"' in receipt.text
    assert "@page { size: 80mm auto" in css.text and "@media print" in css.text


async def test_a_phone_nobody_holds_is_an_unknown_phone_offered_for_enrolment(counter):
    async with counter.logged_in("clerk") as client:
        unknown = await client.get("/console/counter/identify", params={"q": "139 0000 1111"})
        shown = text_of(unknown.text)
        assert "未知手机号" in shown and "为此手机号办理入会" in shown and "将此卡发给会员" not in shown
        store = dict(form_fields(unknown.text, "enrol-quick"))["store"]
        nameless = await client.post(
            "/console/counter/enrol", data={"phone": "139 0000 1111", "store": store, "_csrf_token": csrf_of(client)}
        )
        assert "必填" in text_of(nameless.text)
        enrolled = await client.post(
            "/console/counter/enrol",
            data={"phone": "139 0000 1111", "name": "王芳", "store": store, "_csrf_token": csrf_of(client)},
        )
        assert "已入会" in text_of(enrolled.text) and "王芳" in enrolled.text and "139****1111" in enrolled.text
        card = await client.get("/console/counter/identify", params={"q": "0F00A1B2C3"})
    assert "未登记的卡" in text_of(card.text) and "将此卡发给会员" in card.text
    found, total = await members.search_members(counter.shop.program.id, "13900001111")
    assert total == 1 and found[0].name == "王芳"


async def test_another_merchants_sale_is_not_found(counter):
    other = await make_shop()
    theirs = await sales.record_purchase(other.program.id, other.store_id, other.member_id, [LineInput("A", 1, 100)])
    async with counter.logged_in("owner") as client:
        page = await client.get(f"/console/counter/sales/{theirs.id}")
        void = await client.post(
            f"/console/counter/sales/{theirs.id}/void", data={"reason": "x", "_csrf_token": csrf_of(client)}
        )
    assert page.status_code == 404 and void.status_code == 404
    assert (await fetch_one("SELECT status FROM sale WHERE id = {}", theirs.id))["status"] == "completed"


async def test_who_may_approve_and_a_mixed_payment_voided_gives_every_balance_back(counter):
    shop = counter.shop
    clerk = await staff_service.confirm_password("clerk", PASSWORD)
    away = await staff_service.create_staff("away", PASSWORD, "manager", store_id=shop.other_store_id)
    with pytest.raises(ApprovalRefused, match="another store"):  # a manager of another store
        await counter_rules.check_approver("away", PASSWORD, clerk, shop.store_id)
    with pytest.raises(ApprovalRefused):  # an analyst holds no approval
        await counter_rules.check_approver("analyst", PASSWORD, clerk, shop.store_id)
    with pytest.raises(LoginFailed):
        await counter_rules.check_approver("owner", "wrong-password", clerk, shop.store_id)
    owner = await counter_rules.check_approver("owner", PASSWORD, clerk, shop.store_id)
    assert owner.role == "owner" and away.store_id == shop.other_store_id
    refused = await fetch("SELECT details FROM audit_log WHERE action = 'counter.approval_refused'")
    assert len(refused) == 2

    await ledger.adjust_points(shop.member_id, 300, "开业赠送", actor="test")
    program = await org.get_program(shop.program.id)
    lines = [LineInput("6901", 2, 3_000, "拿铁", "饮品")]  # ¥57.00 at the gold price
    payments = [
        sales.PaymentInput("stored_value", 2_000),
        sales.PaymentInput("points", points=300),
        sales.PaymentInput("card", 3_400),
    ]
    sold = await counter_rules.sell(
        clerk, program, shop.store_id, shop.member_id, lines, payments, idempotency_key="m1"
    )
    after_sale = await ledger.balances(shop.member_id)
    assert (after_sale.stored_value, after_sale.points) == (3_000, sold.points_earned)
    await change_settings(shop.program.id, {"clerk_void_minutes": 0}, actor="test")  # every void needs approval
    org.forget_programs()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with pytest.raises(ApprovalRequired):
        await counter_rules.void(clerk, sold.id, None, "录入错误", now=later)
    voided = await counter_rules.void(clerk, sold.id, None, "录入错误", approver=owner, now=later)
    assert voided.amount == 5_700 and voided.stored_value_returned == 2_000 and voided.points_returned == 300
    back = await ledger.balances(shop.member_id)
    assert (back.stored_value, back.points) == (5_000, 300)
    audit = await fetch_one("SELECT details FROM audit_log WHERE action = 'sale.void'")
    details = json.loads(audit["details"]) if isinstance(audit["details"], str) else audit["details"]
    assert details["approved_by"] == "staff:owner"
    assert await ledger_violations() == []
