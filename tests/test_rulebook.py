"""The rulebook: rules as data, parsed strictly, evaluated without a database.

Lunar dates below were checked with lunar_python (``Solar.fromYmd(...).getLunar()``); each is
noted beside its case.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membership.errors import InvalidBirthday, ValidationError
from membership.ledger.purchase_rules import purchase_awards
from membership.ledger.rulebook import (
    MemberFacts,
    PointsRule,
    parse_rule,
    referral_awards,
    sign_in_awards,
    sign_up_awards,
)
from membership.ledger.rules import Award, EarnContext, LineInput
from membership.members.birthdays import birthday_in_year, lunar_of
from membership.org.service import ProgramConfig

PROGRAM = ProgramConfig(id=uuid.uuid4(), merchant_id=uuid.uuid4(), name="Test")
WEDNESDAY = dt.date(2024, 5, 15)  # ISO week 2024-W20 (Mon 13 – Sun 19 May)
DRINKS = LineInput("cola", 2, 3000, category="drinks")  # 60.00
FOOD = LineInput("rice", 1, 6050, category="food")  # 60.50


def rule(code: str, kind: str, params: dict[str, Any], **fields: Any) -> PointsRule:
    return parse_rule({"code": code, "kind": kind, "name": code.upper(), "params": params, **fields})


def purchase(earning_base: int = 12050, lines: tuple[LineInput, ...] = (DRINKS, FOOD)) -> EarnContext:
    total = sum(line.amount for line in lines)
    return EarnContext(PROGRAM, uuid.uuid4(), uuid.uuid4(), None, lines, total, earning_base, dt.datetime.now(dt.UTC))


def points(awards: list[Award]) -> list[tuple[str, int]]:
    return [(award.rule, award.points) for award in awards]


BASE = rule("base", "base_rate", {"points": 1, "per_amount": 100}, priority=10)
DRINKS_X2 = rule("cat", "category_multiplier", {"categories": ["drinks"], "multiplier_pct": 200}, priority=5)
WEDNESDAY_X2 = rule("md", "member_day", {"weekdays": [3], "multiplier_pct": 200})
BORN_16_MAY = MemberFacts(birthday=dt.date(1990, 5, 16))


# --- purchases: one row per behaviour, exact points ------------------------------------------


def case(name, rules, expected, *, context=None, facts=None, today=WEDNESDAY):
    """One purchase scenario: by default 120.50 paid for drinks (60.00) and food, on a Wednesday."""
    return pytest.param(rules, context or purchase(), facts or MemberFacts(), today, expected, id=name)


SCENARIOS = [
    # base_rate: rounded down per transaction
    case("base 1 per 100", [BASE], [("base", 120)]),
    case(
        "base 3 per 500",
        [rule("b", "base_rate", {"points": 3, "per_amount": 500})],
        [("b", 74)],
        context=purchase(12345),
    ),
    case("base below one point", [BASE], [], context=purchase(99)),
    # category / sku multipliers on the matching lines' share of the base
    case("category x2", [BASE, DRINKS_X2], [("base", 120), ("cat", 60)]),
    case(
        "category x1.5",
        [BASE, rule("cat", "category_multiplier", {"categories": ["drinks"], "multiplier_pct": 150})],
        [("base", 120), ("cat", 30)],
    ),
    case(
        "category share when part paid with points: 10000 * 6000 // 12050 = 4979 -> 49 base, x3 -> 98",
        [BASE, rule("cat", "category_multiplier", {"categories": ["drinks"], "multiplier_pct": 300})],
        [("base", 100), ("cat", 98)],
        context=purchase(10000),
    ),
    case("category without matching lines", [BASE, DRINKS_X2], [("base", 60)], context=purchase(6050, (FOOD,))),
    case("multiplier without a base", [DRINKS_X2], []),
    case(
        "sku x4",
        [BASE, rule("sku", "sku_multiplier", {"skus": ["rice", "tea"], "multiplier_pct": 400})],
        [("base", 120), ("sku", 180)],
    ),
    # member days
    case("member day weekday", [BASE, WEDNESDAY_X2], [("base", 120), ("md", 120)]),
    case("member day other weekday", [BASE, WEDNESDAY_X2], [("base", 120)], today=dt.date(2024, 5, 16)),
    case(
        "member day of month x1.25",
        [BASE, rule("md15", "member_day", {"days_of_month": [15], "multiplier_pct": 125})],
        [("base", 120), ("md15", 30)],
    ),
    case(
        "member day by date",
        [BASE, rule("d", "member_day", {"dates": ["2024-05-15"], "multiplier_pct": 300})],
        [("base", 120), ("d", 240)],
    ),
    # birthday (solar 16 May): window day / week / month, gift once a year
    case(
        "birthday day: not the day",
        [BASE, rule("bd", "birthday", {"window": "day", "multiplier_pct": 200})],
        [("base", 120)],
        facts=BORN_16_MAY,
    ),
    case(
        "birthday day",
        [BASE, rule("bd", "birthday", {"window": "day", "multiplier_pct": 200, "gift_points": 500})],
        [("base", 120), ("bd", 620)],
        facts=BORN_16_MAY,
        today=dt.date(2024, 5, 16),
    ),
    case(
        "birthday week, gift already given",
        [BASE, rule("bd", "birthday", {"window": "week", "multiplier_pct": 200, "gift_points": 500})],
        [("base", 120), ("bd", 120)],
        facts=MemberFacts(birthday=dt.date(1990, 5, 16), birthday_gift_given_this_year=True),
        today=dt.date(2024, 5, 19),
    ),
    case(
        "birthday gift only, already given",
        [BASE, rule("bd", "birthday", {"window": "month", "gift_points": 500})],
        [("base", 120)],
        facts=MemberFacts(birthday=dt.date(1990, 5, 16), birthday_gift_given_this_year=True),
    ),
    case(
        "birthday week: next Monday is outside",
        [BASE, rule("bd", "birthday", {"window": "week", "multiplier_pct": 200})],
        [("base", 120)],
        facts=BORN_16_MAY,
        today=dt.date(2024, 5, 20),
    ),
    case(
        "birthday month",
        [BASE, rule("bd", "birthday", {"window": "month", "gift_points": 88})],
        [("base", 120), ("bd", 88)],
        facts=BORN_16_MAY,
        today=dt.date(2024, 5, 31),
    ),
    case(
        "birthday month: June is outside",
        [BASE, rule("bd", "birthday", {"window": "month", "gift_points": 88})],
        [("base", 120)],
        facts=BORN_16_MAY,
        today=dt.date(2024, 6, 1),
    ),
    case(
        "no birthday on file", [BASE, rule("bd", "birthday", {"window": "month", "gift_points": 88})], [("base", 120)]
    ),
    # first purchase
    case("first purchase", [BASE, rule("first", "first_purchase", {"points": 200})], [("base", 120), ("first", 200)]),
    case(
        "second purchase",
        [BASE, rule("first", "first_purchase", {"points": 200})],
        [("base", 120)],
        facts=MemberFacts(purchases_before=1),
    ),
    # stacking
    case(
        "stack: everything adds",
        [BASE, DRINKS_X2, WEDNESDAY_X2, rule("first", "first_purchase", {"points": 5})],
        [("base", 120), ("cat", 60), ("first", 5), ("md", 120)],
    ),
    case(
        "best_of: only the largest best_of, stack rules still add",
        [
            BASE,
            DRINKS_X2,
            rule("md", "member_day", {"weekdays": [3], "multiplier_pct": 200}, stacking="best_of", priority=9),
            rule("bd", "birthday", {"window": "week", "multiplier_pct": 300}, stacking="best_of"),
        ],
        [("base", 120), ("cat", 60), ("bd", 240)],
        facts=BORN_16_MAY,
    ),
    case(
        "best_of tie: higher priority wins",
        [
            BASE,
            rule("a", "member_day", {"weekdays": [3], "multiplier_pct": 200}, stacking="best_of"),
            rule("z", "first_purchase", {"points": 120}, stacking="best_of", priority=1),
        ],
        [("base", 120), ("z", 120)],
    ),
    case(
        "exclusive: the highest-priority one wins alone, base still counts",
        [
            BASE,
            WEDNESDAY_X2,
            rule("cat", "category_multiplier", {"categories": ["drinks"], "multiplier_pct": 300}, stacking="exclusive"),
            rule("gift", "birthday", {"window": "week", "gift_points": 50}, stacking="exclusive", priority=5),
        ],
        [("base", 120), ("gift", 50)],
        facts=BORN_16_MAY,
    ),
    case(
        "exclusive of equal priority: the one earning most wins, whatever its code",
        [
            BASE,
            rule("aa", "category_multiplier", {"categories": ["drinks"], "multiplier_pct": 150}, stacking="exclusive"),
            rule("zz", "member_day", {"weekdays": [3], "multiplier_pct": 500}, stacking="exclusive"),
        ],
        [("base", 120), ("zz", 480)],
    ),
    case(
        "exclusive that does not apply excludes nothing",
        [
            BASE,
            WEDNESDAY_X2,
            rule("x", "sku_multiplier", {"skus": ["tea"], "multiplier_pct": 500}, stacking="exclusive"),
        ],
        [("base", 120), ("md", 120)],
    ),
    case(
        "base rates stack",
        [BASE, rule("half", "base_rate", {"points": 1, "per_amount": 200})],
        [("base", 120), ("half", 60)],
    ),
    case(
        "base rates best_of; multipliers use the base that counts (180)",
        [
            rule("one", "base_rate", {"points": 1, "per_amount": 100}, stacking="best_of"),
            rule("promo", "base_rate", {"points": 3, "per_amount": 200}, stacking="best_of"),
            WEDNESDAY_X2,
        ],
        [("md", 180), ("promo", 180)],
    ),
    case(
        "exclusive base rate stands alone among base rates, bonuses still add",
        [BASE, rule("double", "base_rate", {"points": 2, "per_amount": 100}, stacking="exclusive"), WEDNESDAY_X2],
        [("double", 241), ("md", 241)],
    ),
    # min_spend (inclusive) and validity dates (inclusive)
    case(
        "min_spend reached exactly",
        [rule("b", "base_rate", {"points": 1, "per_amount": 100}, min_spend=12050)],
        [("b", 120)],
    ),
    case("min_spend missed by 1 fen", [rule("b", "base_rate", {"points": 1, "per_amount": 100}, min_spend=12051)], []),
    case(
        "min_spend applies to bonuses",
        [BASE, rule("first", "first_purchase", {"points": 200}, min_spend=20000)],
        [("base", 120)],
    ),
    # caps: lowest priority trimmed first (md 0 < cat 5 < base 10); an award cut to 0 stays at 0
    case(
        "cap per transaction",
        [BASE, DRINKS_X2, WEDNESDAY_X2, rule("cap", "cap", {"per_transaction": 150})],
        [("base", 120), ("cat", 30), ("md", 0)],
    ),
    case(
        "cap not reached",
        [BASE, DRINKS_X2, WEDNESDAY_X2, rule("cap", "cap", {"per_transaction": 300})],
        [("base", 120), ("cat", 60), ("md", 120)],
    ),
    case(
        "cap per day: 420 earned today, 80 left",
        [BASE, DRINKS_X2, WEDNESDAY_X2, rule("cap", "cap", {"per_day": 500})],
        [("base", 80), ("cat", 0), ("md", 0)],
        facts=MemberFacts(points_earned_today=420),
    ),
    case(
        "cap per day already used up",
        [BASE, rule("cap", "cap", {"per_day": 500})],
        [("base", 0)],
        facts=MemberFacts(points_earned_today=600),
    ),
    case(
        "cap per transaction then per day: 300 -> 200 -> 150",
        [BASE, DRINKS_X2, WEDNESDAY_X2, rule("cap", "cap", {"per_transaction": 200, "per_day": 500})],
        [("base", 120), ("cat", 30), ("md", 0)],
        facts=MemberFacts(points_earned_today=350),
    ),
    case(
        "two caps: the tighter one holds, even against an exclusive rule",
        [
            BASE,
            rule("x", "member_day", {"weekdays": [3], "multiplier_pct": 200}, stacking="exclusive"),
            rule("cap1", "cap", {"per_transaction": 200}),
            rule("cap2", "cap", {"per_transaction": 130}, priority=3),
        ],
        [("base", 120), ("x", 10)],
    ),
]


@pytest.mark.parametrize(
    ("rules", "context", "facts", "today", "expected"),
    SCENARIOS,
)
def test_purchase_scenarios(rules, context, facts, today, expected):
    assert points(purchase_awards(rules, context, facts, today)) == expected


@pytest.mark.parametrize(
    ("today", "applies"),
    [
        (dt.date(2024, 4, 30), False),
        (dt.date(2024, 5, 1), True),  # starts_on, inclusive
        (dt.date(2024, 5, 31), True),  # ends_on, inclusive
        (dt.date(2024, 6, 1), False),
    ],
)
def test_validity_dates_are_inclusive(today, applies):
    promo = rule("may", "first_purchase", {"points": 10}, starts_on="2024-05-01", ends_on="2024-05-31")
    assert points(purchase_awards([BASE, promo], purchase(), MemberFacts(), today)) == [("base", 120)] + (
        [("may", 10)] if applies else []
    )


def test_reasons_explain_the_numbers():
    rules = [BASE, DRINKS_X2, WEDNESDAY_X2, rule("cap", "cap", {"per_transaction": 150})]
    base, drinks, member_day = purchase_awards(rules, purchase(), MemberFacts(), WEDNESDAY)
    assert base.reason == (
        "【BASE】计积分金额 120.50 CNY，每 1.00 CNY 得 1 积分：120 积分"
        " / 120.50 CNY earns 1 point per 1.00 CNY: 120 points"
    )
    assert drinks.reason == (
        "【CAT】指定品类（计积分金额 60.00 CNY） ×2：基础 60 积分加赠 60 积分"
        " / matching categories (60.00 CNY) ×2: +60 on a base of 60 points"
        " [单笔上限 150 积分：60 → 30 / capped at 150 per transaction: 60 → 30]"
    )
    assert member_day.points == 0 and member_day.reason.endswith("capped at 150 per transaction: 120 → 0]")
    capped = purchase_awards(
        [BASE, rule("cap", "cap", {"per_day": 500})], purchase(), MemberFacts(points_earned_today=420), WEDNESDAY
    )
    assert capped[0].reason.endswith(
        " [每日上限 500 积分（今日已得 420）：120 → 80 / capped at 500 per day (420 earned today): 120 → 80]"
    )
    birthday = rule("bd", "birthday", {"window": "week", "multiplier_pct": 150, "gift_points": 200})
    assert purchase_awards([BASE, birthday], purchase(), BORN_16_MAY, WEDNESDAY)[1].reason == (
        "【BD】生日周（2024-05-16），×1.5：基础 120 积分加赠 60 积分，生日礼 200 积分"
        " / birthday week (2024-05-16), ×1.5: +60 on a base of 120 points, birthday gift 200 points"
    )


# --- birthdays: the date celebrated each year ------------------------------------------------


@pytest.mark.parametrize(
    ("born", "calendar", "year", "celebrated"),
    [
        pytest.param(dt.date(1990, 5, 16), "solar", 2024, dt.date(2024, 5, 16), id="solar"),
        pytest.param(dt.date(2000, 2, 29), "solar", 2023, dt.date(2023, 2, 28), id="solar 29 Feb, common year"),
        pytest.param(dt.date(2000, 2, 29), "solar", 2024, dt.date(2024, 2, 29), id="solar 29 Feb, leap year"),
        # born 2020-06-01 = 2020 闰四月初十
        pytest.param(dt.date(2020, 6, 1), "lunar", 2020, dt.date(2020, 6, 1), id="闰四月初十 in 2020 (has 闰四月)"),
        pytest.param(dt.date(2020, 6, 1), "lunar", 2021, dt.date(2021, 5, 21), id="闰四月 -> 2021 四月初十"),
        pytest.param(dt.date(2020, 6, 1), "lunar", 2022, dt.date(2022, 5, 10), id="闰四月 -> 2022 四月初十"),
        pytest.param(dt.date(2020, 6, 1), "lunar", 2023, dt.date(2023, 5, 28), id="闰四月 -> 2023 (闰二月) 四月初十"),
        # born 2019-03-06 = 2019 正月三十; 正月 has 29 days in 2020 and 2021, 30 in 2022
        pytest.param(dt.date(2019, 3, 6), "lunar", 2020, dt.date(2020, 2, 22), id="正月三十 -> 2020 正月廿九"),
        pytest.param(dt.date(2019, 3, 6), "lunar", 2021, dt.date(2021, 3, 12), id="正月三十 -> 2021 正月廿九"),
        pytest.param(dt.date(2019, 3, 6), "lunar", 2022, dt.date(2022, 3, 2), id="正月三十 in 2022"),
        # born 2017-08-21 = 2017 闰六月三十; 2018 has no leap month and a 29-day 六月; 2036 has a 30-day 闰六月
        pytest.param(dt.date(2017, 8, 21), "lunar", 2018, dt.date(2018, 8, 10), id="闰六月三十 -> 2018 六月廿九"),
        pytest.param(dt.date(2017, 8, 21), "lunar", 2036, dt.date(2036, 8, 21), id="闰六月三十 in 2036"),
        # born 1991-01-05 = 1990 冬月二十: none in 2020 (2019-12-15, 2021-01-03), twice in 2021
        pytest.param(dt.date(1991, 1, 5), "lunar", 2020, dt.date(2021, 1, 3), id="冬月二十: none in 2020 -> next"),
        pytest.param(dt.date(1991, 1, 5), "lunar", 2021, dt.date(2021, 1, 3), id="冬月二十: twice in 2021 -> January"),
        pytest.param(dt.date(1991, 1, 5), "lunar", 2022, dt.date(2022, 12, 13), id="冬月二十 in 2022"),
        # born 1991-02-04 = 1990 腊月二十: falls in January/February, from the previous lunar year
        pytest.param(dt.date(1991, 2, 4), "lunar", 2021, dt.date(2021, 2, 1), id="腊月二十 in 2021"),
        pytest.param(dt.date(1991, 2, 4), "lunar", 2022, dt.date(2022, 1, 22), id="腊月二十 in 2022"),
    ],
)
def test_birthday_in_year(born, calendar, year, celebrated):
    assert birthday_in_year(born, calendar, year) == celebrated


def test_birthday_in_year_refuses_unknown_calendars_and_years():
    with pytest.raises(InvalidBirthday):
        birthday_in_year(dt.date(1990, 1, 1), "islamic", 2024)
    with pytest.raises(InvalidBirthday):
        birthday_in_year(dt.date(1990, 1, 1), "lunar", 2101)


LUNAR_LEAP = MemberFacts(birthday=dt.date(2020, 6, 1), birthday_calendar="lunar")  # 闰四月初十
LUNAR_30TH = MemberFacts(birthday=dt.date(2019, 3, 6), birthday_calendar="lunar")  # 正月三十


@pytest.mark.parametrize(
    ("window", "facts", "today", "applies"),
    [
        ("day", LUNAR_LEAP, dt.date(2023, 5, 28), True),  # 2023 四月初十 (a Sunday)
        ("day", LUNAR_LEAP, dt.date(2023, 6, 1), False),  # the solar anniversary is not it
        ("day", LUNAR_LEAP, dt.date(2021, 5, 21), True),
        ("week", LUNAR_LEAP, dt.date(2023, 5, 22), True),  # Monday of that ISO week
        ("week", LUNAR_LEAP, dt.date(2023, 5, 29), False),  # next Monday
        ("month", LUNAR_LEAP, dt.date(2023, 5, 1), True),
        ("month", LUNAR_LEAP, dt.date(2023, 6, 1), False),
        ("day", LUNAR_30TH, dt.date(2021, 3, 12), True),  # 2021 正月廿九
        ("day", LUNAR_30TH, dt.date(2021, 3, 13), False),
        ("week", LUNAR_30TH, dt.date(2021, 3, 14), True),  # Sunday of ISO week 2021-W10
        ("month", LUNAR_30TH, dt.date(2022, 3, 31), True),  # 2022-03-02
        ("month", LUNAR_30TH, dt.date(2022, 2, 28), False),
        ("day", MemberFacts(birthday=dt.date(2000, 2, 29)), dt.date(2023, 2, 28), True),
        # a window surrounds this year's birthday only: 2024-12-31's ISO week runs to 2025-01-05
        ("week", MemberFacts(birthday=dt.date(1990, 12, 31)), dt.date(2024, 12, 30), True),
        ("week", MemberFacts(birthday=dt.date(1990, 12, 31)), dt.date(2025, 1, 2), False),
    ],
)
def test_birthday_windows(window, facts, today, applies):
    gift = rule("bd", "birthday", {"window": window, "gift_points": 300})
    assert points(purchase_awards([gift], purchase(), facts, today)) == ([("bd", 300)] if applies else [])


# --- sign-up, referral, daily sign-in ---------------------------------------------------------


def test_sign_up_awards_stack_and_best_of():
    rules = [
        rule("welcome", "sign_up", {"points": 100}),
        rule("spring", "sign_up", {"points": 50}, starts_on="2024-03-01", ends_on="2024-05-31"),
        rule("a", "sign_up", {"points": 20}, stacking="best_of"),
        rule("b", "sign_up", {"points": 30}, stacking="best_of"),
    ]
    assert points(sign_up_awards(rules, WEDNESDAY)) == [("b", 30), ("spring", 50), ("welcome", 100)]
    assert points(sign_up_awards(rules, dt.date(2024, 6, 1))) == [("b", 30), ("welcome", 100)]
    assert sign_up_awards(rules, WEDNESDAY)[-1].reason == "【WELCOME】注册奖励 100 积分 / sign-up bonus 100 points"
    exclusive = rule("only", "sign_up", {"points": 1}, stacking="exclusive")
    assert points(sign_up_awards([*rules, exclusive], WEDNESDAY)) == [("only", 1)]


def test_referral_awards():
    rules = [rule("ref", "referral", {"referrer_points": 100, "referee_points": 50})]
    referrer, referee = referral_awards(rules, WEDNESDAY)
    assert points(referrer) == [("ref", 100)]
    assert points(referee) == [("ref", 50)]
    assert referee[0].reason == "【REF】受邀入会奖励 50 积分 / welcome bonus for a referred member 50 points"
    only_referrer = [rule("r", "referral", {"referrer_points": 10, "referee_points": 0})]
    assert referral_awards(only_referrer, WEDNESDAY) == (
        [Award("r", 10, "【R】推荐新会员奖励 10 积分 / referral bonus 10 points")],
        [],
    )
    best = [
        rule("x", "referral", {"referrer_points": 100, "referee_points": 0}, stacking="best_of"),
        rule("y", "referral", {"referrer_points": 60, "referee_points": 60}, stacking="best_of"),
    ]
    assert tuple(map(points, referral_awards(best, WEDNESDAY))) == ([("y", 60)], [("y", 60)])


@pytest.mark.parametrize(("streak", "expected"), [(1, 5), (6, 5), (7, 25), (8, 5), (14, 25), (21, 25)])
def test_sign_in_streak_bonus(streak, expected):
    rules = [rule("daily", "daily_sign_in", {"points": 5, "streak_days": 7, "streak_bonus": 20})]
    assert points(sign_in_awards(rules, WEDNESDAY, streak)) == [("daily", expected)]


def test_sign_in_reason():
    rules = [rule("daily", "daily_sign_in", {"points": 5, "streak_days": 7, "streak_bonus": 20})]
    assert sign_in_awards(rules, WEDNESDAY, 7)[0].reason == (
        "【DAILY】每日签到 5 积分；连续签到 7 天奖励 20 积分 / daily sign-in 5 points; 7-day streak bonus 20 points"
    )


def test_flows_ignore_other_kinds():
    rules = [
        BASE,
        rule("welcome", "sign_up", {"points": 100}),
        rule("daily", "daily_sign_in", {"points": 1, "streak_days": 7, "streak_bonus": 0}),
    ]
    assert points(purchase_awards(rules, purchase(), MemberFacts(), WEDNESDAY)) == [("base", 120)]
    assert points(sign_up_awards(rules, WEDNESDAY)) == [("welcome", 100)]
    assert points(sign_in_awards(rules, WEDNESDAY, 1)) == [("daily", 1)]
    assert referral_awards(rules, WEDNESDAY) == ([], [])


# --- parsing: clear refusals, never a stack trace ---------------------------------------------

VALID = {"code": "base", "kind": "base_rate", "name": "Base", "params": {"points": 1, "per_amount": 100}}


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({**VALID, "kind": "bogus"}, "kind", "must be one of base_rate, category_multiplier"),
        ({**VALID, "stacking": "sometimes"}, "stacking", "must be one of stack, best_of, exclusive"),
        ({**VALID, "code": ""}, "code", "length >= 1"),
        ({**VALID, "priority": 1.5}, "priority", "Expected `int`, got `float`"),
        ({**VALID, "min_spend": True}, "min_spend", "Expected `int`, got `bool`"),
        ({**VALID, "min_spend": -1}, "min_spend", ">= 0"),
        ({**VALID, "colour": "red"}, "rule", "unknown field `colour`"),
        ({**VALID, "starts_on": "2024-06-01", "ends_on": "2024-05-31"}, "ends_on", "must not be before starts_on"),
        ({**VALID, "ends_on": "31/05/2024"}, "ends_on", "Invalid RFC3339 encoded date"),
        ({**VALID, "params": {"points": 1.0, "per_amount": 100}}, "params.points", "Expected `int`, got `float`"),
        ({**VALID, "params": {"points": True, "per_amount": 100}}, "params.points", "Expected `int`, got `bool`"),
        ({**VALID, "params": {"points": 1, "per_amount": 0}}, "params.per_amount", ">= 1"),
        ({**VALID, "params": {"points": 1}}, "params", "missing required field `per_amount`"),
        ({**VALID, "params": {"points": 1, "per_amount": 100, "extra": 1}}, "params", "unknown field `extra`"),
        (
            {**VALID, "kind": "member_day", "params": {"multiplier_pct": 200}},
            "params",
            "give weekdays, days_of_month or dates",
        ),
        (
            {**VALID, "kind": "member_day", "params": {"weekdays": [0], "multiplier_pct": 200}},
            "params.weekdays[0]",
            ">= 1",
        ),
        (
            {**VALID, "kind": "member_day", "params": {"weekdays": [1], "multiplier_pct": 100}},
            "params.multiplier_pct",
            ">= 101",
        ),
        (
            {**VALID, "kind": "category_multiplier", "params": {"categories": [], "multiplier_pct": 200}},
            "params.categories",
            "length >= 1",
        ),
        (
            {**VALID, "kind": "birthday", "params": {"window": "year", "gift_points": 1}},
            "params.window",
            "Invalid enum value 'year'",
        ),
        (
            {**VALID, "kind": "birthday", "params": {"window": "day"}},
            "params",
            "give multiplier_pct, gift_points or both",
        ),
        ({**VALID, "kind": "cap", "params": {}}, "params", "give per_transaction, per_day or both"),
        ({**VALID, "kind": "cap", "params": {"per_day": 10.5}}, "params.per_day", "Expected `int | null`, got `float`"),
        ({**VALID, "kind": "referral", "params": {"referrer_points": 0, "referee_points": 0}}, "params", "above 0"),
        (
            {**VALID, "kind": "daily_sign_in", "params": {"points": 1, "streak_days": 0, "streak_bonus": 0}},
            "params.streak_days",
            ">= 1",
        ),
        ("not a rule", "rule", "Expected `object`, got `str`"),
    ],
)
def test_parse_rule_refusals(data, field, reason):
    with pytest.raises(ValidationError) as caught:
        parse_rule(data)
    assert caught.value.params["field"] == field
    assert reason in str(caught.value.params["reason"])


def test_parse_rule_normalises_params():
    parsed = parse_rule({**VALID, "kind": "member_day", "params": {"dates": ["2024-05-15"], "multiplier_pct": 200}})
    assert parsed.params == {
        "multiplier_pct": 200,
        "weekdays": [],
        "days_of_month": [],
        "dates": [dt.date(2024, 5, 15)],
    }
    assert parsed == parse_rule(msgspec.json.decode(msgspec.json.encode(parsed)))


# --- properties -------------------------------------------------------------------------------

percent = st.integers(101, 500)
small = st.integers(1, 1000)
base_rates = st.tuples(
    st.just("base_rate"), st.fixed_dictionaries({"points": st.integers(1, 10), "per_amount": st.integers(1, 1000)})
)
rule_params = st.one_of(
    base_rates,
    st.tuples(
        st.just("category_multiplier"),
        st.fixed_dictionaries({"categories": st.just(["drinks"]), "multiplier_pct": percent}),
    ),
    st.tuples(st.just("sku_multiplier"), st.fixed_dictionaries({"skus": st.just(["rice"]), "multiplier_pct": percent})),
    st.tuples(
        st.just("member_day"),
        st.fixed_dictionaries({"weekdays": st.lists(st.integers(1, 7), min_size=1), "multiplier_pct": percent}),
    ),
    st.tuples(
        st.just("birthday"),
        st.fixed_dictionaries(
            {"window": st.sampled_from(["day", "week", "month"]), "multiplier_pct": percent, "gift_points": small}
        ),
    ),
    st.tuples(st.just("first_purchase"), st.fixed_dictionaries({"points": small})),
    st.tuples(
        st.just("cap"),
        st.fixed_dictionaries({"per_transaction": st.none() | st.integers(0, 2000), "per_day": st.integers(0, 3000)}),
    ),
)


@st.composite
def rulebooks(draw, kinds=rule_params, stackings=("stack", "best_of", "exclusive")) -> list[PointsRule]:
    rules = []
    for index, (kind, params) in enumerate(draw(st.lists(kinds, min_size=1, max_size=8))):
        fields = {
            "priority": draw(st.integers(-3, 3)),
            "stacking": draw(st.sampled_from(stackings)),
            "min_spend": draw(st.sampled_from([0, 0, 5000, 20000])),
        }
        rules.append(rule(f"r{index}", kind, params, **fields))
    return rules


lines = st.lists(
    st.builds(
        LineInput,
        sku=st.sampled_from(["rice", "cola", "tea"]),
        quantity=st.integers(1, 5),
        unit_price=st.integers(0, 50_000),
        category=st.sampled_from(["drinks", "food"]),
    ),
    min_size=1,
    max_size=4,
)
facts = st.builds(
    MemberFacts,
    birthday=st.none() | st.dates(dt.date(1950, 1, 1), dt.date(2010, 12, 31)),
    birthday_calendar=st.sampled_from(["solar", "lunar"]),
    purchases_before=st.integers(0, 2),
    points_earned_today=st.integers(0, 3000),
    birthday_gift_given_this_year=st.booleans(),
)
days = st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(rules=rulebooks(), sold=lines, paid_with_points=st.integers(0, 100), facts=facts, today=days)
def test_awards_are_explained_and_within_caps(rules, sold, paid_with_points, facts, today):
    total = sum(line.amount for line in sold)
    context = purchase(total * (100 - paid_with_points) // 100, tuple(sold))
    awards = purchase_awards(rules, context, facts, today)
    codes = {rule.code for rule in rules}
    for award in awards:
        assert award.points > 0 or "→ 0]" in award.reason  # 0 only where a cap cut it, saying so
        assert award.rule in codes
        assert award.reason.strip()
    earned = sum(award.points for award in awards)
    for cap in rules:
        if cap.kind == "cap" and context.earning_base >= cap.min_spend:
            if cap.params["per_transaction"] is not None:
                assert earned <= cap.params["per_transaction"]
            assert earned <= max(cap.params["per_day"] - facts.points_earned_today, 0)


@settings(max_examples=200, deadline=None)
@given(
    rules=rulebooks(kinds=base_rates, stackings=("stack", "best_of")),
    amounts=st.lists(st.integers(0, 1_000_000), min_size=2, max_size=2),
)
def test_base_points_grow_with_the_amount(rules, amounts):
    low, high = sorted(amounts)

    def earned(amount: int) -> int:
        return sum(award.points for award in purchase_awards(rules, purchase(amount), MemberFacts(), WEDNESDAY))

    assert earned(low) <= earned(high)


@settings(max_examples=200, deadline=None)
@given(born=st.dates(dt.date(1901, 3, 1), dt.date(2020, 12, 31)), year=st.integers(1950, 2090))
def test_lunar_birthday_keeps_its_lunar_date_or_a_documented_fallback(born, year):
    celebrated = birthday_in_year(born, "lunar", year)
    month, day, leap = lunar_of(born)
    got_month, got_day, got_leap = lunar_of(celebrated)
    assert got_month == month
    assert got_day == day or (day == 30 and got_day == 29)
    assert got_leap <= leap
    assert celebrated.year == year or (celebrated.year == year + 1 and celebrated.month <= 2)


def test_the_tier_multiplier_adds_to_the_base_and_is_trimmed_first_by_a_cap():
    rules = [
        parse_rule({"code": "b", "kind": "base_rate", "name": "基础", "params": {"points": 1, "per_amount": 100}}),
        parse_rule({"code": "c", "kind": "cap", "name": "上限", "params": {"per_transaction": 130}}),
    ]
    gold = MemberFacts(tier_name="金卡", tier_multiplier_pct=150)
    awards = purchase_awards(rules, purchase(10_000), gold, WEDNESDAY)
    assert [(a.rule, a.points) for a in awards] == [("b", 100), ("tier", 30)]
    assert awards[1].reason.startswith("【金卡】等级 ×1.5") and "130" in awards[1].reason
    plain = purchase_awards(rules, purchase(10_000), MemberFacts(), WEDNESDAY)
    assert [(a.rule, a.points) for a in plain] == [("b", 100)]
