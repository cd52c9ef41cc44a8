{%- set family = cookiecutter.hook_family -%}
{%- set tables = cookiecutter.with_tables == "yes" -%}
{%- set camel = cookiecutter.underscored.title().replace("_", "") -%}
"""Tests of {{ cookiecutter.hyphenated }}, with the kernel's test kit (membership.testing: the
fixtures come with the kernel's pytest plugin; no conftest needed)."""

from __future__ import annotations

import importlib.metadata
{%- if family == "event_listener" %}
import uuid
{%- endif %}

import pytest

{%- if family == "event_listener" %}
from membership.plugin import Event, ValidationError, {% if tables %}fetch, {% endif %}plugin_enabled
{%- elif family == "reader_driver" %}
from membership.plugin import CredentialRead, ReadFault, ValidationError, {% if tables %}fetch, {% endif %}identify
{%- else %}
from membership.plugin import ValidationError, {% if tables %}fetch, {% endif %}plugin_enabled
{%- endif %}
{%- if family == "event_listener" %}
from membership.testing import deliver_events, enable_plugin, make_member, make_program, make_sale
{%- elif family == "reader_driver" %}
from membership.testing import make_card, make_member
{%- else %}
from membership.testing import enable_plugin, make_member, make_program, make_sale
{%- endif %}

from membership_{{ cookiecutter.underscored }} import plugin

NAME = "{{ cookiecutter.hyphenated }}"


def test_the_package_declares_its_entry_point():
    found = [ep for ep in importlib.metadata.entry_points(group="membership") if ep.name == NAME]
    assert [ep.value for ep in found] == ["membership_{{ cookiecutter.underscored }}.plugin"]


async def test_the_kernel_loads_it_through_its_entry_point(shop, load_plugins):
    loaded = await load_plugins(NAME)
    assert loaded[NAME] is plugin
{%- if family != "reader_driver" %}


async def test_installed_is_not_enabled_it_is_turned_on_per_program(shop, load_plugins):
    await load_plugins(NAME)
    assert not plugin_enabled(shop.program, NAME)
    program = await enable_plugin(shop.program.id, NAME)
    assert plugin_enabled(program, NAME)
    other = await make_program(shop.merchant_id, "另一个会员方案")
    assert not plugin_enabled(other, NAME)


async def test_its_settings_are_checked(shop, load_plugins):
    await load_plugins(NAME)
    with pytest.raises(ValidationError) as refused:
        await enable_plugin(shop.program.id, NAME, {"{{ {"points_rule": "extra_points", "event_listener": "min_total", "report": "top"}[family] }}": "lots"})
    assert NAME in refused.value.detail("en")
{%- endif %}
{%- if family == "points_rule" %}


async def test_extra_points_only_where_it_is_on(shop, load_plugins):
    await load_plugins(NAME)
    await enable_plugin(shop.program.id, NAME, {"extra_points": 30, "skus": ["6901"]})
    on = await shop.sale(1_000, sku="6901")
    assert on.points_earned == 10 + 30 and NAME in [award.rule for award in on.awards]
    assert (await shop.sale(1_000, sku="OTHER")).points_earned == 10

    other = await make_program(shop.merchant_id, "另一个会员方案")
    member = await make_member(other.id)
    off = await make_sale(other.id, shop.store_id, member, 1_000, sku="6901")
    assert off.points_earned == 10  # off in this program: its hook does not run


async def test_a_year_later_the_points_expire(shop, load_plugins, clock):
    await load_plugins(NAME)
    program = await make_program(
        shop.merchant_id, "一年有效", points_expiry_days=365, plugins={NAME: {"extra_points": 5, "skus": ["6901"]}}
    )
    member = await make_member(program.id)
    sale = await make_sale(program.id, shop.store_id, member, 1_000, sku="6901", now=clock.now)
    assert sale.points_earned == 15
    clock.advance(days=400)
    outcome = await clock.run_job("expire-points")
    assert outcome.result is not None


