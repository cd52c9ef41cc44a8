"""The CRM's reports on SQLite and PostgreSQL, checked against figures worked out by hand on a
small data set: segment sizes over time from the daily snapshots (a second snapshot the same day
keeps the later count), and campaign conversion per campaign against its control group
(purchases inside the window count once per member, refunded sales and later ones do not)."""

from __future__ import annotations

import datetime as dt

from membership.crm import campaigns, segments
from membership.crm.campaigns import CampaignTerms, When, in_control
from membership.crm.reports import rate, record_program_sizes
from membership.db import fetch, is_sqlite
from membership.jobs.runner import run_job
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.notifications import config as channel_config
from membership.notifications import templates as message_templates
from membership.plugins import hooks
from membership.sales import service as sales
from tests.helpers import make_shop

FEMALE = {"match": "all", "conditions": [{"field": "gender", "op": "in", "value": ["female"]}]}


async def _run(name, program, **params):
    return (await hooks().reports()[name]().run(program.id, params)).rows


async def test_segment_sizes_follow_the_daily_snapshots(any_db):
    shop = await make_shop()
    program = shop.program
    women = [
        await members.enrol(program.id, {"name": f"女{n}", "phone": f"1390000050{n}", "gender": "female"})
        for n in range(3)
    ]
    await segments.create_segment(program.id, "women", "女性会员", "rules", FEMALE, "test")
    await segments.create_segment(program.id, "vip", "VIP 名单", "static", {}, "test")
    await segments.upload_members(program.id, "vip", [women[0].member_no], False, "test")

    day_one = dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC)  # 1 December, 02:00 in Shanghai
    assert await record_program_sizes(program, day_one) == 2
    await segments.upload_members(program.id, "vip", [women[1].member_no, women[2].member_no], False, "test")
    await record_program_sizes(program, day_one + dt.timedelta(hours=1))  # the same day: the later count
    await members.enrol(program.id, {"name": "女3", "phone": "13900000503", "gender": "female"})
    await record_program_sizes(program, day_one + dt.timedelta(days=1))

    rows = await _run("segment_sizes", program, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31))
    assert rows == [
        [dt.date(2026, 12, 1), "VIP 名单", 3],
        [dt.date(2026, 12, 1), "女性会员", 3],
        [dt.date(2026, 12, 2), "VIP 名单", 3],
        [dt.date(2026, 12, 2), "女性会员", 4],
    ]
    assert await _run("segment_sizes", program, start=dt.date(2026, 12, 2), end=dt.date(2026, 12, 2)) == rows[2:]
    run = await run_job("record-segment-sizes", as_of=day_one + dt.timedelta(days=2))
    assert run.result is not None and run.result.processed == 2
    assert len(await fetch("SELECT * FROM segment_size WHERE day = {}", _day(dt.date(2026, 12, 3)))) == 2


def _day(value: dt.date):
    return value.isoformat() if is_sqlite() else value


async def test_campaign_conversion_matches_a_hand_count_against_the_control_group(any_db):
    shop = await make_shop()
    program = shop.program
    people = [shop.member_id] + [
        (await members.enrol(program.id, {"name": f"会员{n}", "phone": f"1390000060{n}"})).id for n in range(9)
    ]
    served_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    await channel_config.configure_channel(program.id, "inbox", {}, True, "test")
    thanks = message_templates.TemplateTerms(name="感谢", purpose="service", body_zh="{{ member.name }}，谢谢惠顾")
    await message_templates.save_template(program.id, "thanks", thanks, "test", new=True)
    when = When(kind="once", at=served_at)
    terms = CampaignTerms(name="秋季回馈", when=when, template="thanks", channels=["inbox"], points=10, control_pct=50)
    await campaigns.save_campaign(program.id, "autumn", terms, "test", new=True)
    row = await campaigns.campaign_row(program.id, "autumn")
    assert await campaigns.run_campaign(program, row, served_at + dt.timedelta(minutes=1)) != (0, 0)
    await run_job("deliver-messages")
    control = {m for m in people if in_control(row["id"], m, 50)}
    assert control and control != set(people)  # both groups have members

    # Purchases: members 0-3 buy inside the 14-day window (member 1 twice), member 4 buys, then
    # refunds; member 5 bought before being served; nobody else buys.
    inside = served_at + dt.timedelta(days=1)
    bought = {0: [12_000], 1: [5_000, 3_000], 2: [8_800], 3: [1_000]}
    for n, amounts in bought.items():
        for amount in amounts:
            await sales.record_purchase(
                program.id, shop.store_id, people[n], [LineInput("A", 1, amount)], occurred_at=inside
            )
    refunded = await sales.record_purchase(
        program.id, shop.store_id, people[4], [LineInput("A", 1, 9_900)], occurred_at=inside
    )
    await sales.refund(refunded.id)
    await sales.record_purchase(
        program.id, shop.store_id, people[5], [LineInput("A", 1, 7_700)], occurred_at=served_at - dt.timedelta(hours=12)
    )

    def group(members_of):
        chosen = [n for n, m in enumerate(people) if m in members_of]
        converted = [n for n in chosen if n in bought]
        return len(chosen), len(converted), sum(sum(bought[n]) for n in converted)

    target = group(set(people) - control)
    held = group(control)
    expected = [
        "秋季回馈",
        len(people),
        target[0],  # one message to each member of the target group, delivered
        target[0],
        target[1],
        rate(target[1], target[0]),
        target[2],
        held[0],
        held[1],
        rate(held[1], held[0]),
        held[2],
    ]
    assert await _run("campaign_conversion", program, months=1) == [expected]
    assert rate(1, 3) == 33.3 and rate(2, 3) == 66.7 and rate(0, 0) is None
    assert await _run("campaign_conversion", program, start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31)) == []
