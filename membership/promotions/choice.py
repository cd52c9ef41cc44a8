"""Which promotions a sale gets, and why: pure integer rules, tested on plain values.

The service reads the program's promotions as :class:`Offer` values (with what already rules one
out: its window, its store, a usage limit reached, its code not typed) and calls :func:`choose`.

1. Each offer that is not ruled out selects its lines (its line conditions: SKU, category,
   brand, label), checks its minimum amount (of the selected lines, at the prices the member
   pays) and its order conditions (minimum quantity, a code…), and says what its kind takes off
   each selected line (:meth:`~membership.promotions.kinds.PromotionKind.discounts`), computed on
   the prices before any promotion.
2. A combination is valid when it is one promotion, or only stackable ones. Its discount
   (:func:`combine`) gives each promotion, in the order of their codes, what it takes off each
   line, never more than is left of the line, and never more than ``room`` in all.
   The combination's discount can only grow with each promotion added, so the best one is either
   every stackable offer together or one non-stackable offer alone.
3. The combination with the largest discount wins; on a tie the one with fewer promotions, then
   the first by codes. Every offer gets a reason in Chinese and English: what it took off, or why
   it did not apply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from membership.coupons.discounts import money
from membership.errors import Reason, ValidationError
from membership.ledger.conditions import Condition, OrderFacts, line_conditions_text, order_refusal, selected_lines
from membership.ledger.rules import EarnContext, LineInput
from membership.promotions.kinds import PromotionKind


@dataclasses.dataclass(frozen=True)
class Offer:
    """A promotion as a sale sees it: ``conditions`` compiled (or the :class:`Reason` they cannot
    be), ``blocked`` why it is ruled out before its lines are looked at (None: it is not)."""

    code: str
    name: str
    kind: PromotionKind
    params: Any
    conditions: Sequence[Condition] | Reason = ()
    min_amount: int = 0
    stackable: bool = False
    blocked: Reason | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One promotion on a sale: whether it ``applied``, what it took off (minor units) and why."""

    code: str
    name: str
    kind: str
    applied: bool
    discount: int
    reason_zh: str
    reason_en: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """The promotions chosen for a sale (``applied``, in code order), every offer's outcome in
    the order given, and the whole discount."""

    discount: int
    applied: tuple[str, ...]
    outcomes: tuple[Outcome, ...]


def line_discounts(offer: Offer, lines: Sequence[LineInput], facts: OrderFacts) -> list[int] | Reason:
    """What ``offer`` takes off each line of the sale (0 for the lines it does not select), or
    why it does not apply."""
    if offer.blocked is not None:
        return offer.blocked
    if isinstance(offer.conditions, Reason):
        return offer.conditions
    chosen = selected_lines(offer.conditions, lines)
    if not chosen:
        which = line_conditions_text(offer.conditions)
        return Reason(f"no line is {which.en}", f"没有{which.zh}的商品")
    picked = tuple(lines[i] for i in chosen)
    amount = sum(line.amount for line in picked)
    if amount < offer.min_amount:
        return Reason(
            f"its lines come to {money(amount)}, less than {money(offer.min_amount)}",
            f"适用商品合计 {money(amount)}，未满 {money(offer.min_amount)}",
        )
    refusal = order_refusal(offer.conditions, dataclasses.replace(facts, lines=picked))
    if refusal is not None:
        return refusal
    offs = offer.kind.discounts(offer.params, picked)
    if len(offs) != len(picked) or any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in offs):
        raise ValidationError(
            field=f"promotion {offer.code!r}",
            reason=Reason(
                f"kind {offer.kind.name!r} must give one whole number ≥ 0 per line",
                f"促销类型 “{offer.kind.name}” 须为每行给出一个 ≥ 0 的整数",
            ),
        )
    out = [0 for _ in lines]
    for i, off in zip(chosen, offs, strict=True):
        out[i] = min(off, lines[i].amount)
    if not any(out):
        return Reason("takes nothing off these lines", "对这些商品没有优惠")
    return out


def combine(
    discounts: dict[str, list[int]], codes: Sequence[str], lines: Sequence[LineInput], room: int
) -> dict[str, int]:
    """What each of ``codes`` takes off when they apply together: in the order of their codes,
    each takes what it computed on a line, never more than is left of the line, nor more than
    ``room`` (what is left of the sale after coupons) in all."""
    left = [line.amount for line in lines]
    taken: dict[str, int] = {}
    for code in sorted(codes):
        total = 0
        for i, off in enumerate(discounts[code]):
            off = min(off, left[i], room - total)
            left[i] -= off
            total += off
        room -= total
        taken[code] = total
    return taken


def choose(
    offers: Sequence[Offer], lines: Sequence[LineInput], context: EarnContext, today: dt.date, room: int
) -> Choice:
    """The combination of ``offers`` best for the customer on ``lines``, with every offer's
    outcome and reason (rules 1–3 above). ``room``: the most promotions may take off in all."""
    facts = OrderFacts(context, tuple(lines), today)
    found = {offer.code: line_discounts(offer, lines, facts) for offer in offers}
    usable = {code: d for code, d in found.items() if not isinstance(d, Reason)}
    by_code = {offer.code: offer for offer in offers}
    stacked = tuple(code for code in usable if by_code[code].stackable)
    candidates = [(code,) for code in usable if not by_code[code].stackable]
    if stacked:
        candidates.append(stacked)
    best: tuple[tuple[int, int, tuple[str, ...]], dict[str, int]] | None = None
    for candidate in candidates:
        taken = {code: off for code, off in combine(usable, candidate, lines, room).items() if off}
        key = (-sum(taken.values()), len(taken), tuple(sorted(taken)))
        if taken and (best is None or key < best[0]):
            best = (key, taken)
    taken = best[1] if best else {}
    outcomes = []
    for offer in offers:
        verdict = found[offer.code]
        if offer.code in taken:
            said = offer.kind.describe(offer.params)
            off = money(taken[offer.code])
            reason = Reason(f"applied: {said.en}, {off} off", f"已享受：{said.zh}，优惠 {off}")
        elif isinstance(verdict, Reason):
            reason = Reason(f"not applied: {verdict.en}", f"未享受：{verdict.zh}")
        elif offer.stackable and any(by_code[c].stackable for c in taken):
            reason = Reason("not applied: nothing left to take off", "未享受：已无可优惠的金额")
        else:
            reason = _not_chosen(offer, taken, by_code)
        outcomes.append(
            Outcome(
                offer.code,
                offer.name,
                offer.kind.name,
                offer.code in taken,
                taken.get(offer.code, 0),
                reason.zh,
                reason.en,
            )
        )
    return Choice(sum(taken.values()), tuple(sorted(taken)), tuple(outcomes))


def _not_chosen(offer: Offer, taken: dict[str, int], by_code: dict[str, Offer]) -> Reason:
    """Why an offer that would apply on its own lost to the chosen combination."""
    names = "、".join(f"“{by_code[c].name}”" for c in sorted(taken))
    names_en = ", ".join(f"“{by_code[c].name}”" for c in sorted(taken))
    off = money(sum(taken.values()))
    if not offer.stackable:
        return Reason(
            f"not applied: it does not combine with other promotions, and {names_en} take {off} off,"
            " more for the customer",
            f"未享受：该活动不可与其他活动同享，已选择对顾客更优惠的 {names}（共优惠 {off}）",
        )
    return Reason(
        f"not applied: {names_en}, which does not combine with others, takes {off} off, more for the customer",
        f"未享受：已选择对顾客更优惠且不可同享的 {names}（优惠 {off}）",
    )
