"""The pack as the kernel meets it: found through its entry point, off until an owner switches it
on for a program (its credential kinds, points, prices and listeners only there), its settings form
in the staff's words, the e-card code identifying its person at any till, and the pass on the
counter's member panel."""

from __future__ import annotations

import datetime as dt
import importlib.metadata

import pytest
from tourism_park import ID_NUMBER, MEAL

from membership.plugin import MembershipError, ValidationError, fetch, identify, issue_credential, plugin_enabled
from membership.testing import enable_plugin, make_member, make_program
from membership_tourism import e_card, passes, plugin


def test_the_package_declares_its_entry_point():
    found = [ep for ep in importlib.metadata.entry_points(group="membership") if ep.name == "tourism"]
    assert [ep.value for ep in found] == ["membership_tourism.plugin"]


async def test_the_kernel_loads_it_and_installed_is_not_enabled(tourism, park):
    assert tourism is plugin
    other = await make_program(park.merchant_id, "另一个会员方案")
    assert plugin_enabled(park.program, "tourism") and not plugin_enabled(other, "tourism")
    stranger = await make_member(other.id, "陈十")
    with pytest.raises(MembershipError) as refused:  # its kinds only where it is on
        await issue_credential(stranger, "id_card", ID_NUMBER, None, "test")
    assert refused.value.code == "unknown_credential_kind"
    assert await fetch("SELECT COUNT(*) AS n FROM tourism_gate") == [{"n": 2}]


async def test_its_hooks_do_not_run_where_it_is_off(park):
    await park.sell()
    await enable_plugin(park.program.id, "tourism", enabled=False)
    meal = await park.buy(park.restaurant, MEAL)
    assert (meal.member_discount, meal.points_earned) == (0, 100)


async def test_the_settings_form_speaks_the_staffs_words_and_checks_its_bounds(park):
    from membership.console.struct_forms import form_fields
    from membership_tourism.settings import TourismSettings

    labels = {field.name: field.label for field in form_fields(TourismSettings, {})}
    assert labels["qr_step_seconds"] == "电子码刷新间隔（秒）" and labels["show_at_counter"] == "前台显示年卡信息"
    with pytest.raises(ValidationError):
        await enable_plugin(park.program.id, "tourism", {"qr_step_seconds": 5})


async def test_a_longer_code_period_keeps_a_code_good_longer(park):
    row = await park.sell()
    await enable_plugin(park.program.id, "tourism", {"qr_step_seconds": 120, "qr_tolerance_steps": 0})
    await park.refreshed()
    now = dt.datetime.now(dt.UTC)
    token = await park.code(row, at=now)
    assert e_card.parse(token).step == int(now.timestamp()) // 120
    assert (await park.enter("pass_qr", token, now + dt.timedelta(seconds=1))).allowed


async def test_the_e_card_code_identifies_its_person_at_any_till(park):
    row = await park.sell()
    wife = await park.member("李娜")
    await passes.add_family(row["id"], wife, "spouse", "test")
    assert await identify(park.program.id, "pass_qr", await park.code(row, wife)) == wife
    old = await park.code(row, wife, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with pytest.raises(MembershipError) as refused:
        await identify(park.program.id, "pass_qr", old)
    assert refused.value.code == "credential_not_found"
    with pytest.raises(MembershipError):
        await identify(park.program.id, "pass_qr", "TP1.0.1.2")


async def test_the_counter_shows_the_members_pass(park, any_db):
    from membership.testing import app_for
    from tests.console_client import Console, make_staff, text_of

    row = await park.sell()
    await park.enter("pass_qr", await park.code(row))
    await make_staff(park)
    console = Console(app_for(any_db), park)
    async with console.logged_in("clerk") as client:
        page = await client.get(f"/console/counter/members/{park.member_id}")
        assert page.status_code == 200, page.text
        text = text_of(page.text)
        assert "年卡「云栖山年卡」（主卡）：有效期至" in text and "今日入园 1 次" in text