async def test_a_till_earns_the_extra_points_through_the_api(shop, load_plugins, api_client):
    await load_plugins(NAME)
    await enable_plugin(shop.program.id, NAME, {"extra_points": 30, "skus": ["6901"]})
    till = await api_client("pos", merchant_id=shop.merchant_id)
    line = {"sku": "6901", "name": "牛奶", "quantity": 1, "unit_price": 1_000}
    body = {"member_id": str(shop.member_id), "store_id": str(shop.store_id), "lines": [line]}
    answer = await till.post("/transactions", json=body, headers={"Idempotency-Key": "till-1-0001"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["points_earned"] == 10 + 30
{%- elif family == "event_listener" %}


async def test_it_hears_purchases_after_the_commit_only_where_it_is_on(shop, load_plugins):
    await load_plugins(NAME)
    await enable_plugin(shop.program.id, NAME, {"min_total": 5_000})
    await shop.sale(9_900)
    await shop.sale(1_000)  # below min_total
    other = await make_program(shop.merchant_id, "另一个会员方案")
    await make_sale(other.id, shop.store_id, await make_member(other.id), 9_900)  # off there

    await deliver_events()  # listeners run after the commit, in the background; this runs them now
    assert await _handled() == [9_900]


async def test_a_repeated_delivery_is_handled_once(shop, load_plugins):
    await load_plugins(NAME)
    program = await enable_plugin(shop.program.id, NAME)
    sale = {"sale_id": str(uuid.uuid4()), "store_id": str(shop.store_id), "total": 2_000}
    data = {**sale, "discount": 0, "points_earned": 20}  # as a listener receives it: JSON values
    event = Event("purchase.recorded", program.id, shop.member_id, data)
    await plugin.membership_event(event)
    await plugin.membership_event(event)  # delivery is at least once: the same event (same id) again
    assert await _handled() == [2_000]


async def _handled() -> list[int]:
    """The amounts of the purchases the plugin handled."""
{%- if tables %}
    rows = await fetch("SELECT amount FROM {{ cookiecutter.underscored }}_record ORDER BY created_at")
    return [row["amount"] for row in rows]
{%- else %}
    return [sale.total for _, sale in plugin.RECEIVED]


@pytest.fixture(autouse=True)
def _forget_what_it_heard():
    plugin.RECEIVED.clear()
{%- endif %}
{%- elif family == "reader_driver" %}


def test_the_driver_turns_lines_into_card_reads():
    driver = plugin.{{ camel }}Driver()
    assert driver.feed(b"04a1b2", 0.0) == []  # half a line: nothing yet
    reads = driver.feed(b"c3\r\nZZ\r\n", 0.1)
    assert reads == [CredentialRead("card_uid", "04A1B2C3"), ReadFault("not a hex card number", b"ZZ\r")]


def test_the_driver_refuses_an_option_it_does_not_know():
    with pytest.raises(ValidationError):
        plugin.{{ camel }}Driver(speed="fast")


async def test_every_program_can_use_the_driver(shop, load_plugins):
    await load_plugins(NAME)
    member = await make_member(shop.program.id)
    await make_card(member, "04A1B2C3")
    read = plugin.{{ camel }}Driver().feed(b"04A1B2C3\r\n", 0.0)[0]
    assert await identify(shop.program.id, read.kind, read.value) == member
{%- elif family == "report" %}


async def test_the_report_lists_the_top_spenders_where_it_is_on(shop, load_plugins):
    await load_plugins(NAME)
    await enable_plugin(shop.program.id, NAME, {"top": 1})
    big = await make_member(shop.program.id, "李娜")
    await make_sale(shop.program.id, shop.store_id, big, 50_000)
    await shop.sale(1_000)
    result = await plugin.{{ camel }}Report().run(shop.program.id, {})
    assert result.as_dicts() == [{"member_id": big, "sales": 1, "spent": 50_000}]


async def test_the_report_is_refused_where_it_is_off(shop, load_plugins):
    await load_plugins(NAME)
    with pytest.raises(ValidationError):
        await plugin.{{ camel }}Report().run(shop.program.id, {})

{%- endif %}
{%- if tables %}


async def test_its_tables_are_migrated(shop, load_plugins):
    await load_plugins(NAME)
    assert await fetch("SELECT COUNT(*) AS n FROM {{ cookiecutter.underscored }}_record") == [{"n": 0}]
{%- endif %}
