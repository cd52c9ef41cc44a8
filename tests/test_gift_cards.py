"""Gift cards (礼品卡) through the API, on SQLite and PostgreSQL: sold as lines at the till (one
card per unit, codes shown once with a QR code), spent in part at another store, balances by code,
concurrent spends that never overdraw, refunds both ways, the settlement report and liability kept
apart from members' stored value, and the ledger's invariants."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from membership.db import fetch, fetch_one
from membership.giftcards import service as giftcards
from membership.ledger import service as ledger
from membership.ledger import settlement
from membership.members import service as members
from membership.plugins import hooks
from membership.testing import make_member
from tests.helpers import ledger_violations

PRODUCT = {"sku": "GC-100", "name": "100元礼品卡", "face_value": 10_000}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


async def _product(api, **changes):
    path = f"/programs/{api.shop.program.id}/gift-card-products"
    answer = await api.call("POST", path, "admin", {**PRODUCT, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _sale(api, lines, payments=None, store=None, **body):
    sale = {
        "member_id": str(api.shop.member_id),
        "store_id": str(store or api.shop.store_id),
        "lines": lines,
        **body,
    }
    if payments is not None:
        sale["payments"] = payments
    return sale


CARDS_LINE = {"sku": "GC-100", "name": "100元礼品卡", "quantity": 3, "unit_price": 10_000}
MILK = {"sku": "6901", "name": "牛奶", "quantity": 1, "unit_price": 1_500}


async def _sell_three(api):
    """One sale at S1: three 100-yuan cards and a carton of milk, by card; the cards' codes."""
    await _product(api)
    answer = await api.buy(_sale(api, [CARDS_LINE, MILK], [{"method": "card", "amount": 31_500}]))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _balance(api, code, key="read"):
    return await api.call("GET", f"/programs/{api.shop.program.id}/gift-cards/{code}", key)


def _pay(code, amount):
    return {"method": "gift_card", "code": code, "amount": amount}


