"""The pack's console pages as staff use them, in Chinese and English: a visitor checked at a gate,
a pass sold, a family member added and an ID card registered in forms, the e-card's QR, pass
plans, blackout dates, venues and gates set in forms, reports with their chart; roles, and the
pages of a program the pack is off for."""

from __future__ import annotations

import datetime as dt

import pytest
from tourism_park import ID_NUMBER

from membership.plugin import fetch, fetch_one
from membership.testing import enable_plugin
from membership_tourism import pass_plans, passes


@pytest.fixture
async def console(park, any_db):
    from membership.testing import app_for
    from tests.console_client import Console, make_staff

    await make_staff(park)
    return Console(app_for(any_db), park)


def _text(html: str) -> str:
    from tests.console_client import text_of

    return text_of(html)


def _csrf(client) -> str:
    from tests.console_client import csrf_of

    return csrf_of(client)


async def _english(client, path: str) -> None:
    form = {"language": "en", "next": path, "_csrf_token": _csrf(client)}
    assert (await client.post("/console/language", data=form)).status_code in (302, 303)


async def test_a_clerk_checks_a_visitor_at_a_gate(console, park):
    row = await park.sell()
    async with console.logged_in("clerk") as client:
        page = await client.get("/console/tourism")
        assert page.status_code == 200, page.text
        assert "入园核验" in _text(page.text) and "南门闸机" in page.text and "景区年卡" in page.text
        token = await park.code(row)
        form = {"_csrf_token": _csrf(client), "gate": "S1", "kind": "pass_qr", "value": token}
        let_in = await client.post("/console/tourism/check", data=form)
        assert let_in.status_code == 200 and "允许入园" in _text(let_in.text) and "欢迎入园" in let_in.text
        refused = await client.post("/console/tourism/check", data=form)
        assert "不能入园" in _text(refused.text) and "该电子码已使用过" in refused.text
        assert "电子码已使用" in _text(refused.text)  # the latest checks, with the reason's name
        wrong = await client.post("/console/tourism/check", data={**form, "gate": "E9"})
        assert wrong.status_code == 404 and "没有闸机" in wrong.text
        await _english(client, "/console/tourism")
        english = await client.get("/console/tourism")
        assert "Gate check" in english.text and "Today per gate" in english.text


async def test_a_clerk_sells_a_pass_adds_family_and_registers_an_id_card(console, park):
    wife = await park.member("李娜")
    wife_no = (await fetch_one("SELECT member_no FROM member WHERE id = {}", wife))["member_no"]
    async with console.logged_in("clerk") as client:
        found = await client.get("/console/tourism/passes", params={"q": str(park.member_id)})
        assert found.status_code == 200 and "该会员还没有年卡或季卡" in found.text, found.text
        assert "云栖山年卡" in found.text and "¥298.00" in found.text  # the plan and its fee in yuan
        form = {
            "_csrf_token": _csrf(client),
            "member": str(park.member_id),
            "plan": "year-pass",
            "method": "wechat_pay",
            "token": "t-1",
        }
        sold = await client.post("/console/tourism/passes/sell", data=form)
        assert sold.status_code == 303, sold.text
        await client.post("/console/tourism/passes/sell", data=form)  # a double click: sold once
        paid = await fetch("SELECT id FROM paid_membership WHERE member_id = {}", park.member_id)
        assert len(paid) == 1
        [place] = await passes.places_of(park.program.id, park.member_id)
        family = {
            "_csrf_token": _csrf(client),
            "member": str(park.member_id),
            "pass": str(place["pass_id"]),
            "family": wife_no,
            "relation": "spouse",
        }
        added = await client.post("/console/tourism/passes/family", data=family)
        assert added.status_code == 303, added.text
        page = await client.get(added.headers["location"])
        assert (
            "已添加副卡" in page.text
            and "李娜" in page.text
            and "配偶" in page.text
            and "副卡还可添加 1 人" in page.text
        )
        nobody = await client.post("/console/tourism/passes/family", data={**family, "family": "13000000000"})
        assert nobody.status_code == 404 and "本方案没有使用该手机号" in nobody.text
        id_form = {"_csrf_token": _csrf(client), "member": str(park.member_id), "number": "110105194912310021"}
        bad = await client.post("/console/tourism/passes/id-card", data=id_form)
        assert bad.status_code == 422 and "校验位" in bad.text
        good = await client.post("/console/tourism/passes/id-card", data={**id_form, "number": ID_NUMBER})
        assert good.status_code == 303
        by_id = await client.get("/console/tourism/passes", params={"q": ID_NUMBER})
        assert "张伟" in by_id.text and ID_NUMBER not in by_id.text.replace(f"q={ID_NUMBER}", "").replace(
            f'value="{ID_NUMBER}"', ""
        )
        person = await park.person(await passes.get_pass(place["pass_id"]), wife)
        qr = await client.get(f"/console/tourism/e-card/{person['id']}")
        assert qr.status_code == 200 and "data:image/svg+xml" in qr.text and 'hx-trigger="every' in qr.text
        removed = await client.post(
            "/console/tourism/passes/family/remove",
            data={
                "_csrf_token": _csrf(client),
                "member": str(park.member_id),
                "pass": str(place["pass_id"]),
                "family": str(wife),
            },
        )
        assert removed.status_code == 303
        assert await passes.places_of(park.program.id, wife) == []


