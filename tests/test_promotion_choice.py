"""Property: on random carts and random sets of promotions, the combination chosen is never worse
for the customer than any other valid combination (brute force over every subset), it is itself
valid, and no discount exceeds the cart (or the room coupons left). Plain values, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from membership.builtin.promotions import AmountOff, BuyGet, CheapestItem, FixedPrice, PercentOff
from membership.errors import Reason
from membership.ledger.conditions import OrderFacts, compile_conditions
from membership.ledger.rules import EarnContext, LineInput
from membership.promotions.choice import Offer, choose, combine, line_discounts
from membership.promotions.kinds import parse_params

TODAY = dt.date(2026, 12, 12)
SKUS = ["A", "B", "C", "D"]

lines_strategy = st.lists(
    st.builds(
        LineInput,
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 5),
        unit_price=st.integers(0, 5_000),
        category=st.sampled_from(["饮品", "甜品"]),
    ),
    min_size=1,
    max_size=6,
)

kinds = st.one_of(
    st.tuples(st.just(PercentOff), st.fixed_dictionaries({"percent_off": st.integers(1, 99)})),
    st.tuples(
        st.just(PercentOff),
        st.fixed_dictionaries({"percent_off": st.integers(1, 99), "max_off": st.integers(1, 3_000)}),
    ),
    st.tuples(st.just(AmountOff), st.fixed_dictionaries({"amount_off": st.integers(1, 20_000)})),
    st.tuples(st.just(FixedPrice), st.fixed_dictionaries({"price": st.integers(0, 4_000)})),
    st.tuples(st.just(CheapestItem), st.fixed_dictionaries({"percent_off": st.integers(1, 100)})),
    st.tuples(
        st.just(BuyGet),
        st.fixed_dictionaries({"buy": st.integers(1, 4), "get": st.integers(1, 3), "percent_off": st.integers(1, 100)}),
    ),
)

conditions = st.lists(
    st.one_of(
        st.builds(lambda s: {"kind": "sku", "any_of": s}, st.lists(st.sampled_from(SKUS), min_size=1, unique=True)),
        st.builds(lambda c: {"kind": "category", "none_of": [c]}, st.sampled_from(["饮品", "甜品"])),
        st.builds(lambda q: {"kind": "min_quantity", "quantity": q}, st.integers(1, 8)),
    ),
    max_size=2,
)


@st.composite
def offers_strategy(draw):
    """Plain terms of 1 to 6 promotions (compiled in the test: compiling reads the plugin registry)."""
    count = draw(st.integers(1, 6))
    return [
        (f"p{i}", *draw(kinds), draw(conditions), draw(st.sampled_from([0, 0, 1_000, 5_000])), draw(st.booleans()))
        for i in range(count)
    ]


def _offers(terms) -> list[Offer]:
    return [
        Offer(code, f"活动{code}", kind(), parse_params(kind, params), compile_conditions(conds), least, stackable)
        for code, kind, params, conds, least, stackable in terms
    ]


def _context(lines) -> EarnContext:
    total = sum(line.amount for line in lines)
    return EarnContext(
        None,
        uuid.UUID(int=1),
        uuid.UUID(int=2),
        None,
        tuple(lines),
        total,
        total,
        dt.datetime(2026, 12, 12, tzinfo=dt.UTC),
    )  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(lines=lines_strategy, offers=offers_strategy(), squeeze=st.integers(0, 100))
def test_the_chosen_combination_is_never_worse_than_any_valid_one(lines, offers, squeeze):
    cart = sum(line.amount for line in lines)
    room = cart * squeeze // 100 if squeeze < 100 else cart  # what coupons left (all of it, mostly)
    context = _context(lines)
    offers = _offers(offers)
    choice = choose(offers, lines, context, TODAY, room)

    applied = [o for o in offers if o.code in choice.applied]
    assert len(applied) <= 1 or all(o.stackable for o in applied)
    assert choice.discount == sum(out.discount for out in choice.outcomes)
    assert 0 <= choice.discount <= room <= cart
    assert all(out.discount > 0 for out in choice.outcomes if out.applied)
    assert all(out.discount == 0 for out in choice.outcomes if not out.applied)
    assert all(out.reason_zh and out.reason_en for out in choice.outcomes)

    facts = OrderFacts(context, tuple(lines), TODAY)
    usable = {}
    for offer in offers:
        found = line_discounts(offer, lines, facts)
        if not isinstance(found, Reason):
            assert len(found) == len(lines) and all(
                0 <= off <= line.amount for off, line in zip(found, lines, strict=True)
            )
            usable[offer.code] = (offer, found)
    best = 0
    for size in range(1, len(usable) + 1):
        for subset in itertools.combinations(sorted(usable), size):
            if size > 1 and not all(usable[code][0].stackable for code in subset):
                continue
            raw = {code: usable[code][1] for code in subset}
            total = sum(combine(raw, subset, lines, room).values())
            # the same figure computed another way: each line at most its amount, all at most the room
            by_line = sum(min(line.amount, sum(raw[c][i] for c in subset)) for i, line in enumerate(lines))
            assert total == min(by_line, room)
            best = max(best, total)
    assert choice.discount == best


def test_a_cart_where_one_non_stackable_beats_the_stack():
    lines = [LineInput("A", 2, 1_000), LineInput("B", 1, 500)]
    offers = [
        Offer("big", "全场 5 折", PercentOff(), parse_params(PercentOff, {"percent_off": 50})),
        Offer("s1", "立减 3 元", AmountOff(), parse_params(AmountOff, {"amount_off": 300}), stackable=True),
        Offer(
            "s2",
            "B 一口价 1 元",
            FixedPrice(),
            parse_params(FixedPrice, {"price": 100}),
            compile_conditions([{"kind": "sku", "any_of": ["B"]}]),
            stackable=True,
        ),
    ]
    choice = choose(offers, lines, _context(lines), TODAY, 2_500)
    assert choice.applied == ("big",) and choice.discount == 1_250
    reasons = {o.code: o.reason_zh for o in choice.outcomes}
    assert reasons["s1"] == "未享受：已选择对顾客更优惠且不可同享的 “全场 5 折”（优惠 12.50 CNY）"
    cheaper = [dataclasses.replace(offers[0], params=parse_params(PercentOff, {"percent_off": 20})), *offers[1:]]
    again = choose(cheaper, lines, _context(lines), TODAY, 2_500)
    assert again.applied == ("s1", "s2") and again.discount == 300 + 400