async def test_a_sale_issues_one_card_per_unit_shown_once_and_spent_in_part_at_another_store(any_api):
    api = any_api
    sold = await _sell_three(api)
    cards = sold["gift_cards"]
    assert len(cards) == 3 and len({card["code"] for card in cards}) == 3
    assert all(CODE.match(card["code"]) and card["balance"] == card["face_value"] == 10_000 for card in cards)
    assert all(card["masked"] == "****-****-****-" + card["code"][-4:] for card in cards)
    assert cards[0]["qr_svg"].startswith("<svg") and "</svg>" in cards[0]["qr_svg"]
    # the gift cards earn no points when sold (they earn when spent): only the milk earns
    assert sold["points_earned"] == 15
    # nothing stores a code in the clear: not the cards, not the stored idempotent answer
    first = cards[0]["code"]
    stored = await fetch("SELECT code_sealed, code_hash, code_hint FROM gift_card")
    assert all(first.replace("-", "") not in str(row) for row in stored)
    replies = await fetch("SELECT response FROM idempotency_key")
    assert all(first.replace("-", "") not in (row["response"] or "") for row in replies)

    # pay 35 yuan of a 35-yuan sale at the other store with the first card (typed in lower case, no dashes)
    typed = first.replace("-", "").lower()
    paid = await api.buy(
        _sale(api, [{**MILK, "unit_price": 3_500}], [_pay(typed, 3_500)], store=api.shop.other_store_id)
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["points_earned"] == 35  # spending a gift card earns like cash
    balance = await _balance(api, first)
    assert balance.status_code == 200, balance.text
    assert balance.json()["balance"] == 6_500 and balance.json()["status"] == "in_use"
    assert balance.json()["code"] == cards[0]["masked"]  # masked once issued
    # too much: refused with the balance, nothing written
    refused = await api.buy(_sale(api, [{**MILK, "unit_price": 7_000}], [_pay(first, 7_000)]))
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_gift_card_balance"
    assert "6500" in refused.json()["detail"]
    zh = await api.call(
        "POST",
        "/transactions",
        "pos",
        _sale(api, [{**MILK, "unit_price": 7_000}], [_pay(first, 7_000)]),
        lang="zh-CN",
        **{"Idempotency-Key": "zh-1"},
    )
    assert "余额 6500" in zh.json()["detail"]
    # a card and cash together; then the balance is spent to the last fen
    both = await api.buy(
        _sale(api, [{**MILK, "unit_price": 8_000}], [_pay(first, 6_500), {"method": "cash", "amount": 1_500}])
    )
    assert both.status_code == 201, both.text
    spent = (await _balance(api, first)).json()
    assert (spent["balance"], spent["status"]) == (0, "spent")
    # the list: masked codes, states, balances, paging
    path = f"/programs/{api.shop.program.id}/gift-cards"
    listed = await api.call("GET", path, "read", params={"page_size": 2})
    assert listed.status_code == 200 and listed.json()["total"] == 3 and len(listed.json()["items"]) == 2
    everything = (await api.call("GET", path, "read")).json()["items"]
    assert sorted(item["status"] for item in everything) == ["spent", "unused", "unused"]
    assert all(item["code"].startswith("****-****-****-") for item in everything)
    unused = await api.call("GET", path, "read", params={"status": "unused"})
    assert unused.json()["total"] == 2
    assert await ledger_violations() == []


async def test_unknown_bad_and_other_programs_codes_are_clear_errors(any_api):
    api = any_api
    sold = await _sell_three(api)
    unknown = await _balance(api, "0000-0000-0000-0000")
    assert unknown.status_code == 404 and unknown.json()["code"] == "gift_card_not_found"
    zh = await api.call("GET", f"/programs/{api.shop.program.id}/gift-cards/0000000000000000", "read", lang="zh-CN")
    assert "没有这个卡号的礼品卡" in zh.json()["detail"]
    bad = await _balance(api, "12345")
    assert bad.status_code == 422 and "16" in bad.json()["detail"]
    refused = await api.buy(_sale(api, [MILK], [_pay("0000-0000-0000-0000", 1_500)]))
    assert refused.status_code == 404 and refused.json()["code"] == "gift_card_not_found"
    no_code = await api.buy(_sale(api, [MILK], [{"method": "cash", "amount": 1_500, "code": "ABC"}]))
    assert no_code.status_code == 422
    # simulate checks the card as a purchase would, and writes nothing
    code = sold["gift_cards"][0]["code"]
    simulated = await api.call(
        "POST", "/transactions/simulate", "read", _sale(api, [{**MILK, "unit_price": 20_000}], [_pay(code, 20_000)])
    )
    assert simulated.status_code == 409 and simulated.json()["code"] == "insufficient_gift_card_balance"
    fits = await api.call("POST", "/transactions/simulate", "read", _sale(api, [MILK], [_pay(code, 1_500)]))
    assert fits.status_code == 200 and (await _balance(api, code)).json()["balance"] == 10_000
    # a card line not at its face value is refused before anything is written
    cheap = await api.buy(_sale(api, [{**CARDS_LINE, "quantity": 1, "unit_price": 9_000}]))
    assert cheap.status_code == 422 and "face value" in cheap.json()["detail"]
    assert (await fetch_one("SELECT COUNT(*) AS n FROM gift_card"))["n"] == 3


async def test_concurrent_sales_never_overdraw_a_card(any_api):
    api = any_api
    sold = await _sell_three(api)
    code = sold["gift_cards"][0]["code"]
    buyers = [await make_member(api.shop.program.id, store_id=api.shop.store_id) for _ in range(8)]
    spends = [  # eight members (no member lock in common): only the card's conditional update guards it
        api.buy(_sale(api, [{**MILK, "unit_price": 3_000}], [_pay(code, 3_000)], store=store, member_id=str(buyer)))
        for buyer, store in zip(buyers, [api.shop.store_id, api.shop.other_store_id] * 4, strict=True)
    ]
    answers = await asyncio.gather(*spends)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 201, 201, 409, 409, 409, 409, 409], [a.text for a in answers]
    assert all(a.json()["code"] == "insufficient_gift_card_balance" for a in answers if a.status_code == 409)
    assert (await _balance(api, code)).json()["balance"] == 1_000
    assert await ledger_violations() == []


