"""Passes on SQLite and PostgreSQL: sold as the kernel's paid plans (its tier at once, renewals
running on), made also when the plan is bought through the kernel, family members, the e-card key
sealed under the holder's data key, erasure, and pass plans that must be paid plans."""

from __future__ import annotations

import datetime as dt

import pytest
from tourism_park import DAY

from membership.plugin import NotFound, ValidationError, buy_paid_membership, fetch, fetch_one
from membership.testing import deliver_events, make_member, make_program
from membership_tourism import e_card, pass_plans, passes
from membership_tourism.errors import AlreadyOnPass, NotAPassPlan, NotOnPass, PaidPlanMissing, PassPlanNotFound


async def test_a_pass_is_sold_as_its_paid_plan_with_the_tier_and_renewed_from_the_end(park):
    row = await park.sell()
    member = await fetch_one("SELECT tier FROM member WHERE id = {}", park.member_id)
    assert member["tier"] == "gold"  # the plan's tier, at once
    people = await passes.people(row["id"])
    assert [(p["member_id"], p["role"]) for p in people] == [(park.member_id, "holder")]
    first = await passes.term_at(park.member_id, "year-pass", dt.datetime.now(dt.UTC))
    again, bought = await passes.sell_pass(park.member_id, "year-pass", "cash", park.office, actor="test")
    assert again["id"] == row["id"] and bought.starts_at == first.ends_at
    term = await passes.term_at(park.member_id, "year-pass", dt.datetime.now(dt.UTC))
    assert term.ends_at == first.ends_at + 365 * DAY
    with pytest.raises(PassPlanNotFound):
        await passes.sell_pass(park.member_id, "vip", "cash", park.office, actor="test")  # a paid plan, not a pass
    await pass_plans.save_plan(park.program.id, "summer-pass", {"kind": "seasonal", "active": False}, "test")
    with pytest.raises(NotAPassPlan):
        await passes.sell_pass(park.member_id, "summer-pass", "cash", park.office, actor="test")


async def test_a_pass_bought_through_the_kernels_paid_memberships_is_made_by_the_listener(park):
    other = await park.member("孙八")
    await buy_paid_membership(other, "year-pass", "alipay", park.office, actor="till")
    await buy_paid_membership(other, "vip", "alipay", park.office, actor="till")  # not a pass: nothing made
    await deliver_events()
    await deliver_events()  # delivered twice: still one pass
    made = await fetch("SELECT plan_code FROM tourism_pass WHERE holder_id = {}", other)
    assert [r["plan_code"] for r in made] == ["year-pass"]
    [place] = await passes.places_of(park.program.id, other)
    assert place["role"] == "holder"


async def test_family_members_are_of_the_program_once_and_the_holder_stays(park):
    row = await park.sell()
    wife = await park.member("李娜")
    with pytest.raises(ValidationError):
        await passes.add_family(row["id"], wife, "cousin", "test")
    await passes.add_family(row["id"], wife, "spouse", "test")
    with pytest.raises(AlreadyOnPass):
        await passes.add_family(row["id"], wife, "spouse", "test")
    with pytest.raises(AlreadyOnPass):
        await passes.add_family(row["id"], park.member_id, "other", "test")
    elsewhere = await make_program(park.merchant_id, "另一个方案")
    outsider = await make_member(elsewhere.id, "周九")
    with pytest.raises(ValidationError):
        await passes.add_family(row["id"], outsider, "child", "test")
    with pytest.raises(NotOnPass):
        await passes.remove_family(park.program.id, row["id"], park.member_id, "test")  # the holder is not removed
    [wife_place] = await passes.places_of(park.program.id, wife)
    assert (wife_place["role"], wife_place["pass_id"]) == ("family", row["id"])
    with pytest.raises(NotFound):
        await passes.get_pass(outsider)


async def test_the_e_card_key_is_sealed_under_the_holder_and_gone_with_erasure(park):
    from membership.members.rights import erase_member

    row = await park.sell()
    wife = await park.member("李娜")
    await passes.add_family(row["id"], wife, "spouse", "test")
    assert "TP1" not in row["secret"] and row["secret"].startswith("d1.")
    now = dt.datetime.now(dt.UTC)
    token = await park.code(row, wife, now)
    await erase_member(park.member_id, "test", "本人申请注销")
    await deliver_events()
    assert (await park.enter("pass_qr", token, now)).reason == "code_invalid"
    assert await passes.places_of(park.program.id, wife) == []  # the pass's people are off it
    person = await fetch_one("SELECT id FROM tourism_pass_person WHERE member_id = {}", wife)
    with pytest.raises(Exception):  # noqa: B017 - the kernel's MemberErased
        await e_card.code_for(park.program, park.member_id, row["secret"], person["id"], now)


async def test_a_pass_plan_is_one_of_the_programs_paid_plans(park):
    with pytest.raises(PaidPlanMissing) as refused:
        await pass_plans.save_plan(park.program.id, "no-such-plan", {"kind": "annual"}, "test")
    assert "付费会员套餐" in refused.value.detail("zh")
    with pytest.raises(ValidationError):
        await pass_plans.save_plan(park.program.id, "vip", {"kind": "annual", "max_family": 11}, "test")
    with pytest.raises(ValidationError):
        await pass_plans.save_plan(park.program.id, "vip", {"kind": "monthly"}, "test")
    plans = await pass_plans.list_plans(park.program)
    assert [(p.code, p.kind, p.name, p.paid.fee) for p in plans] == [
        ("summer-pass", "seasonal", "夏季季卡", 12_800),
        ("year-pass", "annual", "云栖山年卡", 29_800),
    ]
    with pytest.raises(ValidationError):
        await pass_plans.save_blackout(park.program.id, dt.date(2027, 10, 1), {"name": "国庆", "plans": ["vip"]}, "t")
