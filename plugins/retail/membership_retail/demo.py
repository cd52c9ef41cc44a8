"""The retail demo (``membership serve --demo --industry retail``): a supermarket chain with three
stores, its catalogue with brands, member prices per tier, points rules, half a year of member
purchases that go together (beer with snacks, formula with nappies), receipts without a member
waiting to be claimed, and the purchase cycles computed."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from membership.plugin import DemoProfile, LineInput, ProgramConfig, fetch, record_purchase
from membership_retail import catalogue, earning, member_prices, receipts, repurchase

STORES = (
    ("SH01", "鲜丰汇超市 · 上海静安店", "上海"),
    ("SH02", "鲜丰汇超市 · 上海徐汇店", "上海"),
    ("SZ01", "鲜丰汇超市 · 苏州园区店", "苏州"),
)

# sku, name, category, brand, price (fen)
PRODUCTS = (
    ("6907992500010", "伊利纯牛奶 250ml×24", "乳品", "伊利", 6_590),
    ("6907992512570", "伊利安慕希酸奶 205g×12", "乳品", "伊利", 6_990),
    ("6923644272159", "蒙牛特仑苏 250ml×12", "乳品", "蒙牛", 6_500),
    ("6948195800286", "金龙鱼大米 5kg", "粮油", "金龙鱼", 3_990),
    ("6948195860013", "金龙鱼花生油 5L", "粮油", "金龙鱼", 12_990),
    ("6902083881085", "福临门玉米油 4L", "粮油", "福临门", 8_990),
    ("6970149380012", "三只松鼠每日坚果 750g", "零食", "三只松鼠", 12_900),
    ("6935041520014", "良品铺子猪肉脯 200g", "零食", "良品铺子", 3_590),
    ("6924743915763", "乐事薯片 135g", "零食", "乐事", 990),
    ("6921168509256", "农夫山泉 550ml×24", "饮料", "农夫山泉", 3_600),
    ("6928804011173", "可口可乐 330ml×24", "饮料", "可口可乐", 5_280),
    ("6901035603386", "青岛啤酒经典 500ml×12", "酒水", "青岛啤酒", 6_900),
    ("6901035621366", "雪花勇闯天涯 500ml×12", "酒水", "雪花", 5_200),
    ("6901382000016", "五粮液 52度 500ml", "酒水", "五粮液", 109_900),
    ("6920174736733", "蓝月亮洗衣液 3kg", "日化", "蓝月亮", 5_990),
    ("6902088703351", "立白洗洁精 1.5kg", "日化", "立白", 1_990),
    ("6903148126677", "维达抽纸 3层×24包", "日化", "维达", 4_990),
    ("6926658810012", "飞鹤星飞帆奶粉 3段 700g", "母婴", "飞鹤", 26_800),
    ("4902430830371", "帮宝适纸尿裤 L 54片", "母婴", "帮宝适", 13_900),
    ("6903148091104", "好奇湿巾 80抽×5", "母婴", "好奇", 4_590),
    ("2000000000011", "红富士苹果 1kg", "生鲜", "", 1_590),
    ("2000000000028", "海南香蕉 1kg", "生鲜", "", 890),
    ("2000000000035", "鲜鸡蛋 30枚", "生鲜", "", 2_490),
    ("2000000000042", "冷鲜猪肉 500g", "生鲜", "", 2_990),
)

PROFILE = DemoProfile(
    "鲜丰汇连锁超市",
    "鲜丰汇会员",
    STORES,
    tuple((sku, name, category, price) for sku, name, category, _, price in PRODUCTS),
)

# what goes in one basket: a first item's category, then the ones members often add
TOGETHER = {
    "酒水": ("零食", "饮料"),
    "母婴": ("母婴", "乳品"),
    "乳品": ("生鲜",),
    "粮油": ("生鲜", "日化"),
}

MEMBER_PRICES = (
    ("sku", "6907992500010", "", 5_990, None),  # 伊利纯牛奶: 会员价 59.90
    ("sku", "6921168509256", "", 3_200, None),  # 农夫山泉整箱: 会员价 32.00
    ("sku", "6926658810012", "", None, 90),  # 飞鹤奶粉: 会员九折
    ("category", "生鲜", "gold", None, 95),  # 金卡会员生鲜九五折
    ("category", "生鲜", "diamond", None, 90),  # 钻石会员生鲜九折
    ("category", "日化", "diamond", None, 92),
)

RULES = (
    {"name": "伊利品牌每元加送 1 积分", "points_per_yuan": 1, "brands": ["伊利"]},
    {"name": "母婴品类每元加送 2 积分", "points_per_yuan": 2, "categories": ["母婴"], "exclude_brands": ["好奇"]},
    {
        "name": "啤酒节：酒水每元加送 1 积分",
        "points_per_yuan": 1,
        "categories": ["酒水"],
        "exclude_skus": ["6901382000016"],
    },
)


def _basket(rng: random.Random) -> list[LineInput]:
    """A basket that looks like a supermarket's: one product, often with what goes with it."""
    first = rng.choice(PRODUCTS)
    chosen = {first[0]: first}
    for category in TOGETHER.get(first[2], ()):
        if rng.random() < 0.6:
            pick = rng.choice([p for p in PRODUCTS if p[2] == category])
            chosen[pick[0]] = pick
    if rng.random() < 0.3:
        extra = rng.choice(PRODUCTS)
        chosen[extra[0]] = extra
    # the till sends the SKU, name and price only: the catalogue knows the category and brand
    return [LineInput(sku, rng.randint(1, 2), price, name) for sku, name, _, _, price in chosen.values()]


async def add_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The retail pack's demo data (``membership_demo_data``), in the demo's transaction."""
    await catalogue.import_products(
        program.id, [catalogue.Product(sku, name, category, brand) for sku, name, category, brand, _ in PRODUCTS]
    )
    for scope, target, tier, price, percent in MEMBER_PRICES:
        await member_prices.set_member_price(program, scope, target, tier, price, percent, "demo")
    for rule in RULES:
        await earning.create_rule(program.id, rule)
    members = [row["id"] for row in await fetch("SELECT id FROM member WHERE program_id = {}", program.id)]
    now = dt.datetime.now(dt.UTC)
    # regulars: a few members who come back for the same things, so their cycles show
    regulars = rng.sample(members, k=min(40, len(members)))
    times = sorted(now - dt.timedelta(seconds=rng.randint(3600, 180 * 86400)) for _ in range(600))
    for when in times:
        member_id = rng.choice(regulars) if rng.random() < 0.5 else rng.choice(members)
        await record_purchase(program.id, rng.choice(store_ids), member_id, _basket(rng), actor="demo", now=when)
    for n in range(30):  # receipts of the last week that no member showed a card for
        when = now - dt.timedelta(seconds=rng.randint(600, 7 * 86400))
        store_id = rng.choice(store_ids)
        code = STORES[store_ids.index(store_id)][0]
        number = f"{code}-{when.astimezone(program.zone):%Y%m%d}-{9000 + n:04d}"
        await receipts.keep_receipt(program, store_id, number, when, _basket(rng), now=now)
    await repurchase.compute_cycles(program, now)
    await repurchase.remind(program, now)