async def test_refunding_the_sale_that_sold_cards_voids_only_unused_ones(any_api):
    api = any_api
    sold = await _sell_three(api)
    sale_id = sold["id"]
    cards = sold["gift_cards"]
    # spend from one of the three cards
    assert (await api.buy(_sale(api, [MILK], [_pay(cards[0]["code"], 1_500)]))).status_code == 201
    # refunding all three is refused: one was used; nothing is refunded
    path = f"/transactions/{sale_id}/refund"
    refused = await api.call("POST", path, "pos", {"lines": [{"line_no": 1, "quantity": 3}]})
    assert refused.status_code == 409 and refused.json()["code"] == "gift_card_used"
    assert "only 2" in refused.json()["detail"]
    sale = await fetch_one("SELECT refunded_amount FROM sale WHERE id = {}", sold["id"])
    assert int(sale["refunded_amount"]) == 0
    # refunding two voids the two unused cards; their codes no longer pay
    done = await api.call("POST", path, "pos", {"lines": [{"line_no": 1, "quantity": 2}]})
    assert done.status_code == 201, done.text
    assert done.json()["amount"] == 20_000
    assert done.json()["points_reversed"] == 0  # the cards earned nothing; the milk keeps its 15 points
    assert sorted(done.json()["gift_cards_voided"]) == sorted(card["masked"] for card in cards[1:])
    void = await _balance(api, cards[1]["code"])
    assert (void.json()["status"], void.json()["balance"]) == ("void", 0)
    refused = await api.buy(_sale(api, [MILK], [_pay(cards[2]["code"], 1_500)]))
    assert refused.status_code == 409 and refused.json()["code"] == "gift_card_void"
    assert (await _balance(api, cards[0]["code"])).json()["balance"] == 8_500  # the used one stays
    liability = await api.call("GET", f"/programs/{api.shop.program.id}/gift-cards/liability", "read")
    assert liability.json() == {"cards": 3, "sold": 10_000, "spent": 1_500, "outstanding": 8_500}
    assert await ledger_violations() == []


async def test_refunding_a_sale_paid_by_gift_card_gives_the_amount_back_to_the_card(any_api):
    api = any_api
    sold = await _sell_three(api)
    code = sold["gift_cards"][0]["code"]
    other = sold["gift_cards"][1]["code"]
    two_lines = [{**MILK, "quantity": 2, "unit_price": 2_000}, {"sku": "6902", "quantity": 1, "unit_price": 4_000}]
    paid = await api.buy(
        _sale(
            api,
            two_lines,
            [_pay(code, 3_000), _pay(other, 4_000), {"method": "cash", "amount": 1_000}],
            store=api.shop.other_store_id,
        )
    )
    assert paid.status_code == 201, paid.text
    path = f"/transactions/{paid.json()['id']}/refund"
    half = await api.call("POST", path, "pos", {"lines": [{"line_no": 1, "quantity": 1}]})  # a quarter of 80
    assert half.status_code == 201, half.text
    assert half.json()["gift_card_returned"] == 1_750  # a quarter of the 70 paid by gift cards
    rest = await api.call("POST", path, "pos", {})
    assert rest.status_code == 201 and rest.json()["gift_card_returned"] == 5_250
    balances = [(await _balance(api, c)).json()["balance"] for c in (code, other)]
    assert balances == [10_000, 10_000]  # each card got back exactly what it paid
    today = dt.datetime.now(api.shop.program.zone).date()
    lines = await settlement.report(api.shop.program, today, today)
    owed = [(line.issuer_code, line.redeemer_code, line.value) for line in lines if line.kind == "gift_card"]
    assert owed == [("S1", "S2", 0)]  # S1 owed S2 the 70 spent there, and no longer once refunded
    assert await ledger_violations() == []


