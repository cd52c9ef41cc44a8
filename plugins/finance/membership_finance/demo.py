"""The demo business of ``membership serve --demo --industry finance``: 银河银行's credit-card
program. The kernel's demo enrols the cardholders — each with a resident ID number, a verified
KYC and the consents the bank requires (the optional ones as each customer chose) — and plays a
year of card transactions, each with a merchant category code and a transaction type (purchases
at supermarkets, restaurants, petrol stations, airlines; instalments at department and electronics
stores; utility bills paid through the bank; utilities paid by card at an excluded MCC). The pack's
demo data then sets up what a bank's card centre would: the tiers 普卡/金卡/白金卡/钻石卡, the MCC
multipliers, a bank card per cardholder, three months of average daily balances fed from the core
system (upgrading those whose assets qualify) and the last three months' points statements.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from membership.plugin import (
    DemoProfile,
    MembershipError,
    ProgramConfig,
    configure_tiers,
    fetch,
    issue_credential,
)
from membership_finance import assets, mcc, statements
from membership_finance.bank_card import NAME as BANK_CARD
from membership_finance.bank_card import check_digit
from membership_finance.settings import settings_of
from membership_finance.values import month_of, now, previous_month

STORES = (
    ("CC01", "银河银行 · 信用卡中心（线上）", "上海"),
    ("BJ01", "银河银行 · 北京分行营业部", "北京"),
    ("SH01", "银河银行 · 上海分行营业部", "上海"),
    ("GZ01", "银河银行 · 广州分行营业部", "广州"),
)
# what a card transaction looks like as a sale: one line of the amount (the MCC says where)
CATALOG = (
    ("POS", "刷卡消费", "刷卡", 8_800),
    ("QR", "银联二维码支付", "扫码", 3_600),
    ("ONLINE", "网上快捷支付", "线上", 15_800),
    ("LARGE", "大额消费", "刷卡", 128_000),
)
PURCHASE_MCCS = (
    ("5411", 24),  # 超市
    ("5812", 16),  # 餐馆
    ("5814", 10),  # 快餐
    ("5541", 8),  # 加油
    ("5311", 6),  # 百货
    ("5691", 6),  # 服装
    ("5977", 4),  # 化妆品
    ("4511", 3),  # 航空
    ("7011", 3),  # 酒店
    ("4121", 5),  # 出租车
    ("5999", 6),  # 其他零售
    ("4900", 4),  # 公共事业刷卡：不积分
    ("6513", 2),  # 物业：不积分
)
RULES = (
    ("5811-5814", "餐饮双倍积分", 200),
    ("5411", "超市 1.5 倍积分", 150),
    ("5541-5542", "加油半积分", 50),
    ("3000-3299", "航空公司 3 倍积分", 300),
    ("4511", "机票 3 倍积分", 300),
    ("7011", "酒店双倍积分", 200),
)
TIERS = (
    ("classic", "普卡", 100),
    ("gold", "金卡", 110),
    ("platinum", "白金卡", 120),
    ("diamond", "钻石卡", 150),
)
REGIONS = ("110105", "110108", "310104", "310115", "440106", "440305", "330106", "510107")
BIN = "621888"


def id_number(rng: random.Random) -> str:
    """A well-formed resident ID number (a city district, a birth date, a sequence, its check
    character)."""
    born = dt.date(1955, 1, 1) + dt.timedelta(days=rng.randint(0, 18_000))
    first = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first + "10X98765432"[sum(int(d) * w for d, w in zip(first, weights, strict=True)) % 11]


def card_number(rng: random.Random) -> str:
    """A 16-digit card number of the demo bank's BIN with its Luhn check digit."""
    first = BIN + f"{rng.randrange(10**9):09d}"
    return first + check_digit(first)


def _enrolment(rng: random.Random) -> dict[str, Any]:
    """What the bank records when it opens each demo membership."""
    return {
        "id_number": id_number(rng),
        "preferences": {"kyc_status": "verified"},
        "consents": {
            "personal_info": True,
            "sensitive_info": True,
            "credit_inquiry": True,
            "marketing_sms": rng.random() < 0.55,
            "third_party_sharing": rng.random() < 0.3,
        },
        "source_channel": "branch",
    }


def _attributes(rng: random.Random, when: dt.datetime) -> dict[str, str]:
    """What the card system says about each demo transaction: its MCC and type."""
    roll = rng.random()
    if roll < 0.05:
        return {"mcc": rng.choice(("4900", "4814")), "txn_type": "bill_payment"}
    if roll < 0.11:
        return {"mcc": rng.choice(("5311", "5732", "5691")), "txn_type": "instalment"}
    codes, weights = zip(*PURCHASE_MCCS, strict=True)
    return {"mcc": rng.choices(codes, weights=weights)[0], "txn_type": "purchase"}


PROFILE = DemoProfile("银河银行", "银河信用卡积分", STORES, CATALOG, _attributes, _enrolment)


def _wealth(rng: random.Random) -> int:
    """A customer's assets with the bank in fen: most below 50,000 yuan, a few millionaires."""
    roll = rng.random()
    if roll < 0.55:
        return rng.randint(0, 4_800_000)
    if roll < 0.85:
        return rng.randint(5_000_000, 45_000_000)
    if roll < 0.97:
        return rng.randint(50_000_000, 400_000_000)
    return rng.randint(600_000_000, 2_000_000_000)


async def add_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The bank's set-up and data (inside the kernel's demo use case)."""
    settings = settings_of(program)
    thresholds = {"classic": 0, "gold": settings.gold_min, "platinum": settings.platinum_min}
    thresholds["diamond"] = settings.diamond_min
    tiers = [
        {"code": code, "name": name, "threshold": thresholds[code], "points_multiplier_pct": multiplier}
        for code, name, multiplier in TIERS
    ]
    await configure_tiers(program.id, tiers, None, "demo")
    for mccs, name, multiplier in RULES:
        await mcc.save_rule(program.id, mccs, {"name": name, "multiplier_pct": multiplier}, "demo")
    members = [
        row["id"] for row in await fetch("SELECT id FROM member WHERE program_id = {} ORDER BY member_no", program.id)
    ]
    for member_id in members:
        try:
            await issue_credential(member_id, BANK_CARD, card_number(rng), store_ids[0], "demo")
        except MembershipError:  # pragma: no cover - a drawn number repeated: one chance in 10^9
            continue
    wealth = {member_id: _wealth(rng) for member_id in members}
    month = previous_month(month_of(program, now()))
    months = [previous_month(previous_month(month)), previous_month(month), month]
    for fed in months:
        lines = [
            assets.FeedLine(i, str(member_id), max(0, wealth[member_id] * rng.randint(90, 110) // 100))
            for i, member_id in enumerate(members, start=1)
        ]
        await assets.feed_balances(program, fed, lines, "demo", "demo", f"core-banking-{fed}.csv")
    for built in months:
        await statements.build_month(program, built, "demo")
