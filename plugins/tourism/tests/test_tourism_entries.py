"""Entry at the gates on SQLite and PostgreSQL: the e-card's rotating code (good now, refused as a
screenshot later, once only), ID cards and cards through the kernel's credentials, family members
on the holder's pass, blackout dates, re-entry and the daily limit, passes not started or ended,
and each try kept with its gate, day and hour."""

from __future__ import annotations

import datetime as dt

import pytest
from tourism_park import DAY, ID_NUMBER, at_local

from membership.plugin import fetch, fetch_one, issue_credential
from membership.testing import make_card
from membership_tourism import e_card, pass_plans, passes
from membership_tourism.errors import FamilyFull, GateClosed, GateNotFound
from membership_tourism.gates import save_gate


async def test_the_e_card_code_opens_the_gate_once_and_a_screenshot_later_does_not(park):
    pass_row = await park.sell()
    now = at_local(park.program, dt.datetime.now(park.program.zone).date() + DAY, 10)  # +40 min: same day
    token = await park.code(pass_row, at=now)
    assert token.startswith("TP1.")
    first = await park.enter("pass_qr", token, now)
    assert first.allowed and first.reason == "" and first.message == "欢迎入园", first
    assert (first.plan, first.role, first.entries_today, first.daily_entries) == ("year-pass", "holder", 1, 2)
    assert first.name == "张*" and first.pass_kind == "年卡"
    again = await park.enter("pass_qr", token, now + dt.timedelta(minutes=40))
    assert (again.allowed, again.reason) == (False, "code_expired") and "截图无效" in again.message
    later = now + dt.timedelta(minutes=40)
    fresh = await park.enter("pass_qr", await park.code(pass_row, at=later), later)
    assert fresh.allowed and fresh.entries_today == 2
    used = await park.enter("pass_qr", await park.code(pass_row, at=later), later + dt.timedelta(seconds=1))
    assert used.reason in ("code_used", "reentry_too_soon", "daily_limit")
    forged = token[:-8] + ("00000000" if not token.endswith("00000000") else "11111111")
    assert (await park.enter("pass_qr", forged, now)).reason == "code_invalid"
    assert (await park.enter("pass_qr", "not a code", now)).reason == "code_invalid"


async def test_a_code_from_a_moment_ago_is_still_taken_within_the_tolerance(park):
    pass_row = await park.sell()
    now = dt.datetime.now(dt.UTC)
    assert (await park.enter("pass_qr", await park.code(pass_row, at=now - dt.timedelta(seconds=30)), now)).allowed
    await park.refreshed()


async def test_an_id_card_and_a_card_open_the_gate_and_unknown_or_blocked_ones_do_not(park):
    await park.sell()
    card = await issue_credential(park.member_id, "id_card", ID_NUMBER.lower(), park.office, "test")
    assert card["hint"] == "" and card["value"] is None  # a secret kind: nothing to show
    stored = await fetch_one("SELECT value_hint, value_hash FROM credential WHERE id = {}", card["id"])
    assert stored["value_hint"] == "" and ID_NUMBER not in str(stored)
    now = dt.datetime.now(dt.UTC)
    assert (await park.enter("id_card", " 110105 19491231 002x ", now)).allowed
    bad = await park.enter("id_card", "110105194912310021", now)
    assert bad.reason == "invalid_credential" and "校验位" in bad.message
    nobody = await park.enter("id_card", "110101199003074477", now)
    assert (nobody.allowed, nobody.reason, nobody.member_id) == (False, "unknown_credential", None)
    uid = await make_card(park.member_id, "04A1B2C3")
    assert (await park.enter("card_uid", "04a1b2c3", now + dt.timedelta(minutes=31))).allowed
    from membership.members.service import block_credential

    await block_credential(uid["id"], "test", "挂失", lost=True)
    assert (await park.enter("card_uid", "04A1B2C3", now + DAY)).reason == "card_blocked"
    stranger = await park.member("王芳")
    assert (
        await park.enter(
            "phone", (await fetch_one("SELECT member_no FROM member WHERE id = {}", stranger))["member_no"], now
        )
    ).reason in (
        "unknown_credential",
        "invalid_credential",
    )


async def test_family_members_enter_on_the_holders_pass_as_many_as_the_plan_allows(park):
    pass_row = await park.sell()
    wife, son, daughter = await park.member("李娜"), await park.member("张小宝"), await park.member("张小贝")
    await passes.add_family(pass_row["id"], wife, "spouse", "test")
    await passes.add_family(pass_row["id"], son, "child", "test")
    with pytest.raises(FamilyFull):
        await passes.add_family(pass_row["id"], daughter, "child", "test")
    now = dt.datetime.now(dt.UTC)
    for member_id in (park.member_id, wife, son):  # three people, one pass, one minute
        entered = await park.enter("pass_qr", await park.code(pass_row, member_id, now), now)
        assert entered.allowed and entered.entries_today == 1, entered
    assert (await park.enter("pass_qr", await park.code(pass_row, wife, now), now)).reason == "code_used"
    son_on_pass = await park.person(pass_row, son)
    await passes.remove_family(park.program.id, pass_row["id"], son, "test")
    later = now + DAY
    kept = await e_card.code_for(park.program, park.member_id, pass_row["secret"], son_on_pass["id"], later)
    assert (await park.enter("pass_qr", kept.token, later)).reason == "not_on_pass"
    await passes.add_family(pass_row["id"], daughter, "child", "test")  # the place is free again
    assert (await park.enter("pass_qr", await park.code(pass_row, daughter, later), later)).allowed


