"""``membership demo``: a merchant, three stores, members and a year of purchases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

from membership.coupons import service as coupons
from membership.db import fetch_one, use_case
from membership.demo.names import CATALOG, GIVEN_NAMES, SURNAMES
from membership.errors import InsufficientPoints, InsufficientStoredValue, Reason, ValidationError
from membership.ledger import points_rules
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.org import service as org
from membership.org.program_plugins import set_program_plugin
from membership.plugins import hooks
from membership.sales import service as sales
from membership.sales.prices import member_priced
from membership.tiers import service as tiers

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
class DemoProfile:
    """What a demo business looks like: the merchant's and program's names, its stores
    (code, name, city) and what it sells (sku, name, category, price in minor units). An industry
    pack answers ``membership_demo_profile`` with its own (a restaurant group, a scenic area).
    ``attributes``, when given, says what the till tells about each demo sale (a sale's
    ``attributes``: ``meal_period``, ``service_mode``, ``party_size``…): it is called with the
    demo's seeded random generator and the sale's UTC time. ``enrolment``, when given, says what
    the business records about each demo member beyond the demo's own profile (a bank's ID number,
    KYC and the consents it requires: what its ``membership_check_enrolment`` asks): it is called
    with the seeded generator, and its ``consents`` and ``preferences`` are added to the demo's."""

    merchant: str
    program: str
    stores: tuple[tuple[str, str, str], ...]
    catalog: tuple[tuple[str, str, str, int], ...]
    attributes: Callable[[random.Random, dt.datetime], dict[str, str]] | None = None
    enrolment: Callable[[random.Random], dict[str, Any]] | None = None


GROCERY = DemoProfile("悦享生活连锁超市", "悦享会员", STORES, tuple(CATALOG))


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


