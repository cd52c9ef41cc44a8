"""The pack as the kernel meets it: found through its entry point, off until an owner switches it
on for a program (its card kind, enrolment checks, points terms and tier policy only there), its
settings refused with the staff's words when wrong, its routes in the API schema, and an erased
member's balances deleted."""

from __future__ import annotations

import importlib.metadata

import pytest
from finance_bank import card

from membership.plugin import MembershipError, ValidationError, enrol_member, fetch, issue_credential, plugin_enabled
from membership.testing import deliver_events, enable_plugin, make_member, make_program
from membership_finance import assets, plugin
from membership_finance.values import month_of, now


def test_the_package_declares_its_entry_point():
    found = [ep for ep in importlib.metadata.entry_points(group="membership") if ep.name == "finance"]
    assert [ep.value for ep in found] == ["membership_finance.plugin"]


async def test_installed_is_not_enabled(finance, bank):
    assert finance is plugin
    other = await make_program(bank.merchant_id, "银河商城会员")
    assert plugin_enabled(bank.program, "finance") and not plugin_enabled(other, "finance")
    shopper = await make_member(other.id, "陈十")  # no ID number, no KYC: fine where the pack is off
    with pytest.raises(MembershipError) as refused:
        await issue_credential(shopper, "bank_card", card(), None, "test")
    assert refused.value.code == "unknown_credential_kind"
    assert await fetch("SELECT COUNT(*) AS n FROM finance_balance") == [{"n": 0}]


async def test_its_hooks_do_not_run_where_it_is_off(bank):
    await enable_plugin(bank.program.id, "finance", {"daily_cap": 10})
    await enable_plugin(bank.program.id, "finance", enabled=False)
    await bank.refreshed()
    sale = await bank.spend(50_000, "6011")  # an excluded MCC and over the cap: the kernel's points only
    assert sale.points_earned == 500 and [a.rule for a in sale.awards] == ["base"]
    assert (await enrol_member(bank.program.id, {"name": "没有证件"})).name == "没有证件"


async def test_wrong_settings_are_refused_in_the_staffs_words(bank):
    with pytest.raises(ValidationError) as refused:
        await enable_plugin(bank.program.id, "finance", {"excluded_mccs": ["49O0"]})
    assert "“49O0” 不是商户类别码" in refused.value.detail("zh")
    with pytest.raises(ValidationError) as thresholds:
        await enable_plugin(bank.program.id, "finance", {"gold_min": 100_000_000})
    assert "资产门槛应逐级升高" in thresholds.value.detail("zh")
    with pytest.raises(ValidationError):
        await enable_plugin(bank.program.id, "finance", {"gold_tier": "classic"})


async def test_the_api_schema_lists_the_packs_routes(api):
    schema = await api.http.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/finance/programs/{program_id}/mcc-rules",
        "/api/v1/finance/programs/{program_id}/balances",
        "/api/v1/finance/members/{member_id}/statements/{month}",
    ):
        assert path in paths, path


async def test_an_erased_members_balances_are_deleted(bank):
    from membership.members.rights import erase_member

    await assets.feed_balances(
        bank.program, month_of(bank.program, now()), [assets.FeedLine(1, str(bank.member_id), 100)], "api", "t"
    )
    await erase_member(bank.member_id, actor="test")
    await deliver_events()
    assert await fetch("SELECT id FROM finance_balance WHERE member_id = {}", bank.member_id) == []
