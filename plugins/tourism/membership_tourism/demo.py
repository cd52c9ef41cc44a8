"""The demo business of ``membership serve --demo --industry tourism``: 云栖山水文旅, a scenic area
with a ticket office and its gates, a hotel, a restaurant, a shop of local crafts and an evening
show. The kernel's demo enrols the members and a year of small purchases (water, maps, badges:
what every counter of the area sells); the pack's demo data then sets up what an operator would:
an annual pass (年卡, family members allowed) and a 92-day pass (季卡) sold as paid plans, the
venues with pass holders' benefits (酒店 85 折, 餐饮 9 折并多 10% 积分, 演艺 8 折…), the gates,
and the blackout dates of the holidays. It then plays a year: passes sold and renewed, family
members added, ID cards registered, visits through the gates (by e-card code or ID card, with the
refusals a real gate sees: screenshots, re-entry too soon, blackout days, expired passes) and what
visitors spent at the venues on the day they came.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from membership.plugin import (
    DemoProfile,
    LineInput,
    ProgramConfig,
    fetch,
    issue_credential,
    record_purchase,
    set_paid_plans,
)
from membership_tourism import e_card, entries, gates, pass_plans, passes, venues
from membership_tourism.id_card import check_character

STORES = (
    ("YQ01", "云栖山 · 景区售票处", "杭州"),
    ("YQ02", "云栖山 · 山居酒店", "杭州"),
    ("YQ03", "云栖山 · 溪畔餐厅", "杭州"),
    ("YQ04", "云栖山 · 文创商店", "杭州"),
    ("YQ05", "云栖山 · 山水实景演艺", "杭州"),
)
# what every counter of the area sells (the kernel's year of small purchases)
CATALOG = (
    ("W001", "矿泉水", "饮品", 300),
    ("W002", "景区导览图", "文创", 1_000),
    ("W003", "纪念徽章", "文创", 2_500),
    ("W004", "一次性雨衣", "日用", 1_000),
    ("W005", "冰淇淋", "小食", 1_500),
    ("W006", "龙井茶饮", "饮品", 1_800),
)
VENUE_ITEMS = {
    "tickets": (("T001", "观光车票", "交通", 3_000), ("T002", "索道票", "交通", 8_000)),
    "hotel": (
        ("H001", "山景大床房", "客房", 68_800),
        ("H002", "溪景双床房", "客房", 58_800),
        ("H003", "自助早餐", "餐饮", 6_800),
    ),
    "dining": (
        ("D001", "农家土菜套餐", "套餐", 16_800),
        ("D002", "西湖醋鱼", "热菜", 8_800),
        ("D003", "龙井虾仁", "热菜", 9_800),
        ("D004", "山泉豆腐", "热菜", 3_800),
        ("D005", "明前龙井", "茶饮", 4_800),
    ),
    "retail": (
        ("R001", "云栖山明信片套装", "文创", 3_500),
        ("R002", "竹编茶盒", "手作", 12_800),
        ("R003", "真丝丝巾", "文创", 19_800),
        ("R004", "冰箱贴", "文创", 2_500),
    ),
    "shows": (("S001", "《云栖山水》实景演出票", "演出", 18_000), ("S002", "演出 VIP 座", "演出", 38_000)),
}
FORMATS = ("tickets", "hotel", "dining", "retail", "shows")  # the stores' formats, in STORES order
BENEFITS = {"hotel": (10, 15), "dining": (10, 10), "retail": (0, 5), "shows": (0, 20)}
PAID_PLANS = [
    {"code": "year-pass", "name": "云栖山年卡", "tier": "gold", "fee": 29_800, "days": 365},
    {"code": "season-pass", "name": "云栖山季卡", "tier": "silver", "fee": 12_800, "days": 92},
]
PASS_PLANS = {
    "year-pass": {"kind": "annual", "max_family": 3, "daily_entries": 2, "reentry_minutes": 30},
    "season-pass": {"kind": "seasonal", "max_family": 0, "daily_entries": 1, "reentry_minutes": 0},
}
GATES = (("S1", "南门闸机", "YQ01"), ("N1", "北门闸机", "YQ01"), ("T1", "演艺厅检票口", "YQ05"))
HOLIDAYS = (((10, 1), (10, 2), (10, 3)), "国庆节"), (((5, 1), (5, 2)), "劳动节")
DAY = dt.timedelta(days=1)

PROFILE = DemoProfile("云栖山水文旅集团", "云栖山水会员", STORES, CATALOG)


def id_number(rng: random.Random) -> str:
    """A well-formed resident ID number (杭州西湖区, a birth date, a sequence, its check character)."""
    born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 16_000))
    first = f"330106{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first + check_character(first)


async def _set_up(program: ProgramConfig, store_ids: list[uuid.UUID], today: dt.date) -> None:
    await set_paid_plans(program.id, PAID_PLANS, "demo")
    for code, terms in PASS_PLANS.items():
        await pass_plans.save_plan(program.id, code, terms, "demo")
    for store_id, form in zip(store_ids, FORMATS, strict=True):
        points, discount = BENEFITS.get(form, (0, 0))
        await venues.save_venue(
            program.id, store_id, {"format": form, "pass_points_pct": points, "pass_discount_pct": discount}, "demo"
        )
    for code, name, store in GATES:
        await gates.save_gate(program.id, code, {"name": name, "store": store}, "demo")
    for year in (today.year - 1, today.year, today.year + 1):
        for days, name in HOLIDAYS:
            for month, day in days:
                when = dt.date(year, month, day)
                if today - 400 * DAY <= when <= today + 365 * DAY:
                    await pass_plans.save_blackout(program.id, when, {"name": name}, "demo")


def _visit_moment(rng: random.Random, program: ProgramConfig, first: dt.datetime, last: dt.datetime) -> dt.datetime:
    """A moment between ``first`` and ``last`` at an hour visitors come (most in the morning)."""
    day = first.astimezone(program.zone).date() + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))
    hour = rng.choices(range(8, 18), weights=(6, 14, 16, 12, 8, 7, 8, 7, 5, 3))[0]
    local = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=program.zone)
    return local.astimezone(dt.UTC)


async def _sell(
    program: ProgramConfig, rng: random.Random, holders: list[uuid.UUID], office: uuid.UUID, now: dt.datetime
) -> list[tuple[dict[str, Any], str]]:
    """Passes sold over the year, some renewed; returns each pass with its plan code."""
    sold = []
    for index, holder in enumerate(holders):
        code = "year-pass" if index % 3 else "season-pass"
        days = 365 if code == "year-pass" else 92
        bought = now - dt.timedelta(days=rng.randint(5, 380), hours=rng.randint(0, 8))
        method = rng.choice(("wechat_pay", "alipay", "card", "cash"))
        row, first = await passes.sell_pass(holder, code, method, office, actor="demo", at=bought)
        end = first.ends_at
        if end < now + 20 * DAY and rng.random() < (0.6 if code == "year-pass" else 0.3):
            again = end + dt.timedelta(days=rng.randint(-20, 25), hours=rng.randint(0, 8))
            if again < now and again > bought + DAY * (days // 2):
                await passes.sell_pass(holder, code, method, office, actor="demo", at=again)
        sold.append((row, code))
    return sold


async def add_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The pack's set-up and a year of passes, entries and venue purchases (inside the kernel's
    demo use case)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.astimezone(program.zone).date()
    await _set_up(program, store_ids, today)
    venue_of = dict(zip(FORMATS, store_ids, strict=True))
    members = [
        row["id"] for row in await fetch("SELECT id FROM member WHERE program_id = {} ORDER BY member_no", program.id)
    ]
    rng.shuffle(members)
    holders, others = members[: max(3, len(members) // 4)], members[max(3, len(members) // 4) :]
    sold = await _sell(program, rng, holders, venue_of["tickets"], now)

    ids: dict[uuid.UUID, str] = {}
    for row, code in sold:
        if rng.random() < 0.5:
            ids[row["holder_id"]] = number = id_number(rng)
            await issue_credential(row["holder_id"], "id_card", number, venue_of["tickets"], "demo")
        if code == "year-pass" and others and rng.random() < 0.5:
            for relation in rng.sample(("spouse", "child", "child", "parent"), k=rng.randint(1, 3)):
                if not others:
                    break
                await passes.add_family(row["id"], others.pop(), relation, "demo")

    tries = []
    for row, code in sold:
        for person in await passes.people(row["id"]):
            held = await passes.span(row["holder_id"], code)
            if held is None:
                continue
            first, last = held[0], min(held[1], now)
            for _ in range(rng.randint(1, 10 if code == "year-pass" else 4)):
                tries.append((_visit_moment(rng, program, first, last), row, person))
            if held[1] < now and rng.random() < 0.3:  # comes back after the pass ended
                tries.append((_visit_moment(rng, program, last, now), row, person))
    tries.sort(key=lambda item: item[0])
    for at, row, person in tries:
        if at > now:
            continue
        gate = rng.choices(("S1", "N1", "T1"), weights=(60, 35, 5))[0]
        shown_at = at - dt.timedelta(minutes=10) if rng.random() < 0.03 else at  # a screenshot now and then
        if person["member_id"] in ids and rng.random() < 0.4:
            kind, value = "id_card", ids[person["member_id"]]
        else:
            code = await e_card.code_for(program, row["holder_id"], row["secret"], person["id"], shown_at)
            kind, value = e_card.KIND_NAME, code.token
        decision = await entries.admit(program, gate, kind, value, at)
        if decision.allowed and rng.random() < 0.15:  # the same card again soon after: someone else
            again = at + dt.timedelta(minutes=rng.randint(2, 20))
            if again < now:
                await entries.admit(
                    program,
                    rng.choice(("S1", "N1")),
                    kind,
                    value
                    if kind == "id_card"
                    else (await e_card.code_for(program, row["holder_id"], row["secret"], person["id"], again)).token,
                    again,
                )
        if decision.allowed:
            await _spend(program, rng, venue_of, person["member_id"], at, now)


async def _spend(
    program: ProgramConfig,
    rng: random.Random,
    venue_of: dict[str, uuid.UUID],
    member_id: uuid.UUID,
    entered: dt.datetime,
    now: dt.datetime,
) -> None:
    """What a visitor buys at the venues on the day they came (二次消费), some of the time."""
    end_of_day = dt.datetime.combine(entered.astimezone(program.zone).date() + DAY, dt.time(), tzinfo=program.zone)
    if rng.random() < 0.35:
        ride = rng.choice(VENUE_ITEMS["tickets"])
        await _buy(program, venue_of["tickets"], member_id, [ride], entered + dt.timedelta(minutes=20), now, rng)
    if rng.random() < 0.55:
        form = rng.choices(("dining", "retail", "shows", "hotel"), weights=(45, 30, 15, 10))[0]
        items = rng.sample(VENUE_ITEMS[form], k=min(len(VENUE_ITEMS[form]), rng.randint(1, 3)))
        when = entered + dt.timedelta(hours=rng.uniform(1, 6))
        if when < end_of_day.astimezone(dt.UTC):
            await _buy(program, venue_of[form], member_id, items, when, now, rng)


async def _buy(
    program: ProgramConfig,
    store_id: uuid.UUID,
    member_id: uuid.UUID,
    items: list[tuple[str, str, str, int]],
    when: dt.datetime,
    now: dt.datetime,
    rng: random.Random,
) -> None:
    if when >= now:
        return
    lines = [LineInput(sku, rng.randint(1, 2), price, name, category) for sku, name, category, price in items]
    await record_purchase(program.id, store_id, member_id, lines, actor="demo", now=when)