async def test_settlement_and_liability_keep_gift_cards_apart_from_stored_value(any_api):
    api = any_api
    sold = await _sell_three(api)  # sold at S1
    await ledger.top_up(api.shop.member_id, 5_000, api.shop.store_id)  # stored value issued at S1
    code = sold["gift_cards"][0]["code"]
    at_s2 = await api.buy(
        _sale(
            api,
            [{**MILK, "unit_price": 6_000}],
            [_pay(code, 4_000), {"method": "stored_value", "amount": 2_000}],
            store=api.shop.other_store_id,
        )
    )
    assert at_s2.status_code == 201, at_s2.text
    await api.buy(_sale(api, [MILK], [_pay(code, 1_500)]))  # at S1 itself: nothing owed
    today = dt.datetime.now(api.shop.program.zone).date()
    got = {
        (line.issuer_code, line.redeemer_code, line.kind): line.value
        for line in await settlement.report(api.shop.program, today, today)
    }
    assert got == {("S1", "S2", "gift_card"): 4_000, ("S1", "S2", "stored_value"): 2_000}
    answer = await api.call(
        "GET", f"/programs/{api.shop.program.id}/settlement", "admin", params={"start": str(today), "end": str(today)}
    )
    assert {line["kind"]: line["value"] for line in answer.json()["lines"]} == {
        "gift_card": 4_000,
        "stored_value": 2_000,
    }
    report = await hooks().reports()["gift_card_liability"]().run(api.shop.program.id, {})
    assert report.rows == [[3, 30_000, 5_500, 24_500]]
    members_hold = await hooks().reports()["points_liability"]().run(api.shop.program.id, {})
    stored = {row[0]: row[2] for row in members_hold.rows}
    assert stored["stored_value"] == 3_000 and "gift_card" not in stored  # members' stored value only
    assert (await members.member_row(api.shop.member_id))["id"] == api.shop.member_id
    assert await ledger_violations() == []


async def test_products_are_configured_per_program_and_audited(any_api):
    api = any_api
    path = f"/programs/{api.shop.program.id}/gift-card-products"
    created = await _product(api, sku="GC-50", name="50元卡", face_value=5_000)
    assert created == {"sku": "GC-50", "name": "50元卡", "face_value": 5_000, "active": True}
    again = await api.call("POST", path, "admin", {"sku": "GC-50", "name": "x", "face_value": 100})
    assert again.status_code == 409 and again.json()["code"] == "gift_card_product_exists"
    changed = await api.call("PUT", f"{path}/GC-50", "admin", {"name": "50元卡", "face_value": 5_000, "active": False})
    assert changed.status_code == 200 and changed.json()["active"] is False
    missing = await api.call("PUT", f"{path}/NOPE", "admin", {"name": "x", "face_value": 100})
    assert missing.status_code == 404 and missing.json()["code"] == "gift_card_product_not_found"
    assert (await api.call("GET", path, "read")).json() == [changed.json()]
    # a retired product's SKU is an ordinary line again
    plain = await api.buy(_sale(api, [{"sku": "GC-50", "quantity": 1, "unit_price": 5_000}]))
    assert plain.status_code == 201 and plain.json()["gift_cards"] == []
    assert await fetch("SELECT action FROM audit_log WHERE action = 'gift_card_product.save'") != []
    refused = await api.call("POST", path, "pos", PRODUCT)
    assert refused.status_code == 403


