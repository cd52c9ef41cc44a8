"""Tiers by assets under management on SQLite and PostgreSQL: a month's average daily balances fed
through the API (idempotent) or a CSV file (UTF-8 or GBK, Chinese headers, bad lines reported and
the rest stored), the tier decided by the kernel's tier-policy hook from the thresholds in the
settings (an average of the latest months), an upgrade applied at once after a feed and a downgrade
left for the review, the review job deciding a chunk at once, and the settings switching it off."""

from __future__ import annotations

import datetime as dt

from membership.plugin import fetch, fetch_one
from membership.testing import enable_plugin
from membership_finance import assets
from membership_finance.values import month_of, now, previous_month

WAN = 1_000_000  # 10,000 yuan in fen


async def _tier(member_id) -> str:
    return (await fetch_one("SELECT tier FROM member WHERE id = {}", member_id))["tier"]


async def test_a_feed_through_the_api_upgrades_at_once_and_is_idempotent(api, bank):
    other, other_card = await bank.holder("李娜")
    month = previous_month(month_of(bank.program, now()))
    assert await _tier(bank.member_id) == "classic"
    feed = {
        "month": month,
        "balances": [
            {
                "member_no": (await fetch_one("SELECT member_no FROM member WHERE id = {}", bank.member_id))[
                    "member_no"
                ],
                "balance": 60 * WAN,
            },
            {"card": other_card, "balance": 4 * WAN},
            {"member_no": "000000000", "balance": 1},
        ],
    }
    fed = await api.call("POST", f"/finance/programs/{bank.program.id}/balances", "admin", json=feed, lang="zh-CN")
    assert fed.status_code == 200, fed.text
    assert {k: fed.json()[k] for k in ("lines", "stored", "upgraded")} == {"lines": 3, "stored": 2, "upgraded": 1}
    assert fed.json()["refused"] == [{"line": 3, "who": "000000000", "reason": "没有该会员号或卡号的会员"}]
    assert await _tier(bank.member_id) == "platinum" and await _tier(other) == "classic"
    again = await api.call("POST", f"/finance/programs/{bank.program.id}/balances", "admin", json=feed)
    assert (again.json()["stored"], again.json()["upgraded"]) == (2, 0)
    rows = await fetch("SELECT month, balance FROM finance_balance WHERE member_id = {}", bank.member_id)
    assert [(r["month"], r["balance"]) for r in rows] == [(month, 60 * WAN)]
    changes = await fetch(
        "SELECT to_tier FROM tier_change WHERE member_id = {} AND to_tier = 'platinum'", bank.member_id
    )
    assert len(changes) == 1
    seen = await api.call("GET", f"/finance/members/{bank.member_id}/assets")
    assert seen.status_code == 200
    assert {k: seen.json()[k] for k in ("average", "tier_by_assets", "tier")} == {
        "average": 60 * WAN,
        "tier_by_assets": "platinum",
        "tier": "platinum",
    }
    assert (
        await api.call("POST", f"/finance/programs/{bank.program.id}/balances", "pos", json=feed)
    ).status_code == 403
    stranger = await api.call("POST", f"/finance/programs/{bank.program.id}/balances", "stranger", json=feed)
    assert stranger.status_code == 404
    bad = await api.call(
        "POST",
        f"/finance/programs/{bank.program.id}/balances",
        "admin",
        json={"month": month, "balances": [{"balance": 1}]},
    )
    assert bad.status_code == 422 and "member_no" in bad.json()["detail"]


async def test_the_tier_follows_the_thresholds_averaged_over_the_latest_months(bank):
    settings = {"aum_months": 3, "gold_min": 10 * WAN, "platinum_min": 100 * WAN, "diamond_min": 1000 * WAN}
    program = await enable_plugin(bank.program.id, "finance", settings)
    this = month_of(program, now())
    one, two, three = (
        previous_month(this),
        previous_month(previous_month(this)),
        previous_month(previous_month(previous_month(this))),
    )
    for month, balance in ((three, 5 * WAN), (two, 10 * WAN), (one, 15 * WAN)):
        await assets.feed_balances(program, month, [assets.FeedLine(1, str(bank.member_id), balance)], "api", "test")
    assert (await assets.averages(program, [bank.member_id]))[bank.member_id] == 10 * WAN
    assert await _tier(bank.member_id) == "gold"  # (5 + 10 + 15) / 3 = 10: the bound is inclusive
    found = await assets.tiers_for(program, [bank.member_id])
    assert found == {bank.member_id: "gold"}
    await assets.feed_balances(program, one, [assets.FeedLine(1, str(bank.member_id), 0)], "api", "test")
    assert await _tier(bank.member_id) == "gold"  # lower: waits for the review at the period's end
    assert (await assets.tiers_for(program, [bank.member_id])) == {bank.member_id: "classic"}
    future = month_of(program, now() + dt.timedelta(days=40))
    await assets.feed_balances(program, future, [assets.FeedLine(1, str(bank.member_id), 9000 * WAN)], "api", "test")
    assert (await assets.tiers_for(program, [bank.member_id])) == {bank.member_id: "classic"}  # not yet counted