async def test_reentry_and_the_daily_limit_are_counted_per_person_and_local_day(park):
    pass_row = await park.sell(at=dt.datetime.now(dt.UTC) - 10 * DAY)
    today = dt.datetime.now(park.program.zone).date() - DAY  # yesterday: a whole day in the past
    morning = at_local(park.program, today, 9)
    assert (await park.enter("pass_qr", await park.code(pass_row, at=morning), morning)).allowed
    soon = morning + dt.timedelta(minutes=20)
    refused = await park.enter("pass_qr", await park.code(pass_row, at=soon), soon, gate="N1")
    assert refused.reason == "reentry_too_soon" and "09:30 后可再次入园" in refused.message
    noon = at_local(park.program, today, 12)
    assert (await park.enter("pass_qr", await park.code(pass_row, at=noon), noon, gate="N1")).allowed
    evening = at_local(park.program, today, 17)
    full = await park.enter("pass_qr", await park.code(pass_row, at=evening), evening)
    assert full.reason == "daily_limit" and "每日限 2 次" in full.message and full.entries_today == 2
    next_morning = at_local(park.program, today + DAY, 8)
    assert (await park.enter("pass_qr", await park.code(pass_row, at=next_morning), next_morning)).allowed
    kept = await fetch(
        "SELECT allowed, reason, hour, day FROM tourism_entry WHERE member_id = {} ORDER BY occurred_at", park.member_id
    )
    assert [(bool(r["allowed"]), r["reason"], r["hour"]) for r in kept] == [
        (True, "", 9),
        (False, "reentry_too_soon", 9),
        (True, "", 12),
        (False, "daily_limit", 17),
        (True, "", 8),
    ]
    assert kept[0]["day"] == today.isoformat() and kept[-1]["day"] == (today + DAY).isoformat()


async def test_blackout_dates_close_the_gates_to_the_plans_they_name(park):
    year = await park.sell()
    summer_holder = await park.member("暑期游客")
    summer = await park.sell(summer_holder, "summer-pass")
    day = dt.datetime.now(park.program.zone).date() + DAY
    await pass_plans.save_blackout(park.program.id, day, {"name": "国庆节", "plans": ["summer-pass"]}, "test")
    moment = at_local(park.program, day, 10)
    assert (await park.enter("pass_qr", await park.code(year, at=moment), moment)).allowed
    closed = await park.enter("pass_qr", await park.code(summer, at=moment), moment)
    assert (closed.reason, closed.message) == ("blackout", "国庆节年卡不可入园，请购票")
    await pass_plans.save_blackout(park.program.id, day, {"name": "国庆节"}, "test")  # now every plan
    later = moment + dt.timedelta(hours=1)
    assert (await park.enter("pass_qr", await park.code(year, at=later), later)).reason == "blackout"
    assert await pass_plans.delete_blackout(park.program.id, day)
    assert (await park.enter("pass_qr", await park.code(year, at=later), later)).allowed


async def test_no_pass_a_pass_not_started_and_one_that_ended(park):
    now = dt.datetime.now(dt.UTC)
    other = await park.member("钱七")
    await issue_credential(other, "id_card", ID_NUMBER, None, "test")
    none = await park.enter("id_card", ID_NUMBER, now)
    assert (none.reason, none.message) == ("no_pass", "未办理年卡或季卡，请购票入园")
    await park.sell(other, "summer-pass", at=now - 200 * DAY)  # 92 days, ended long ago
    ended = await park.enter("id_card", ID_NUMBER, now)
    assert ended.reason == "pass_expired" and "请续卡" in ended.message
    early = await park.enter("id_card", ID_NUMBER, now - 250 * DAY)
    assert early.reason == "pass_not_started" and "生效" in early.message
    await park.sell(other, "summer-pass")  # bought again: valid from now
    assert (await park.enter("id_card", ID_NUMBER, now + dt.timedelta(minutes=1))).allowed


async def test_a_renewal_runs_on_and_a_renewed_pass_keeps_its_people(park):
    now = dt.datetime.now(dt.UTC)
    first = await park.sell(at=now - 300 * DAY)
    wife = await park.member("李娜")
    await passes.add_family(first["id"], wife, "spouse", "test")
    renewed = await park.sell()  # before the end: from the end on
    assert renewed["id"] == first["id"]
    term = await passes.term_at(park.member_id, "year-pass", now)
    assert term.state == "valid" and term.ends_at > now + 400 * DAY and term.starts_at <= now - 299 * DAY
    assert {p["member_id"] for p in await passes.people(first["id"])} == {park.member_id, wife}


async def test_a_retried_request_answers_the_same_and_counts_once(park):
    pass_row = await park.sell()
    now = dt.datetime.now(dt.UTC)
    token = await park.code(pass_row, at=now)
    first = await park.enter("pass_qr", token, now, key="gate-S1-0001")
    again = await park.enter("pass_qr", token, now + dt.timedelta(seconds=2), key="gate-S1-0001")
    assert first.allowed and again.allowed and again.replayed and again.entry_id == first.entry_id
    counted = await fetch_one("SELECT COUNT(*) AS n FROM tourism_entry WHERE member_id = {}", park.member_id)
    assert counted["n"] == 1


async def test_a_gate_that_is_unknown_or_switched_off_is_refused(park):
    with pytest.raises(GateNotFound):
        await park.enter("pass_qr", "x", gate="E9")
    await save_gate(park.program.id, "N1", {"name": "北门闸机", "store": "YQ01", "active": False}, "test")
    with pytest.raises(GateClosed):
        await park.enter("pass_qr", "x", gate="N1")