async def test_a_replayed_sale_shows_the_same_cards_and_issues_none_more(any_api):
    api = any_api
    await _product(api)
    body = _sale(api, [{**CARDS_LINE, "quantity": 1}])
    first = await api.buy(body, idem="gift-1")
    again = await api.buy(body, idem="gift-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["gift_cards"] == first.json()["gift_cards"]
    assert (await fetch_one("SELECT COUNT(*) AS n FROM gift_card"))["n"] == 1
    assert giftcards.normalize_code(first.json()["gift_cards"][0]["code"].lower().replace("0", "o")) == first.json()[
        "gift_cards"
    ][0]["code"].replace("-", "")


async def test_the_console_configures_products_in_yuan_lists_cards_masked_and_looks_up_a_balance(any_console):
    from membership.ledger.rules import LineInput
    from membership.sales import service as sales
    from tests.console_client import csrf_of, text_of

    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        form = {"sku": "GC-200", "name": "200元礼品卡", "face_value": "两百", "active": "on"}
        refused = await client.post("/console/gift-cards/products", data={**form, "_csrf_token": csrf_of(client)})
        assert (
            refused.status_code == 422 and "面值无效" in text_of(refused.text) and 'aria-invalid="true"' in refused.text
        )
        saved = await client.post(
            "/console/gift-cards/products", data={**form, "face_value": "200.00", "_csrf_token": csrf_of(client)}
        )
        assert saved.status_code == 303
        assert [(p.sku, p.face_value) for p in await giftcards.products(shop.program.id)] == [("GC-200", 20_000)]
        sold = await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, [LineInput("GC-200", 2, 20_000)]
        )
        code = (await giftcards.sold_by(shop.program.id, sold.id))[0].code
        page = text_of((await client.get("/console/gift-cards")).text)
        assert "礼品卡" in page and "共 2 张" in page and "未使用" in page and "¥400.00" in page
        assert code not in page and f"****-****-****-{code[-4:]}" in page
        found = await client.post(
            "/console/gift-cards/balance", data={"code": code.lower(), "_csrf_token": csrf_of(client)}
        )
        assert found.status_code == 200 and "¥200.00" in text_of(found.text) and code not in found.text
        unknown = await client.post(
            "/console/gift-cards/balance", data={"code": "0000-0000-0000-0000", "_csrf_token": csrf_of(client)}
        )
        assert unknown.status_code == 404 and "没有这个卡号的礼品卡" in text_of(unknown.text)
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/gift-cards")).status_code == 200  # clerks look balances up
        changed = await client.post("/console/gift-cards/products", data={**form, "_csrf_token": csrf_of(client)})
        assert changed.status_code == 403  # but do not change products


async def test_the_counter_sells_cards_as_a_line_and_takes_a_card_as_payment(any_db):
    from membership.db import fetch as query
    from membership.testing import app_for
    from membership.tiers import service as tiers
    from tests.console_client import Console, make_staff, text_of
    from tests.helpers import make_shop
    from tests.test_counter_sales import confirm, review

    shop = await make_shop()
    await make_staff(shop)
    await tiers.configure(
        shop.program.id, [{"code": "gold", "name": "金卡", "threshold": 0, "discount_pct": 5}], None, "t"
    )
    await query("UPDATE member SET tier = 'gold' WHERE id = {}", shop.member_id)  # 95折 on every other line
    await giftcards.save_product(shop.program.id, "GC-100", "100元礼品卡", 10_000, create=True)
    counter = Console(app_for(any_db), shop)
    member = shop.member_id
    cards_line = {"sku": ["GC-100"], "name": ["礼品卡"], "quantity": ["2"], "price": ["100"], "category": [""]}
    async with counter.logged_in("clerk") as client:
        reviewed = await review(client, member, cards_line, tender="card")
        assert "应付 ¥200.00" in text_of(reviewed)  # sold at face value: no tier discount on a gift card
        done = await confirm(client, member, reviewed)
        codes = re.findall(r"<strong>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</strong>", done)
        assert len(codes) == 2 and done.count("<svg") >= 2 and "卡号之后不再显示" in text_of(done)
        latte = {"sku": ["6901"], "name": ["拿铁"], "quantity": ["2"], "price": ["30"], "category": [""]}
        wrong = await review(client, member, latte, gift_card="0000-0000-0000-0000", gift_card_amount="10")
        assert "没有这个卡号的礼品卡" in text_of(wrong) and 'aria-invalid="true"' in wrong
        too_much = await review(client, member, latte, gift_card=codes[0], gift_card_amount="58")
        assert "储值、积分与礼品卡合计 ¥58.00，超过应付金额 ¥57.00" in text_of(too_much)
        reviewed = await review(client, member, latte, gift_card=codes[0].lower(), gift_card_amount="50")
        assert "礼品卡 ¥50.00" in text_of(reviewed) and "现金 ¥7.00" in text_of(reviewed)
        assert "已收款 ¥57.00" in text_of(await confirm(client, member, reviewed))
    assert (await giftcards.balance(shop.program.id, codes[0]))["balance"] == 5_000
    assert (await giftcards.balance(shop.program.id, codes[1]))["balance"] == 10_000
    assert await ledger_violations() == []


