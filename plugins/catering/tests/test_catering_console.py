"""The pack's console pages as staff use them, in Chinese and English: stamp cards and dining rules
set in forms (amounts in yuan), a member's tastes and allergies kept and shown at the counter,
reports, roles, and the pages of a program the pack is off for."""

from __future__ import annotations

import pytest
from conftest import coffees

from membership.plugin import fetch
from membership.testing import enable_plugin, make_member
from membership_catering import dining_rules, stamps


@pytest.fixture
async def console(restaurant, any_db):
    from membership.testing import app_for
    from tests.console_client import Console, make_staff

    await make_staff(restaurant)
    return Console(app_for(any_db), restaurant)


def _text(html: str) -> str:
    from tests.console_client import text_of

    return text_of(html)


async def _english(client, path: str) -> None:
    from tests.console_client import csrf_of

    form = {"language": "en", "next": path, "_csrf_token": csrf_of(client)}
    assert (await client.post("/console/language", data=form)).status_code in (302, 303)


async def test_a_manager_adds_a_stamp_card_in_a_form(console, restaurant):
    from tests.console_client import csrf_of

    path = "/console/catering/stamp-schemes"
    async with console.logged_in("manager") as client:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert "集点卡" in _text(page.text) and "咖啡集点卡" in page.text and "免费拿铁一杯" in page.text
        form = {
            "_csrf_token": csrf_of(client),
            "code": "tea",
            "name": "奶茶集点卡：买 8 送 1",
            "skus": "T001\nT002",
            "categories": "",
            "labels": "",
            "stamps_per_item": "1",
            "stamps_needed": "8",
            "reward_template": "free-latte",
            "valid_days": "",
            "starts_on": "",
            "active": "1",
        }
        saved = await client.post(path, data=form)
        assert saved.status_code == 303, saved.text
        tea = await stamps.get_scheme(restaurant.program.id, "tea")
        assert (tea["skus"], tea["stamps_needed"], tea["valid_days"]) == (["T001", "T002"], 8, None)
        bad = await client.post(path, data={**form, "skus": "", "stamps_needed": "9"})
        assert bad.status_code == 422 and "请填写集点的商品编码" in bad.text and 'value="9"' in bad.text
        edit = await client.get(path, params={"edit": "tea"})
        assert "T001\nT002" in edit.text
        await _english(client, path)
        english = await client.get(path)
        assert "Stamp cards" in english.text and "Add a stamp card" in english.text


async def test_a_manager_sets_a_dining_rule_in_yuan(console, restaurant):
    from tests.console_client import csrf_of

    path = "/console/catering/dining-rules"
    async with console.logged_in("owner") as client:
        assert (await client.get(path)).status_code == 200
        form = {
            "_csrf_token": csrf_of(client),
            "code": "big-dinner",
            "name": "晚餐人均满 150 元加送 50 积分",
            "meal_periods": ["dinner"],
            "service_modes": ["dine_in", "takeaway"],
            "min_party_size": "0",
            "min_per_head": "150",
            "multiplier_pct": "100",
            "bonus_points": "50",
            "active": "1",
        }
        saved = await client.post(path, data=form)
        assert saved.status_code == 303, saved.text
        rule = await dining_rules.get_rule(restaurant.program.id, "big-dinner")
        assert (rule["min_per_head"], rule["meal_periods"], rule["service_modes"]) == (
            15_000,
            ["dinner"],
            ["dine_in", "takeaway"],
        )
        page = _text((await client.get(path)).text)
        assert "晚餐" in page and "堂食、外带" in page and "150.00" in page
        bad = await client.post(path, data={**form, "bonus_points": "0"})
        assert bad.status_code == 422 and "积分倍数" in bad.text
        yuan = await client.post(path, data={**form, "min_per_head": "12.345"})
        assert yuan.status_code == 422
    async with console.logged_in("clerk") as client:
        assert (await client.get(path)).status_code == 403


async def test_tastes_and_allergies_are_kept_and_shown_at_the_counter(console, restaurant):
    from tests.console_client import csrf_of

    guest = await make_member(restaurant.program.id, "王芳", phone="13800138000")
    await restaurant.buy(coffees(7), member_id=guest)
    path = "/console/catering/guests"
    async with console.logged_in("clerk") as client:
        found = await client.get(path, params={"q": "13800138000"})
        assert found.status_code == 200, found.text
        assert "王" in found.text and "7 / 10" in _text(found.text) and "拿铁" in found.text
        form = {
            "_csrf_token": csrf_of(client),
            "member": str(guest),
            "tastes": "微辣，不要香菜",
            "allergies": "花生、虾蟹",
            "note": "靠窗",
        }
        saved = await client.post(path, data=form)
        assert saved.status_code == 303, saved.text
        again = _text((await client.get(saved.headers["location"])).text)
        assert "已保存" in again and "过敏：花生、虾蟹" in again
        counter = _text((await client.get(f"/console/counter/members/{guest}")).text)
        assert "⚠ 过敏：花生、虾蟹" in counter and "口味：微辣、不要香菜" in counter and "备注：靠窗" in counter
        assert "咖啡集点卡：买 10 杯送 1 杯（7/10）" in counter
        missing = await client.get(path, params={"q": "13900000000"})
        assert missing.status_code == 404 and "本方案没有使用该手机号" in missing.text
    restaurant.program = await enable_plugin(restaurant.program.id, "catering", {"show_at_counter": False})
    async with console.logged_in("clerk") as client:
        counter = _text((await client.get(f"/console/counter/members/{guest}")).text)
        assert "花生" not in counter and "（7/10）" in counter


async def test_reports_page_in_both_languages(console, restaurant):
    await restaurant.buy(coffees(2), attributes={"party_size": "2"})
    path = "/console/catering/reports"
    async with console.logged_in("analyst") as client:
        page = await client.get(path, params={"report": "catering_dishes", "by": "store", "months": "3"})
        assert page.status_code == 200, page.text
        text = _text(page.text)
        assert "最爱菜品" in text and "拿铁" in text and "SH01" in text
        per_head = _text((await client.get(path, params={"report": "catering_per_head", "by": "meal"})).text)
        assert "人均" in per_head and "堂食" in per_head and "28.00" in per_head
        await _english(client, path)
        english = _text((await client.get(path, params={"report": "catering_visits", "by": "frequency"})).text)
        assert "Visit frequency" in english and "By frequency" in english
    async with console.logged_in("clerk") as client:
        assert (await client.get(path)).status_code == 403


async def test_the_pages_say_when_the_pack_is_off(console, restaurant):
    await enable_plugin(restaurant.program.id, "catering", enabled=False)
    async with console.logged_in("owner") as client:
        for path in ("stamp-schemes", "dining-rules", "guests", "reports"):
            page = await client.get(f"/console/catering/{path}")
            assert page.status_code == 409 and "餐饮行业包未启用" in page.text, path
    assert await fetch("SELECT * FROM catering_preference") == []


async def test_the_menu_shows_the_pages_each_role_may_open(console):
    async with console.logged_in("clerk") as client:
        menu = (await client.get("/console/counter")).text
        assert "/console/catering/guests" in menu and "/console/catering/dining-rules" not in menu
    async with console.logged_in("owner") as client:
        menu = (await client.get("/console/counter")).text
        assert all(f"/console/catering/{p}" in menu for p in ("stamp-schemes", "dining-rules", "guests", "reports"))