def _with_enrolment(profile: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The demo's profile with what an industry's enrolment adds (consents and preferences merged)."""
    merged = {**profile, **extra}
    for field in ("consents", "preferences"):
        if field in extra:
            merged[field] = {**profile.get(field, {}), **extra[field]}
    return merged


_MAX_REPEATS = 1_000  # repeated draws before a demo profile is taken to repeat one member forever


@use_case
async def _enrol_batch(
    program: org.ProgramConfig,
    store_ids: list[uuid.UUID],
    rng: random.Random,
    n: int,
    today: dt.date,
    enrolment: Callable[[random.Random], dict[str, Any]] | None = None,
) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    repeats = 0
    while len(ids) < n:
        profile = _profile(rng, today)
        if enrolment is not None:
            profile = _with_enrolment(profile, enrolment(rng))
        try:
            member = await members.enrol(program.id, profile, store_id=rng.choice(store_ids), actor="demo")
        except members.DuplicateMember:
            repeats += 1  # a random phone (or an industry's ID number) repeated; draw another member
            if repeats > _MAX_REPEATS:
                raise RuntimeError("the demo's enrolment keeps repeating an existing member") from None
            continue
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
    catalog: tuple[tuple[str, str, str, int], ...],
    sale_attributes: Callable[[random.Random, dt.datetime], dict[str, str]] | None = None,
) -> None:
    for when in times:
        member_id = rng.choice(member_ids)
        attributes = sale_attributes(rng, when) if sale_attributes else None
        lines = [
            LineInput(sku, rng.randint(1, 3), price, name, category)
            for sku, name, category, price in rng.sample(catalog, k=min(len(catalog), rng.randint(1, 4)))
        ]
        total = sum(line.amount for line in lines)
        payments = None
        balances = await ledger.balances(member_id)
        pays_with_stored_value = balances.stored_value >= total and rng.random() < 0.5
        store_id = rng.choice(store_ids)
        if pays_with_stored_value:  # what the member pays: a pack's member prices may lower it
            priced = await member_priced(program, await members.member_row(member_id), store_id, lines, when)
            payments = [sales.PaymentInput("stored_value", sum(line.amount for line in priced))]
        try:
            sale = await sales.record_purchase(
                program.id, store_id, member_id, lines, payments, actor="demo", now=when, attributes=attributes
            )
        except InsufficientStoredValue:  # pragma: no cover - balances were read just before
            continue
        counts["purchases"] += 1
        roll = rng.random()
        if roll < 0.04:
            plan = rng.choice(DEMO_TOP_UP_PLANS)
            await ledger.top_up(member_id, plan["pay"], rng.choice(store_ids), actor="demo", plan=plan["code"])
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
            await sales.refund(sale.id, reason="顾客退货", actor="demo", now=when)
            counts["refunds"] += 1


@use_case
async def _plugin_demo_data(program: org.ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    await hooks().demo_data(program, store_ids, rng)


DEMO_RULES = [
    {"code": "base", "kind": "base_rate", "name": "消费每元 1 积分", "params": {"points": 1, "per_amount": 100}},
    {
        "code": "wednesday",
        "kind": "member_day",
        "name": "周三会员日双倍积分",
        "params": {"weekdays": [3], "multiplier_pct": 200},
        "stacking": "best_of",
        "priority": 10,
    },
    {
        "code": "fresh",
        "kind": "category_multiplier",
        "name": "生鲜 1.5 倍积分",
        "params": {"categories": ["生鲜"], "multiplier_pct": 150},
        "stacking": "best_of",
        "priority": 5,
    },
    {
        "code": "birthday",
        "kind": "birthday",
        "name": "生日月双倍积分，送 88 积分",
        "params": {"window": "month", "multiplier_pct": 200, "gift_points": 88},
        "priority": 20,
    },
    {"code": "welcome", "kind": "sign_up", "name": "注册送 100 积分", "params": {"points": 100}},
    {"code": "daily-cap", "kind": "cap", "name": "每日最多 20000 积分", "params": {"per_day": 20_000}},
]
DEMO_TOP_UP_PLANS = [
    {"code": "500-50", "name": "充500送50", "pay": 50_000, "bonus": 5_000},
    {"code": "1000-120", "name": "充1000送120", "pay": 100_000, "bonus": 12_000},
    {"code": "2000-300", "name": "充2000送300", "pay": 200_000, "bonus": 30_000},
]
DEMO_COUPONS = [
    {
        "code": "welcome-10",
        "name": "新人券 满50减10",
        "kind": "amount_off",
        "amount_off": 1_000,
        "min_spend": 5_000,
        "valid_days": 30,
        "per_member_limit": 1,
        "issue_on": "sign_up",
    },
    {
        "code": "birthday-20",
        "name": "生日券 满100减20",
        "kind": "amount_off",
        "amount_off": 2_000,
        "min_spend": 10_000,
        "valid_days": 30,
        "issue_on": "birthday",
    },
    {
        "code": "gold-95",
        "name": "金卡礼 95折券",
        "kind": "percent_off",
        "percent_off": 5,
        "max_off": 5_000,
        "valid_days": 60,
    },
]


async def _configure_loyalty(program: org.ProgramConfig) -> None:
    """The demo program's rules, tiers, plans and coupons, as a shop would set them up."""
    for template in DEMO_COUPONS:
        await coupons.create_template(program.id, template, "demo")
    tiers_config = [
        {**{k: v for k, v in tier.items() if k != "min_growth"}, "threshold": tier["min_growth"]}
        | ({"upgrade_coupons": ["gold-95"]} if tier["code"] == "gold" else {})
        for tier in TIERS
    ]
    policy = {"metric": "growth", "window_days": 365, "period_days": 365, "grace_days": 30, "downgrade": "one_down"}
    await tiers.configure(program.id, tiers_config, policy, "demo")
    for rule in DEMO_RULES:
        await points_rules.create_rule(program.id, rule, "demo")
    await org.update_settings(
        program.id,
        {
            "top_up_plans": DEMO_TOP_UP_PLANS,
            "paid_plans": [{"code": "gold-year", "name": "金卡年卡", "tier": "gold", "fee": 19_900, "days": 365}],
            "points_policy": {"expiry": "end_of_year", "expiry_months": 12, "warn_days": 30},
        },
        "demo",
    )


def _no_pack(industry: str) -> DemoProfile:
    installed = ", ".join(sorted(hooks().plugin_metas())) or "-"
    raise ValidationError(
        field="industry",
        reason=Reason(
            f"no installed pack {industry!r} describes a demo (installed per-program plugins: {installed})",
            f"没有安装名为 “{industry}” 的行业包（已安装：{installed}）",
        ),
    )


async def create_demo(
    members_count: int = 300,
    purchases: int = 3000,
    seed: int = 20261123,
    step: Step | None = None,
    industry: str | None = None,
) -> DemoSummary:
    """Create the demo merchant, stores, program, members and a year of purchases; with
    ``industry`` (an installed pack's name), the pack's business (``membership_demo_profile``)
    with the pack switched on for the program and its own demo data added."""
    rng = random.Random(seed)
    step = step or (lambda n: None)
    profile = GROCERY
    if industry is not None:
        profile = hooks().demo_profile(industry) or _no_pack(industry)
    merchant = await org.create_merchant(profile.merchant)
    store_ids = [await org.create_store(merchant, code, name, city) for code, name, city in profile.stores]
    program = await org.create_program(
        merchant,
        profile.program,
        points_expiry_days=365,
        point_value_minor=1,
        settings={"tiers": TIERS, "min_redeem_points": 100},
    )
    await _configure_loyalty(program)
    if industry is not None:
        await set_program_plugin(program.id, industry, True, actor="demo")
        program = await org.get_program(program.id)
    today = dt.datetime.now(program.zone).date()
    member_ids: list[uuid.UUID] = []
    while len(member_ids) < members_count:
        batch = min(50, members_count - len(member_ids))
        member_ids += await _enrol_batch(program, store_ids, rng, batch, today, profile.enrolment)
        step(batch)
    now = dt.datetime.now(dt.UTC)
    times = sorted(now - dt.timedelta(seconds=rng.randint(0, 365 * 86400)) for _ in range(purchases))
    counts = {"purchases": 0, "top_ups": 0, "redemptions": 0, "refunds": 0}
    for start in range(0, purchases, 100):
        chunk = times[start : start + 100]
        await _purchase_batch(program, store_ids, member_ids, rng, chunk, counts, profile.catalog, profile.attributes)
        step(len(chunk))
    await _plugin_demo_data(program, store_ids, rng)
    return DemoSummary(program, store_ids, len(member_ids), **counts)
