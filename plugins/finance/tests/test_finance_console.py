"""The pack's console pages as staff use them, in Chinese and English: a cardholder found by card
with masked cards, KYC, consents and assets; a card added and a membership opened in forms whose
refusals sit beside their field; MCC rules set in a form with the multiplier as times; a month's
balances uploaded as a CSV file; a statement viewed and a month built; the settings form in yuan;
the counter's notes; roles; and the pages of a program the pack is off for."""

from __future__ import annotations

import re

import pytest
from finance_bank import card, id_number

from membership.plugin import fetch, fetch_one
from membership.testing import enable_plugin
from membership_finance import mcc
from membership_finance.bank_card import mask
from membership_finance.values import month_of, now, previous_month


@pytest.fixture
async def console(bank, any_db):
    from membership.testing import app_for
    from tests.console_client import Console, make_staff

    await make_staff(bank)
    return Console(app_for(any_db), bank)


def _text(html: str) -> str:
    from tests.console_client import text_of

    return text_of(html)


def _csrf(client) -> str:
    from tests.console_client import csrf_of

    return csrf_of(client)


def _beside(html: str, field: str) -> str:
    """The error shown right after the input named ``field``."""
    found = re.search(rf'name="{field}"[^>]*>\s*<span class="field-error">([^<]+)</span>', html)
    return found[1] if found else ""


async def _english(client, path: str) -> None:
    form = {"language": "en", "next": path, "_csrf_token": _csrf(client)}
    assert (await client.post("/console/language", data=form)).status_code in (302, 303)


async def test_a_clerk_finds_a_cardholder_by_card_adds_a_card_and_records_a_consent(console, bank):
    async with console.logged_in("clerk") as client:
        home = await client.get("/console/finance")
        assert home.status_code == 200, home.text
        assert "银行卡会员" in home.text and "开户入会" in home.text
        found = await client.get("/console/finance", params={"q": bank.card})
        assert found.status_code == 200
        text = _text(found.text)
        assert "张伟" in text and mask(bank.card) in text and "已核验" in text and "普卡" in text
        assert bank.card not in found.text.replace(f'value="{bank.card}"', "")
        form = {"_csrf_token": _csrf(client), "member": str(bank.member_id), "number": "6222 0200 0000 0000"}
        bad = await client.post("/console/finance/cards", data=form)
        assert bad.status_code == 422 and _beside(bad.text, "number") == "银行卡号校验不通过，请核对卡号是否输错"
        second = card()
        good = await client.post("/console/finance/cards", data={**form, "number": second})
        assert good.status_code == 303
        page = await client.get(good.headers["location"])
        assert "已添加银行卡" in page.text and mask(second) in page.text
        consent = {
            "_csrf_token": _csrf(client),
            "member": str(bank.member_id),
            "purpose": "marketing_sms",
            "granted": "1",
        }
        assert (await client.post("/console/finance/consents", data=consent)).status_code == 303
        page = await client.get(f"/console/finance?member={bank.member_id}")
        assert "授权记录" in page.text and "branch · staff:clerk" in _text(page.text)
        row = await fetch_one("SELECT consents FROM member WHERE id = {}", bank.member_id)
        assert '"marketing_sms": true' in row["consents"]
        nobody = await client.get("/console/finance", params={"q": "6222020000000000"})
        assert nobody.status_code == 404 and "本方案没有使用该银行卡号" in nobody.text


async def test_opening_a_membership_puts_each_refusal_beside_its_field(console, bank):
    async with console.logged_in("clerk") as client:
        form = {
            "_csrf_token": _csrf(client),
            "name": "周敏",
            "phone": "13912345678",
            "id_number": "",
            "kyc_status": "pending",
            "consents": ["personal_info", "sensitive_info", "marketing_sms"],
            "card": "",
        }
        missing = await client.post("/console/finance/enrol", data=form)
        assert missing.status_code == 422 and _beside(missing.text, "id_number") == "银行会员入会须登记身份证号码"
        assert 'value="周敏"' in missing.text and 'value="marketing_sms" checked' in missing.text
        number = id_number(321)
        pending = await client.post("/console/finance/enrol", data={**form, "id_number": number})
        assert "须先完成客户身份识别（KYC）" in pending.text and "kyc_status" in pending.text
        unconsented = await client.post(
            "/console/finance/enrol", data={**form, "id_number": number, "kyc_status": "verified", "consents": []}
        )
        assert "须取得客户授权：个人信息处理、敏感个人信息处理" in unconsented.text
        bad_card = await client.post(
            "/console/finance/enrol",
            data={**form, "id_number": number, "kyc_status": "verified", "card": "6222020000000000"},
        )
        assert _beside(bad_card.text, "card") == "银行卡号校验不通过，请核对卡号是否输错"
        assert await fetch("SELECT id FROM member WHERE name = '周敏'") == []
        number_card = card()
        opened = await client.post(
            "/console/finance/enrol", data={**form, "id_number": number, "kyc_status": "verified", "card": number_card}
        )
        assert opened.status_code == 303, opened.text
        page = await client.get(opened.headers["location"])
        assert "已开户入会" in page.text and "周敏" in page.text and mask(number_card) in page.text
        [member] = await fetch("SELECT consents, preferences, source_channel FROM member WHERE name = '周敏'")
        assert '"kyc_status": "verified"' in member["preferences"] and member["source_channel"] == "branch"
        assert '"third_party_sharing": false' in member["consents"]


