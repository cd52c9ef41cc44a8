"""The pack as the kernel meets it: found through its entry point, off until an owner switches it
on for a program, its settings form in the staff's words, its tastes forgotten with an erased
member, and its tables created by its migration."""

from __future__ import annotations

import importlib.metadata

from membership.plugin import fetch, plugin_enabled
from membership.testing import deliver_events, make_member, make_program
from membership_catering import plugin, preferences


def test_the_package_declares_its_entry_point():
    found = [ep for ep in importlib.metadata.entry_points(group="membership") if ep.name == "catering"]
    assert [ep.value for ep in found] == ["membership_catering.plugin"]


async def test_the_kernel_loads_it_and_installed_is_not_enabled(catering, restaurant):
    assert catering is plugin
    other = await make_program(restaurant.merchant_id, "另一个会员方案")
    assert plugin_enabled(restaurant.program, "catering") and not plugin_enabled(other, "catering")
    tables = await fetch("SELECT COUNT(*) AS n FROM catering_stamp_scheme")
    assert tables == [{"n": 1}]


async def test_the_settings_form_speaks_the_staffs_words(restaurant):
    from membership.console.struct_forms import form_fields
    from membership_catering.settings import CateringSettings

    labels = {field.name: field.label for field in form_fields(CateringSettings, {})}
    assert labels["dinner_from"] == "晚餐开始" and labels["default_service_mode"] == "默认就餐方式"
    assert labels["show_at_counter"] == "前台显示口味与过敏"


async def test_an_erased_member_s_tastes_and_allergies_are_deleted(restaurant):
    from membership.members.rights import erase_member

    guest = await make_member(restaurant.program.id, "赵敏")
    await preferences.save_preferences(restaurant.program.id, guest, {"allergies": ["花生"], "note": "靠窗"}, "test")
    [row] = await fetch("SELECT allergies, note FROM catering_preference WHERE member_id = {}", guest)
    assert row["allergies"] and "花生" not in row["allergies"] and "靠窗" not in row["note"]  # sealed
    assert (await preferences.get_preferences(guest))["allergies"] == ["花生"]
    await erase_member(guest, "test", "会员要求删除")
    await deliver_events()
    assert (await preferences.get_preferences(guest))["allergies"] == []
    assert await fetch("SELECT member_id FROM catering_preference WHERE member_id = {}", guest) == []


async def test_the_daily_job_is_registered(restaurant):
    from membership.plugins import hooks

    job = hooks().jobs()["catering-stamp-cards"]
    assert job.schedule and "集点卡" in job.description
