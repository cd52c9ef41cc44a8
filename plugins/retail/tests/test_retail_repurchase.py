"""复购提醒: the job computes each member's cycle per category set-based (distinct days, refunded
lines left out, the category from the catalogue) and emits ``retail.repurchase_due`` once per
cycle, a few days before it is due, for a channel to send; the API shows a member's cycles."""

from __future__ import annotations

import datetime as dt

from membership.plugin import Event, LineInput, hookimpl
from membership.sales import service as sales
from membership.testing import Clock, deliver_events, enable_plugin, make_member
from membership_retail import catalogue, repurchase
from membership_retail.catalogue import Product

START = dt.datetime(2026, 9, 1, 4, 0, tzinfo=dt.UTC)  # noon in Shanghai
MILK = LineInput("6901", 1, 6_590, "伊利纯牛奶")  # its category comes from the catalogue
RICE = LineInput("7001", 1, 3_990, "大米", "粮油")


class Outbox:
    """A channel's listener: what it would send."""

    def __init__(self) -> None:
        self.heard: list[Event] = []

    @hookimpl
    def membership_event(self, event: Event) -> None:
        if event.name == repurchase.EVENT and event.id not in {e.id for e in self.heard}:
            self.heard.append(event)


async def _buy(retail, member, lines, when):
    await sales.record_purchase(retail.program.id, retail.shop.store_id, member, lines, now=when)


async def test_a_weekly_milk_buyer_is_reminded_once_two_days_before(retail, register_plugin):
    outbox = Outbox()
    register_plugin(outbox, name="sms-channel")
    await catalogue.import_products(retail.program.id, [Product("6901", "伊利纯牛奶", "乳品", "伊利")])
    member = retail.shop.member_id
    clock = Clock(START)
    for _ in range(3):
        await _buy(retail, member, [MILK, RICE], clock.now)
        await _buy(retail, member, [MILK], clock.now + dt.timedelta(hours=1))  # the same day counts once
        clock.advance(days=7)
    await _buy(retail, member, [RICE], START + dt.timedelta(days=3))  # rice: days 0, 3, 7, 14 → 5 days
    occasional = await make_member(retail.program.id, "李娜")
    await _buy(retail, occasional, [MILK], START)
    await _buy(retail, occasional, [MILK], START + dt.timedelta(days=10))  # twice only: no cycle

    clock.set(START + dt.timedelta(days=16))  # rice due on day 19, milk on day 21: not yet
    outcome = await clock.run_job("retail-repurchase")
    assert outcome.result.summary == "2 purchase cycles, 0 reminders"
    cycles = {c.category: c for c in await repurchase.member_cycles(member)}
    assert (cycles["乳品"].cycle_days, cycles["乳品"].purchases) == (7, 3)
    assert cycles["乳品"].due_on == dt.date(2026, 9, 22)
    assert (cycles["粮油"].cycle_days, cycles["粮油"].due_on) == (5, dt.date(2026, 9, 20))
    assert await repurchase.member_cycles(occasional) == []

    clock.set(START + dt.timedelta(days=19))  # rice due tomorrow, milk in 2 days
    assert (await clock.run_job("retail-repurchase")).result.processed == 2
    clock.advance(days=1)
    assert (await clock.run_job("retail-repurchase")).result.processed == 0  # once per cycle
    await deliver_events()
    assert sorted((e.member_id, e.data["category"], e.data["due_on"]) for e in outbox.heard) == [
        (member, "乳品", "2026-09-22"),
        (member, "粮油", "2026-09-20"),
    ]
    milk = next(e for e in outbox.heard if e.data["category"] == "乳品")
    assert milk.data["text"] == "您大约每 7 天购买一次乳品，上次是 9 月 15 日，该补货啦！"
    assert milk.data["cycle_days"] == 7 and milk.data["last_bought_on"] == "2026-09-15"


async def test_refunded_lines_do_not_count_and_reminders_can_be_off(retail):
    program = await enable_plugin(retail.program.id, "retail", {"reminders": False, "cycle_min_purchases": 2})
    member = retail.shop.member_id
    sale = await sales.record_purchase(program.id, retail.shop.store_id, member, [RICE], now=START)
    await _buy(retail, member, [RICE], START + dt.timedelta(days=4))
    await _buy(retail, member, [RICE], START + dt.timedelta(days=10))
    await sales.refund(sale.id, now=START + dt.timedelta(days=10))
    clock = Clock(START + dt.timedelta(days=15))
    assert (await clock.run_job("retail-repurchase")).result.summary == "1 purchase cycles, 0 reminders"
    assert [(c.cycle_days, c.purchases) for c in await repurchase.member_cycles(member)] == [(6, 2)]


async def test_a_members_cycles_through_the_api(retail, retail_api):
    for day in (0, 10, 20):
        await _buy(retail, retail.shop.member_id, [RICE], START + dt.timedelta(days=day))
    await Clock(START + dt.timedelta(days=21)).run_job("retail-repurchase")
    reader = await retail_api("read")
    answer = await reader.get(f"/retail/members/{retail.shop.member_id}/cycles")
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {"category": "粮油", "purchases": 3, "cycle_days": 10, "last_bought_on": "2026-09-21", "due_on": "2026-10-01"}
    ]
