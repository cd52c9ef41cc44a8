"""The extension platform as an integrator meets it: a throwaway plugin package, installed with pip
and found through its entry point, declares a points rule with settings and event listeners; it is
enabled for one of two programs and works there only; its listeners run after the commit, a slow
one does not hold the till and a failing one does not stop another."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import pytest

from membership import hookimpl
from membership.db import fetch
from membership.errors import PluginNotFound, ValidationError
from membership.ledger.rules import Award, LineInput
from membership.members.credentials import UnknownCredentialKind
from membership.org import service as org
from membership.org.program_plugins import PluginMeta, program_plugins, set_program_plugin
from membership.outbox import service as outbox
from membership.plugins import hooks, reset_hooks
from membership.sales import service as sales
from membership.testing import deliver_events
from tests.helpers import make_shop

PLUGIN = '''
"""A throwaway plugin: 品牌日 points, a staff-badge credential, and listeners for every event."""
import msgspec
from membership.plugin import Award, CredentialKindSpec, PluginMeta, hookimpl, plugin_settings

HEARD = []

class Settings(msgspec.Struct):
    extra_points: int = 5
    skus: list[str] = []

@hookimpl
def membership_plugin_meta():
    return PluginMeta("品牌日", "Brand day", "指定商品每单加送积分", "Extra points on some products", Settings)

@hookimpl
def membership_points_awards(context):
    settings = plugin_settings(context.program, "brandday", Settings)
    if any(line.sku in settings.skus for line in context.lines):
        return [Award("brand-day", settings.extra_points, "品牌日加送")]
    return None

@hookimpl
def membership_register_credential_kinds():
    return [CredentialKindSpec("staff_badge", "员工卡", "staff badge", normalize=lambda v: v.strip().upper())]

@hookimpl
async def membership_event(event):
    HEARD.append((event.id, event.name, str(event.program_id)))
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The throwaway package, built and installed with pip into a folder of its own."""
    source = tmp_path_factory.mktemp("brandday")
    (source / "brandday.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "membership-brandday"
            version = "0.1.0"
            [project.entry-points.membership]
            brandday = "brandday"
            [tool.setuptools]
            py-modules = ["brandday"]
            """
        ),
        encoding="utf-8",
    )
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return site


@pytest.fixture
def installed(plugin_site, monkeypatch):
    """The entry points of the installed package loaded, as outside tests (allow-listed to it)."""
    import importlib

    monkeypatch.syspath_prepend(str(plugin_site))
    importlib.invalidate_caches()
    monkeypatch.setattr("membership.plugins._loading_entry_points", lambda: True)
    monkeypatch.setenv("MEMBERSHIP_PLUGINS", "brandday")
    reset_hooks()
    yield sys.modules.get("brandday") or importlib.import_module("brandday")
    monkeypatch.undo()
    reset_hooks()


async def test_hook_plugin_meta(db, installed):
    assert set(hooks().plugin_metas()) == {"brandday", "membership.builtin.surveys"}  # and the kernel's own
    shop = await make_shop()
    listed = [p for p in await program_plugins(shop.program.id) if p.name == "brandday"]
    assert [(p.name, p.enabled, p.settings) for p in listed] == [("brandday", False, {"extra_points": 5, "skus": []})]
    assert isinstance(listed[0].meta, PluginMeta) and listed[0].meta.label_zh == "品牌日"


async def test_a_plugin_works_only_in_the_program_it_is_enabled_for(any_db, installed):
    installed.HEARD.clear()
    first = await make_shop()
    second = await org.create_program(first.merchant_id, "第二个方案")
    from membership.members import service as members

    other_member = (await members.enrol(second.id, {"name": "李娜", "phone": "13900000009"})).id
    settings = {"extra_points": 30, "skus": ["BRAND-1"]}
    await set_program_plugin(first.program.id, "brandday", True, settings, "test")
    with pytest.raises(ValidationError) as bad:
        await set_program_plugin(first.program.id, "brandday", None, {"extra_points": "lots"}, "test")
    assert "extra_points" in bad.value.detail("en")

    line = [LineInput("BRAND-1", 1, 1_000)]
    mine = await sales.record_purchase(first.program.id, first.store_id, first.member_id, line)
    theirs = await sales.record_purchase(second.id, first.store_id, other_member, line)
    assert sorted(a.rule for a in mine.awards) == ["base", "brand-day"] and mine.points_earned == 10 + 30
    assert [a.rule for a in theirs.awards] == ["base"]  # off in the second program: its hook does not run

    badge = await members.issue_credential(first.member_id, "staff_badge", "b-7")
    assert badge["hint"].endswith("B-7")
    assert await members.identify(first.program.id, "staff_badge", " b-7 ") == first.member_id
    with pytest.raises(UnknownCredentialKind):  # the kind is the plugin's: off in the second program
        await members.issue_credential(other_member, "staff_badge", "b-8")
    with pytest.raises(UnknownCredentialKind):
        await members.identify(second.id, "staff_badge", "b-7")

    await deliver_events()
    heard = installed.HEARD
    assert {program for _, _, program in heard} == {str(first.program.id)}  # no listener outside
    assert len({event_id for event_id, _, _ in heard}) == len(heard)  # each event once
    audit = await fetch("SELECT details FROM audit_log WHERE action = 'program.plugin'")
    assert len(audit) == 1 and "BRAND-1" in str(audit[0]["details"])


async def test_listeners_run_after_the_commit_isolated_and_retried(api, register_plugin):
    heard: list[str] = []

    calls = []

    class Slow:
        @hookimpl
        async def membership_event(self, event):
            await asyncio.sleep(3)
            heard.append("slow:" + event.name)

    class Broken:
        @hookimpl
        def membership_event(self, event):
            calls.append(event.id)
            raise RuntimeError("the SMS gateway is down")

    class Steady:
        @hookimpl
        def membership_event(self, event):
            time.sleep(0.01)  # a blocking listener runs in a worker thread
            heard.append("steady:" + event.name)

    for listener, name in ((Slow(), "slow"), (Broken(), "broken"), (Steady(), "steady")):
        register_plugin(listener, name=name)

    started = time.monotonic()
    answer = await api.buy(api.sale(1_000))
    took = time.monotonic() - started
    assert answer.status_code == 201 and took < 2.0, took  # the 3 s listener does not hold the till
    await outbox.wait_for_background()
    assert "steady:purchase.recorded" in heard and "slow:purchase.recorded" in heard
    failing = await outbox.failed_deliveries()
    assert {row["listener"] for row in failing} == {"broken"} and "SMS gateway" in failing[0]["last_error"]

    import datetime as dt

    later = dt.datetime.now(dt.UTC)
    for _ in range(outbox.MAX_ATTEMPTS):  # retried with growing pauses, then dead
        later += dt.timedelta(hours=1)
        await outbox.deliver_all(later)
    states = {row["state"] for row in await fetch("SELECT state FROM event_delivery WHERE listener = 'broken'")}
    assert states == {"dead"} and len(calls) == outbox.MAX_ATTEMPTS * len(set(calls))
    assert await outbox.retry_dead("broken") >= 1
    delivered = await fetch("SELECT listener, state FROM event_delivery WHERE listener <> 'broken'")
    assert {row["state"] for row in delivered} == {"delivered"}


async def test_old_events_are_forgotten_once_delivered_everywhere(any_api, register_plugin, monkeypatch):
    import datetime as dt

    failed_once: list[str] = []

    class Flaky:
        @hookimpl
        def membership_event(self, event):
            if not failed_once:
                failed_once.append(str(event.id))
                raise RuntimeError("the SMS gateway is down")

    register_plugin(Flaky(), name="flaky")
    for amount in (1_000, 2_000, 3_000):
        assert (await any_api.buy(any_api.sale(amount))).status_code == 201
    await outbox.wait_for_background()
    events = {row["id"] for row in await fetch("SELECT id FROM event_outbox")}
    waiting = {
        str(row["event_id"]) for row in await fetch("SELECT event_id FROM event_delivery WHERE state <> 'delivered'")
    }
    assert len(events) >= 3 and waiting == set(failed_once)

    monkeypatch.setattr(outbox, "PURGE_CHUNK", 2)  # several chunks, one event held back in one of them
    now = dt.datetime.now(dt.UTC)
    assert await outbox.purge_delivered(now - dt.timedelta(days=1)) == 0  # none old enough
    assert await outbox.purge_delivered(now + dt.timedelta(seconds=1)) == len(events) - 1
    kept = await fetch("SELECT id FROM event_outbox")
    assert [str(row["id"]) for row in kept] == failed_once
    left = await fetch("SELECT event_id FROM event_delivery")
    assert {str(row["event_id"]) for row in left} == set(failed_once)  # the forgotten events' deliveries went too


async def test_an_owner_switches_a_plugin_on_and_sets_it_in_a_form(console, register_plugin):
    from tests.console_client import csrf_of, text_of

    class Settings(msgspec.Struct):
        stamps: Annotated[int, msgspec.Meta(ge=1, le=50, title="满几杯送一杯")] = 10
        mode: Literal["dine_in", "takeaway"] = "dine_in"
        skus: list[str] = []

    class Stamps:
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("集点卡", "Stamp cards", "买满 N 杯送 1 杯", "Buy N, get one free", Settings)

    register_plugin(Stamps(), name="stamps")
    path = "/console/program-plugins"
    async with console.logged_in("owner") as client:
        page = text_of((await client.get(path)).text)
        assert "集点卡" in page and "满几杯送一杯" in page and "买满 N 杯送 1 杯" in page
        form = {
            "_csrf_token": csrf_of(client),
            "enabled": "1",
            "stamps": "8",
            "mode": "takeaway",
            "skus": "LATTE\nMOCHA",
        }
        saved = await client.post(f"{path}/stamps", data=form)
        assert saved.status_code == 303, saved.text
        bad = await client.post(f"{path}/stamps", data={**form, "stamps": "99"})
        assert bad.status_code == 422 and 'value="99"' in bad.text  # shown inline, as typed
    async with console.logged_in("clerk") as client:
        assert (await client.get(path)).status_code == 403
    listed = {p.name: p for p in await program_plugins(console.shop.program.id)}
    assert listed["stamps"].enabled and listed["stamps"].settings == {
        "stamps": 8,
        "mode": "takeaway",
        "skus": ["LATTE", "MOCHA"],
    }


async def test_program_plugins_through_the_api(api, register_plugin):
    class Plain:
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("示例", "Example")

    register_plugin(Plain(), name="plain")
    path = f"/programs/{api.shop.program.id}/plugins"
    listed = await api.call("GET", path, "read")
    assert listed.status_code == 200 and [p["name"] for p in listed.json()] == ["membership.builtin.surveys", "plain"]
    on = await api.call("PUT", f"{path}/plain", "admin", {"enabled": True})
    assert on.status_code == 200 and on.json()["enabled"] is True
    assert (await api.call("PUT", f"{path}/plain", "pos", {"enabled": False})).status_code == 403
    unknown = await api.call("PUT", f"{path}/nope", "admin", {"enabled": True})
    assert unknown.status_code == 404 and "plain" in unknown.json()["detail"]
    settings = await api.call("PUT", f"{path}/plain", "admin", {"settings": {"x": 1}})
    assert settings.status_code == 422


async def test_a_sale_carries_attributes_brands_and_labels_for_a_packs_rules(api, register_plugin):
    class DinnerParty:
        @hookimpl
        def membership_points_awards(self, context):
            party = int(context.attributes.get("party_size", "1"))
            labelled = [line for line in context.lines if "招牌" in line.labels and line.brand == "湘味"]
            if context.attributes.get("meal_period") == "dinner" and party >= 4 and labelled:
                return [Award("big-dinner", 50, f"{party} 人晚餐点招牌菜")]
            return None

    register_plugin(DinnerParty())
    line = {
        "sku": "D001",
        "name": "剁椒鱼头",
        "quantity": 1,
        "unit_price": 8_800,
        "brand": "湘味",
        "labels": ["招牌", "辣"],
    }
    body = api.sale(lines=[line], attributes={"meal_period": "dinner", "party_size": "6", "service_mode": "dine_in"})
    simulated = await api.call("POST", "/transactions/simulate", "pos", body)
    assert "big-dinner" in [a["rule"] for a in simulated.json()["awards"]], simulated.text
    bought = await api.buy(body, idem="party-1")
    assert bought.status_code == 201 and "big-dinner" in [a["rule"] for a in bought.json()["awards"]]
    assert (await api.buy(body, idem="party-1")).headers.get("idempotent-replayed") == "true"
    row = await fetch("SELECT attributes FROM sale")
    assert '"party_size": "6"' in row[0]["attributes"]
    stored = await fetch("SELECT brand, labels FROM sale_line")
    assert stored[0]["brand"] == "湘味" and "招牌" in stored[0]["labels"]
    bad = await api.buy(api.sale(attributes={"Bad Key": "x"}))
    assert bad.status_code == 422
    lunch = await api.buy({**body, "attributes": {"meal_period": "lunch", "party_size": "6"}})
    assert "big-dinner" not in [a["rule"] for a in lunch.json()["awards"]]


async def test_hook_demo_profile(db, register_plugin):
    from membership.demo.service import create_demo
    from membership.plugin import DemoProfile

    seen = []

    class Noodles:
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("面馆", "Noodle shop")

        @hookimpl
        def membership_demo_profile(self):
            stores = (("CS01", "老街面馆 · 五一店", "长沙"), ("CS02", "老街面馆 · 河西店", "长沙"))
            catalog = (("N001", "牛肉粉", "粉面", 1_800), ("N002", "煎蛋", "小吃", 300))
            return DemoProfile("老街面馆", "老街会员", stores, catalog)

        @hookimpl
        async def membership_demo_data(self, program, store_ids, rng):
            seen.append((program.name, len(store_ids)))

    register_plugin(Noodles(), name="noodles")
    summary = await create_demo(members_count=5, purchases=10, seed=2, industry="noodles")
    assert summary.program.name == "老街会员" and "noodles" in summary.program.plugins
    assert seen == [("老街会员", 2)]
    lines = {row["sku"] for row in await fetch("SELECT DISTINCT sku FROM sale_line")}
    assert lines <= {"N001", "N002"} and lines
    with pytest.raises(ValidationError):
        await create_demo(members_count=1, purchases=0, seed=3, industry="nonesuch")


async def test_program_documents_carry_which_plugins_are_on(db, register_plugin):
    from membership.org.program_file import apply_document, export_document

    class Settings(msgspec.Struct):
        stamps: int = 10

    class Stamps:
        @hookimpl
        def membership_plugin_meta(self):
            return PluginMeta("集点卡", "Stamp cards", settings=Settings)

    register_plugin(Stamps(), name="stamps")
    shop = await make_shop()
    document = await export_document(shop.program.id)
    assert document["plugins"] == [
        {"name": "membership.builtin.surveys", "enabled": False, "settings": {}},  # the kernel's own
        {"name": "stamps", "enabled": False, "settings": {"stamps": 10}},
    ]
    document["plugins"] = [{"name": "stamps", "enabled": True, "settings": {"stamps": 8}}]
    assert (await apply_document(document)).changes == ["~ plugin stamps: on"]
    assert (await apply_document(document)).changes == []
    listed = {p.name: p for p in await program_plugins(shop.program.id)}
    assert listed["stamps"].enabled and listed["stamps"].settings == {"stamps": 8}
    document["plugins"] = [{"name": "not-installed", "enabled": True}]
    with pytest.raises(PluginNotFound):
        await apply_document(document)