async def test_a_manager_sets_mcc_rules_in_a_form(console, bank):
    async with console.logged_in("manager") as client:
        page = await client.get("/console/finance/mcc")
        assert page.status_code == 200 and "公共事业（水电煤气）" in page.text and "×0.5" in page.text
        form = {"_csrf_token": _csrf(client), "mccs": "5811-5814", "name": "餐饮双倍积分", "multiplier": "2"}
        assert (await client.post("/console/finance/mcc", data=form)).status_code == 303
        [rule] = await mcc.list_rules(bank.program.id)
        assert (rule.mccs, rule.multiplier_pct) == ("5811-5814", 200)
        bad = await client.post("/console/finance/mcc", data={**form, "mccs": "58", "multiplier": "两倍"})
        assert bad.status_code == 422
        assert "不是商户类别码" in _beside(bad.text, "mccs") and "请填写 0 到 10 的倍数" in _beside(
            bad.text, "multiplier"
        )
        listed = await client.get("/console/finance/mcc")
        assert "餐饮双倍积分" in listed.text and "×2" in listed.text
        removed = await client.post(
            "/console/finance/mcc/remove", data={"_csrf_token": _csrf(client), "mccs": "5811-5814"}
        )
        assert removed.status_code == 303 and await mcc.list_rules(bank.program.id) == []
        await _english(client, "/console/finance/mcc")
        english = await client.get("/console/finance/mcc")
        assert "Points by MCC" in english.text and "Utilities" in english.text


async def test_a_manager_uploads_a_months_balances(console, bank):
    month = previous_month(month_of(bank.program, now()))
    member_no = (await fetch_one("SELECT member_no FROM member WHERE id = {}", bank.member_id))["member_no"]
    csv = f"会员号,月日均资产\n{member_no},82000\n123,abc\n".encode("gbk")
    async with console.logged_in("manager") as client:
        page = await client.get("/console/finance/assets")
        assert page.status_code == 200 and "金卡" in page.text and "¥50,000.00" in page.text
        files = {"file": ("aum.csv", csv, "text/csv")}
        fed = await client.post(
            "/console/finance/assets", data={"_csrf_token": _csrf(client), "month": month}, files=files
        )
        assert fed.status_code == 200, fed.text
        assert f"{month}：共 2 行，保存 1 条，升级 1 人，未导入 1 行" in _text(fed.text)
        assert "请填写以元为单位的金额" in fed.text and "aum.csv" in fed.text
        tier = await fetch_one("SELECT tier FROM member WHERE id = {}", bank.member_id)
        assert tier["tier"] == "gold"
        no_file = await client.post("/console/finance/assets", data={"_csrf_token": _csrf(client), "month": "2026-13"})
        assert no_file.status_code == 422 and "请填写月份" in no_file.text and "请选择 CSV 文件" in no_file.text


async def test_statements_are_viewed_and_built_in_the_console(console, bank):
    last = previous_month(month_of(bank.program, now()))
    async with console.logged_in("manager") as client:
        built = await client.post(
            "/console/finance/statements/build", data={"_csrf_token": _csrf(client), "month": last}
        )
        assert built.status_code == 303
        await bank.spend(20_000, "5812")
        page = await client.get(
            "/console/finance/statements", params={"q": bank.card, "month": month_of(bank.program, now())}
        )
        assert page.status_code == 200, page.text
        text = _text(page.text)
        assert "期初余额" in text and "+200" in text and "本月对账单尚未生成" in text
        assert "已生成的对账单" in text and last in text
        unknown = await client.get("/console/finance/statements", params={"q": "nobody", "month": last})
        assert unknown.status_code == 404 and "本方案没有使用该银行卡号" in unknown.text
        await _english(client, "/console/finance/statements")
        english = await client.get("/console/finance/statements", params={"q": bank.card, "month": last})
        assert "Opening balance" in english.text and "Statements built" in english.text


async def test_the_settings_form_takes_yuan_and_the_counter_shows_the_tier_by_assets(console, bank):
    async with console.logged_in("owner") as client:
        page = await client.get("/console/program-plugins")
        assert page.status_code == 200 and "金卡资产门槛" in page.text and "50000.00" in page.text
        assert "每人每日积分上限" in page.text and "不积分的商户类别码（MCC）" in page.text
        counter = await client.get(f"/console/counter/members/{bank.member_id}")
        assert counter.status_code == 200 and "资产等级：普卡（暂无资产数据）" in _text(counter.text)
        assert "KYC：已核验" in _text(counter.text)
    program = await enable_plugin(bank.program.id, "finance", {"gold_min": 8_000_000})
    from membership_finance.settings import settings_of

    assert settings_of(program).gold_min == 8_000_000


async def test_roles_and_a_program_the_pack_is_off_for(console, bank):
    async with console.logged_in("analyst") as client:
        assert (await client.get("/console/finance/mcc")).status_code == 200
        assert (await client.get("/console/finance/assets")).status_code == 200
        refused = await client.post("/console/finance/enrol", data={"_csrf_token": _csrf(client), "name": "x"})
        assert refused.status_code == 403
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/finance/assets")).status_code == 403
        form = {"_csrf_token": _csrf(client), "mccs": "5812", "name": "x", "multiplier": "2"}
        assert (await client.post("/console/finance/mcc", data=form)).status_code == 403
    await enable_plugin(bank.program.id, "finance", enabled=False)
    async with console.logged_in("owner") as client:
        off = await client.get("/console/finance")
        assert off.status_code == 409 and "金融行业包未启用" in off.text
        form = {"_csrf_token": _csrf(client), "mccs": "5812", "name": "x", "multiplier": "2"}
        assert (await client.post("/console/finance/mcc", data=form)).status_code == 409