async def test_a_card_still_pays_after_a_key_rotation_retires_the_old_key(any_db):
    from membership.config import new_secret_key
    from membership.ledger.rules import LineInput
    from membership.members.rotation import rotate
    from membership.sales import service as sales
    from membership.sales.service import PaymentInput
    from tests.conftest import SECRET
    from tests.helpers import make_shop
    from tests.security.test_keys import _reopen

    shop = await make_shop()
    await giftcards.save_product(shop.program.id, "GC-100", "礼品卡", 10_000, create=True)
    sold = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("GC-100", 2, 10_000)])
    codes = [card.code for card in await giftcards.sold_by(shop.program.id, sold.id)]
    other = new_secret_key()
    await _reopen(other, SECRET)
    await rotate(lambda done, total: None, chunk=1)
    await _reopen(other)  # the old key forgotten
    assert [
        card.code for card in await giftcards.sold_by(shop.program.id, sold.id)
    ] == codes  # unsealed with the new key
    await sales.record_purchase(
        shop.program.id,
        shop.other_store_id,
        shop.member_id,
        [LineInput("A", 1, 2_500)],
        payments=[PaymentInput("gift_card", 2_500, code=codes[1])],
    )
    assert (await giftcards.balance(shop.program.id, codes[1]))["balance"] == 7_500
    assert await ledger_violations() == []


async def test_coupons_never_discount_the_gift_cards_sold(any_api):
    """A coupon counts and discounts the other lines only: a card bought with a coupon would be
    stored money sold below its value."""
    api = any_api
    await _product(api)
    program = f"/programs/{api.shop.program.id}"
    coupon = {"code": "hundred", "name": "满100减20", "kind": "amount_off", "amount_off": 2_000, "min_spend": 10_000}
    assert (
        await api.call("POST", f"{program}/coupon-templates", "admin", {**coupon, "valid_days": 30})
    ).status_code == 201
    issued = await api.call(
        "POST", f"{program}/coupon-templates/hundred/issue", "admin", {"member_ids": [str(api.shop.member_id)]}
    )
    code = issued.json()["issued"][0]["code"]
    card = {**CARDS_LINE, "quantity": 1}
    refused = await api.buy(_sale(api, [card, MILK], coupons=[code]))  # the milk alone is below 100 yuan
    assert refused.status_code == 409 and refused.json()["code"] == "coupon_min_spend", refused.text
    wine = {"sku": "7001", "name": "红酒", "quantity": 1, "unit_price": 12_000}
    sold = await api.buy(_sale(api, [card, wine], coupons=[code]))
    assert sold.status_code == 201, sold.text
    assert sold.json()["total"] == 10_000 + 12_000 - 2_000 and sold.json()["gift_cards"][0]["balance"] == 10_000
    assert await ledger_violations() == []