async def test_a_manager_sets_plans_blackout_dates_venues_and_gates_in_forms(console, park):
    async with console.logged_in("manager") as client:
        plans = await client.get("/console/tourism/plans")
        assert plans.status_code == 200 and "金卡会员" in plans.text and "不是年卡" in plans.text
        form = {
            "_csrf_token": _csrf(client),
            "plan": "vip",
            "kind": "annual",
            "max_family": "3",
            "daily_entries": "1",
            "reentry_minutes": "0",
            "active": "1",
        }
        assert (await client.post("/console/tourism/plans", data=form)).status_code == 303
        assert (await pass_plans.get_plan(park.program, "vip")).max_family == 3
        bad = await client.post("/console/tourism/plans", data={**form, "max_family": "三"})
        assert bad.status_code == 422 and "须为整数" in bad.text
        day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        blackout = {"_csrf_token": _csrf(client), "day": day, "name": "国庆节", "plans": "year-pass"}
        assert (await client.post("/console/tourism/blackout", data=blackout)).status_code == 303
        listed = await client.get("/console/tourism/blackout")
        assert day in listed.text and "国庆节" in listed.text
        assert (
            await client.post(
                "/console/tourism/blackout", data={"_csrf_token": _csrf(client), "day": day, "remove": "1"}
            )
        ).status_code == 303
        assert await pass_plans.list_blackouts(park.program.id) == []
        venues_page = await client.get("/console/tourism/venues")
        assert venues_page.status_code == 200 and "山居酒店" in venues_page.text and "酒店" in venues_page.text
        venue = {
            "_csrf_token": _csrf(client),
            "store": str(park.hotel),
            "format": "hotel",
            "pass_points_pct": "20",
            "pass_discount_pct": "15",
        }
        assert (await client.post("/console/tourism/venues", data=venue)).status_code == 303
        row = await fetch_one("SELECT pass_points_pct FROM tourism_venue WHERE store_id = {}", park.hotel)
        assert row["pass_points_pct"] == 20
        gate = {
            "_csrf_token": _csrf(client),
            "code": "T1",
            "name": "演艺厅检票口",
            "store": str(park.hotel),
            "active": "1",
        }
        assert (await client.post("/console/tourism/gates", data=gate)).status_code == 303
        bad_gate = await client.post("/console/tourism/gates", data={**gate, "code": "T 1"})
        assert bad_gate.status_code == 422
        await _english(client, "/console/tourism/venues")
        assert "Venues and gates" in (await client.get("/console/tourism/venues")).text


async def test_reports_are_drawn_and_tabled(console, park):
    row = await park.sell()
    await park.enter("pass_qr", await park.code(row))
    async with console.logged_in("analyst") as client:
        page = await client.get(
            "/console/tourism/reports", params={"report": "tourism_entries", "by": "hour", "months": "1"}
        )
        assert page.status_code == 200, page.text
        assert (
            "tourism-chart-data" in page.text and "/console/tourism/charts.js" in page.text and "入园次数" in page.text
        )
        script = await client.get("/console/tourism/charts.js")
        assert script.status_code == 200 and "echarts.init" in script.text
        for name in ("tourism_revisits", "tourism_secondary", "tourism_renewals", "tourism_cross_venue"):
            assert (await client.get("/console/tourism/reports", params={"report": name})).status_code == 200
        assert (await client.get("/console/tourism/passes")).status_code == 403  # an analyst sells nothing
        assert (await client.get("/console/tourism")).status_code == 200


async def test_roles_and_a_program_the_pack_is_off_for(console, park):
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/tourism/plans")).status_code == 403
        assert (await client.get("/console/tourism/reports")).status_code == 403
    await enable_plugin(park.program.id, "tourism", enabled=False)
    async with console.logged_in("owner") as client:
        off = await client.get("/console/tourism/passes")
        assert off.status_code == 409 and "文旅景区行业包未启用" in off.text
        off = await client.post(
            "/console/tourism/check", data={"_csrf_token": _csrf(client), "gate": "S1", "value": "x"}
        )
        assert off.status_code == 409
