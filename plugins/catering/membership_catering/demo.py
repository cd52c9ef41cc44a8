"""The demo business of ``membership serve --demo --industry catering``: 悦食餐饮集团, a restaurant
group with a coffee bar in every store (湘菜, 点心, 咖啡), whose tills send each sale's service mode
and party size. The pack's demo data then adds what a manager would have set up: a free-latte
coupon template and a coffee stamp card (买 10 杯送 1 杯), dining rules, tastes and allergies of a
share of the members, and it settles the year of sales (meals, stamps, rewards) at once."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

from membership.plugin import DemoProfile, ProgramConfig, create_coupon_template, fetch
from membership_catering import dining_rules, preferences, stamps
from membership_catering.sale_events import settle

ZONE = ZoneInfo("Asia/Shanghai")
STORES = (
    ("SH01", "悦食 · 南京西路店", "上海"),
    ("SH02", "悦食 · 徐家汇店", "上海"),
    ("HZ01", "悦食 · 西湖店", "杭州"),
    ("CS01", "悦食 · 五一广场店", "长沙"),
)
CATALOG = (
    ("C001", "美式咖啡", "咖啡", 2_200),
    ("C002", "拿铁", "咖啡", 2_800),
    ("C003", "燕麦拿铁", "咖啡", 3_200),
    ("C004", "手冲咖啡", "咖啡", 3_800),
    ("T001", "港式柠檬茶", "饮品", 1_800),
    ("T002", "酸梅汤", "饮品", 800),
    ("P001", "虾饺皇", "点心", 3_200),
    ("P002", "叉烧包", "点心", 1_800),
    ("D001", "剁椒鱼头", "热菜", 8_800),
    ("D002", "小炒黄牛肉", "热菜", 6_800),
    ("D003", "农家一碗香", "热菜", 4_200),
    ("D004", "口味虾", "热菜", 12_800),
    ("D005", "清炒时蔬", "素菜", 2_200),
    ("D006", "凉拌黄瓜", "凉菜", 1_200),
    ("D007", "米饭", "主食", 200),
)
REWARD = {
    "code": "free-latte",
    "name": "集点奖励：免费拿铁一杯",
    "kind": "free_item",
    "free_sku": "C002",
    "valid_days": 30,
}
COFFEE_CARD = {
    "name": "咖啡集点卡：买 10 杯送 1 杯",
    "categories": ["咖啡"],
    "stamps_per_item": 1,
    "stamps_needed": 10,
    "reward_template": "free-latte",
    "valid_days": 180,
}
RULES = {
    "dinner-dine-in": {
        "name": "晚市堂食双倍积分",
        "meal_periods": ["dinner"],
        "service_modes": ["dine_in"],
        "multiplier_pct": 200,
    },
    "big-table": {
        "name": "6 人以上聚餐加送 100 积分",
        "service_modes": ["dine_in"],
        "min_party_size": 6,
        "bonus_points": 100,
    },
    "per-head-150": {"name": "人均满 150 元加送 50 积分", "min_per_head": 15_000, "bonus_points": 50},
    "breakfast-takeaway": {
        "name": "早餐外带加送 10 积分",
        "meal_periods": ["breakfast"],
        "service_modes": ["takeaway"],
        "bonus_points": 10,
    },
}


def sale_attributes(rng: random.Random, when: dt.datetime) -> dict[str, str]:
    """What a restaurant's till says about a sale: how it was served and for how many; the meal
    period is left to the pack (from the local time), as most tills do."""
    hour = when.astimezone(ZONE).hour
    main_meal = 11 <= hour < 14 or 17 <= hour < 21
    roll = rng.random()
    if roll < 0.12:
        mode = "delivery"
    elif roll < (0.25 if main_meal else 0.6):
        mode = "takeaway"
    else:
        mode = "dine_in"
    if mode == "dine_in" and main_meal:
        party = rng.choices((1, 2, 3, 4, 5, 6, 8, 10), weights=(8, 30, 18, 20, 8, 8, 5, 3))[0]
    else:
        party = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
    return {"service_mode": mode, "party_size": str(party)}


PROFILE = DemoProfile("悦食餐饮集团", "悦食会员", STORES, CATALOG, sale_attributes)


async def add_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The pack's set-up and the year of sales settled (inside the kernel's demo use case)."""
    await create_coupon_template(program.id, REWARD, "demo")
    year_ago = (dt.datetime.now(program.zone) - dt.timedelta(days=400)).date().isoformat()
    await stamps.save_scheme(program.id, "coffee", {**COFFEE_CARD, "starts_on": year_ago}, "demo")
    for code, rule in RULES.items():
        await dining_rules.save_rule(program.id, code, rule, "demo")
    sales = await fetch("SELECT id FROM sale WHERE program_id = {} ORDER BY occurred_at, id", program.id)
    for sale in sales:
        await settle(sale["id"])
    diners = await fetch("SELECT DISTINCT member_id FROM catering_visit WHERE program_id = {}", program.id)
    members = sorted(str(row["member_id"]) for row in diners)
    for member_id in rng.sample(members, k=len(members) * 3 // 10):
        data = {
            "tastes": rng.sample(preferences.TASTES, k=rng.randint(1, 3)),
            "allergies": rng.sample(preferences.ALLERGENS, k=1) if rng.random() < 0.3 else [],
            "note": rng.choice(("", "", "喜欢靠窗的位置", "常带小朋友，需要儿童椅", "生日在冬天")),
        }
        await preferences.save_preferences(program.id, uuid.UUID(member_id), data, "demo")