async def test_the_review_job_decides_many_members_at_once_by_their_assets(bank):
    from finance_bank import TIERS

    from membership.jobs.runner import run_job
    from membership.plugin import configure_tiers

    await configure_tiers(bank.program.id, TIERS, {"period_days": 30, "downgrade": "recalculate"}, "test")
    program = await bank.refreshed()
    members = [bank.member_id] + [(await bank.holder(f"客户{i}"))[0] for i in range(3)]
    month = previous_month(month_of(program, now()))
    rich = (0, 5 * WAN, 50 * WAN, 600 * WAN)
    lines = [assets.FeedLine(i, str(m), b) for i, (m, b) in enumerate(zip(members, rich, strict=True), 1)]
    await assets.feed_balances(program, month, lines, "api", "test")
    assert [await _tier(m) for m in members] == ["classic", "gold", "platinum", "diamond"]
    poorer = (0, 0, 50 * WAN, 5 * WAN)
    lines = [assets.FeedLine(i, str(m), b) for i, (m, b) in enumerate(zip(members, poorer, strict=True), 1)]
    await assets.feed_balances(program, month, lines, "api", "test")
    assert [await _tier(m) for m in members] == ["classic", "gold", "platinum", "diamond"]  # until the review
    await run_job("review-tiers", as_of=now() + dt.timedelta(days=31))
    assert [await _tier(m) for m in members] == ["classic", "classic", "platinum", "gold"]


async def test_tiers_by_assets_off_leaves_the_tiers_to_the_kernel(bank):
    program = await enable_plugin(bank.program.id, "finance", {"tiers_by_assets": False})
    assert await assets.tiers_for(program, [bank.member_id]) is None
    await assets.feed_balances(
        program, month_of(program, now()), [assets.FeedLine(1, str(bank.member_id), 900 * WAN)], "api", "t"
    )
    assert await _tier(bank.member_id) == "classic"


def test_a_balances_file_in_gbk_with_chinese_headers():
    text = '会员号,月日均资产（元）,月份\n100001,"82,000.50",2026-11\n100002,八万,2026-11\n,5000,\n'
    lines = assets.parse_balances_file(text.encode("gbk"))
    assert [(line.line, line.who, line.balance, line.month) for line in lines] == [
        (2, "100001", 8_200_050, "2026-11"),
        (3, "100002", None, "2026-11"),
        (4, "", 500_000, ""),
    ]
    assert "以元为单位" in lines[1].problem.zh
    cards = assets.parse_balances_file("\ufeffcard,balance\n6222020000000015,100\n".encode())
    assert (cards[0].who, cards[0].balance) == ("6222020000000015", 10_000)


async def test_a_file_feed_reports_its_bad_lines_and_stores_the_rest(bank):
    other, _ = await bank.holder("王强")
    numbers = {
        r["id"]: r["member_no"]
        for r in await fetch("SELECT id, member_no FROM member WHERE program_id = {}", bank.program.id)
    }
    month = previous_month(month_of(bank.program, now()))
    text = (
        "会员号,月日均资产,月份\n"
        f"{numbers[bank.member_id]},60000,{month}\n"
        f"{numbers[other]},abc,{month}\n"
        f"{numbers[other]},700000,2001-01\n"
        "999999999,5000,\n"
    )
    result = await assets.feed_balances(
        bank.program, month, assets.parse_balances_file(text.encode()), "file", "t", "aum.csv"
    )
    assert (result.lines, result.stored, result.upgraded) == (4, 1, 1)
    assert [(line, reason.zh) for line, _, reason in result.refused] == [
        (3, "请填写以元为单位的金额，如 82000 或 82000.50"),
        (4, f"月份 2001-01 与 {month} 不符"),
        (5, "没有该会员号或卡号的会员"),
    ]
    assert await _tier(bank.member_id) == "gold"
    [recorded] = await assets.recent_feeds(bank.program.id)
    assert (recorded["filename"], recorded["stored"], recorded["refused"]) == ("aum.csv", 1, 3)
