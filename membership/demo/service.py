"""``membership demo``: a merchant, three stores, members and a year of purchases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Callable

from membership.db import fetch_one, use_case
from membership.demo.names import CATALOG, GIVEN_NAMES, SURNAMES
from membership.errors import InsufficientPoints, InsufficientStoredValue
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org import service as org
from membership.plugins import hooks
from membership.sales import service as sales

STORES = (
    ("SH01", "悦享生活 · 上海旗舰店", "上海"),
    ("SH02", "悦享生活 · 南京西路店", "上海"),
    ("HZ01", "悦享生活 · 杭州西湖店", "杭州"),
)
TIERS = [
    {"code": "regular", "name": "普通会员", "min_growth": 0},
    {"code": "silver", "name": "银卡会员", "min_growth": 1_000, "points_multiplier_pct": 120, "discount_pct": 2},
    {"code": "gold", "name": "金卡会员", "min_growth": 5_000, "points_multiplier_pct": 150, "discount_pct": 5},
    {"code": "diamond", "name": "钻石会员", "min_growth": 20_000, "points_multiplier_pct": 200, "discount_pct": 8},
]
MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "177",
    "199",
)

Step = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    """What ``membership demo`` created."""

    program: org.ProgramConfig
    store_ids: list[uuid.UUID]
    members: int
    purchases: int
    top_ups: int
    redemptions: int
    refunds: int


async def existing_demo() -> org.ProgramConfig | None:
    """The program of an earlier demo run, if the database has one."""
    row = await fetch_one("SELECT id FROM program ORDER BY created_at LIMIT 1")
    return await org.get_program(row["id"]) if row else None


def _profile(rng: random.Random, today: dt.date) -> dict:
    gender = rng.choice(("male", "female", "female", "unknown"))
    born = today - dt.timedelta(days=rng.randint(18 * 365, 70 * 365))
    profile = {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
        "gender": gender,
        "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        "birthday": born,
        "birthday_calendar": "lunar" if rng.random() < 0.25 else "solar",
        "source_channel": rng.choice(("store", "store", "wechat", "mini_program", "app")),
        "consents": {"sms": rng.random() < 0.7, "email": rng.random() < 0.3},
        "tags": rng.sample(["母婴", "生鲜", "酒水", "夜猫子", "周末客", "高频"], k=rng.randint(0, 2)),
    }
    if rng.random() < 0.3:
        profile["email"] = f"member{rng.randrange(10**6)}@example.cn"
    return profile


@use_case
async def _enrol_batch(
    program: org.ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random, n: int, today: dt.date
) -> list[uuid.UUID]:
    ids = []
    while len(ids) < n:
        try:
            member = await members.enrol(program.id, _profile(rng, today), store_id=rng.choice(store_ids), actor="demo")
        except members.DuplicateMember:
            continue  # a random phone repeated; draw another member
        ids.append(member.id)
        if rng.random() < 0.6:
            await members.issue_credential(member.id, "card_uid", f"{rng.randrange(16**8):08X}", actor="demo")
    return ids


@use_case
async def _purchase_batch(
    program: org.ProgramConfig,
    store_ids: list[uuid.UUID],
    member_ids: list[uuid.UUID],
    rng: random.Random,
    times: list[dt.datetime],
    counts: dict[str, int],
) -> None:
    for when in times:
        member_id = rng.choice(member_ids)
        lines = [
            LineInput(sku, rng.randint(1, 3), price, name, category)
            for sku, name, category, price in rng.sample(CATALOG, k=rng.randint(1, 4))
        ]
        total = sum(line.amount for line in lines)
        payments = None
        balances = await ledger.balances(member_id)
        if balances.stored_value >= total and rng.random() < 0.5:
            payments = [sales.PaymentInput("stored_value", total)]
        try:
            sale = await sales.record_purchase(
                program.id, rng.choice(store_ids), member_id, lines, payments, occurred_at=when, actor="demo"
            )
        except InsufficientStoredValue:  # pragma: no cover - balances were read just before
            continue
        counts["purchases"] += 1
        roll = rng.random()
        if roll < 0.04:
            await ledger.top_up(member_id, rng.choice((50_000, 100_000, 200_000)), rng.choice(store_ids), actor="demo")
            counts["top_ups"] += 1
        elif roll < 0.08:
            try:
                await ledger.redeem_points(
                    member_id, rng.choice((100, 200, 500)), rng.choice(store_ids), "积分兑换礼品", actor="demo"
                )
                counts["redemptions"] += 1
            except InsufficientPoints:
                pass
        elif roll < 0.09:
            await sales.refund(sale.id, reason="顾客退货", actor="demo")
            counts["refunds"] += 1


@use_case
async def _plugin_demo_data(program: org.ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    await hooks().demo_data(program, store_ids, rng)


async def create_demo(
    members_count: int = 300, purchases: int = 3000, seed: int = 20261123, step: Step | None = None
) -> DemoSummary:
    """Create the demo merchant, stores, program, members and a year of purchases."""
    rng = random.Random(seed)
    step = step or (lambda n: None)
    merchant = await org.create_merchant("悦享生活连锁超市")
    store_ids = [await org.create_store(merchant, code, name, city) for code, name, city in STORES]
    program = await org.create_program(
        merchant,
        "悦享会员",
        points_expiry_days=365,
        point_value_minor=1,
        settings={"tiers": TIERS, "min_redeem_points": 100},
    )
    today = dt.datetime.now(program.zone).date()
    member_ids: list[uuid.UUID] = []
    while len(member_ids) < members_count:
        batch = min(50, members_count - len(member_ids))
        member_ids += await _enrol_batch(program, store_ids, rng, batch, today)
        step(batch)
    now = dt.datetime.now(dt.UTC)
    times = sorted(now - dt.timedelta(seconds=rng.randint(0, 365 * 86400)) for _ in range(purchases))
    counts = {"purchases": 0, "top_ups": 0, "redemptions": 0, "refunds": 0}
    for start in range(0, purchases, 100):
        chunk = times[start : start + 100]
        await _purchase_batch(program, store_ids, member_ids, rng, chunk, counts)
        step(len(chunk))
    await _plugin_demo_data(program, store_ids, rng)
    return DemoSummary(program, store_ids, len(member_ids), **counts)
