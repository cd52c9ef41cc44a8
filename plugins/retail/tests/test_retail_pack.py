"""The pack as an integrator meets it: installed with its entry point, loaded, off until switched on
per program, its settings checked by its schema, its tables migrated on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.metadata

import pytest

from membership.plugin import ValidationError, fetch, plugin_enabled
from membership.plugins import hooks
from membership.testing import enable_plugin, make_program
from membership_retail import plugin
from membership_retail.settings import RetailSettings, settings_of

TABLES = (
    "retail_product",
    "retail_member_price",
    "retail_points_rule",
    "retail_receipt",
    "retail_claim",
    "retail_cycle",
    "retail_reminder",
)


def test_the_package_declares_its_entry_point():
    found = [ep for ep in importlib.metadata.entry_points(group="membership") if ep.name == "retail"]
    assert [ep.value for ep in found] == ["membership_retail.plugin"]


async def test_it_loads_through_its_entry_point_with_its_tables(retail):
    assert retail.plugin is plugin
    for table in TABLES:
        assert await fetch(f"SELECT COUNT(*) AS n FROM {table}") == [{"n": 0}]
    registered = hooks()
    assert {"retail-repurchase", "retail-forget-receipts"} <= set(registered.jobs())
    assert "retail_basket" in registered.reports()
    assert [page.path for page in registered.console_pages()] == ["/retail"]


async def test_installed_is_not_enabled(retail):
    assert plugin_enabled(retail.program, "retail")
    other = await make_program(retail.shop.merchant_id, "另一个会员方案")
    assert not plugin_enabled(other, "retail")


async def test_its_settings_are_checked_and_labelled_for_staff(retail):
    program = await enable_plugin(retail.program.id, "retail", {"claim_days": 14})
    assert settings_of(program).claim_days == 14 and settings_of(program).reminders is True
    with pytest.raises(ValidationError) as refused:
        await enable_plugin(retail.program.id, "retail", {"claim_days": 365})
    assert "claim_days" in refused.value.detail("en")
    import msgspec

    for field in msgspec.structs.fields(RetailSettings):
        assert field.default is not msgspec.NODEFAULT, field.name


async def test_its_routes_are_in_the_api_schema(retail, retail_api):
    client = await retail_api("read")
    schema = await client.get("http://testserver/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/retail/claims", "/api/v1/retail/member-prices", "/api/v1/retail/basket"} <= set(paths)
    assert "member_prices" in schema.json()["components"]["schemas"]["SimulationOut"]["properties"]
