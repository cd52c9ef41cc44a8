"""Built-in kinds of promotions at the till: a percentage off (staff type it as 折), an amount
off, a fixed price per unit, the cheapest item free or discounted, and buy N get M. They are
registered through ``membership_register_promotion_kinds`` like a pack's own
(:mod:`membership.promotions.kinds`). Every amount is in minor units (fen); percentages are
whole numbers and results are rounded down, so a discount never exceeds what it computes on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec

from membership.coupons.discounts import money
from membership.errors import Reason, ValidationError
from membership.hookspecs import hookimpl
from membership.ledger.rules import LineInput
from membership.promotions.kinds import PromotionKind, PromotionParams

MAX_MINOR = 100_000_000_000  # a billion yuan: as the ledger's amounts
Minor = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=MAX_MINOR)]
Percent = Annotated[int, msgspec.Meta(ge=1, le=100)]


def _zhe(percent_off: int) -> str:
    """20 (% off) as staff say it: ``8 折``; 15 → ``8.5 折``; 100 → ``免费``."""
    if percent_off >= 100:
        return "免费"
    tenths = 100 - percent_off
    return f"{tenths // 10} 折" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10} 折"


def _off(percent_off: int) -> Reason:
    """``20% off`` / ``8 折``, or ``free`` / ``免费``."""
    return Reason("free" if percent_off >= 100 else f"{percent_off}% off", _zhe(percent_off))


class PercentParams(PromotionParams, frozen=True):
    """``percent_off`` (1–99; 20 is 8折) on each selected line, the whole capped by ``max_off``."""

    percent_off: Annotated[int, msgspec.Meta(ge=1, le=99)]
    max_off: PositiveMinor | None = None


class PercentOff(PromotionKind):
    """A percentage off the selected lines (打折), e.g. 饮品 8 折, at most ``max_off``."""

    name, label_zh, label_en = "percent_off", "打折", "percent off"
    Params = PercentParams

    def describe(self, params: PercentParams) -> Reason:
        off = _off(params.percent_off)
        if params.max_off is None:
            return Reason(off.en, f"打 {off.zh}")
        cap = money(params.max_off)
        return Reason(f"{off.en}, at most {cap}", f"打 {off.zh}，最多优惠 {cap}")

    def discounts(self, params: PercentParams, lines: Sequence[LineInput]) -> list[int]:
        room = params.max_off
        out = []
        for line in lines:
            off = line.amount * params.percent_off // 100
            if room is not None:
                off = min(off, room)
                room -= off
            out.append(off)
        return out


class AmountParams(PromotionParams, frozen=True):
    """``amount_off`` minor units off the selected lines together (once per sale)."""

    amount_off: PositiveMinor


class AmountOff(PromotionKind):
    """An amount off the selected lines (立减), e.g. 满 100 减 20: spread over them in proportion
    to their amounts (the rest of the division to the first lines), never more than they cost."""

    name, label_zh, label_en = "amount_off", "立减", "amount off"
    Params = AmountParams

    def describe(self, params: AmountParams) -> Reason:
        return Reason(f"{money(params.amount_off)} off", f"立减 {money(params.amount_off)}")

    def discounts(self, params: AmountParams, lines: Sequence[LineInput]) -> list[int]:
        total = sum(line.amount for line in lines)
        off = min(params.amount_off, total)
        if not total:
            return [0 for _ in lines]
        shares = [off * line.amount // total for line in lines]
        rest = off - sum(shares)
        for i, line in enumerate(lines):
            extra = min(rest, line.amount - shares[i])
            shares[i] += extra
            rest -= extra
        return shares


class FixedPriceParams(PromotionParams, frozen=True):
    """``price``: what one unit of a selected line costs (minor units)."""

    price: Minor


class FixedPrice(PromotionKind):
    """A fixed price per unit of the selected lines (一口价), e.g. 任意蛋糕 15 元; a line already
    cheaper keeps its price."""

    name, label_zh, label_en = "fixed_price", "一口价", "fixed price"
    Params = FixedPriceParams

    def describe(self, params: FixedPriceParams) -> Reason:
        return Reason(f"{money(params.price)} a unit", f"每件 {money(params.price)}")

    def discounts(self, params: FixedPriceParams, lines: Sequence[LineInput]) -> list[int]:
        return [line.quantity * max(line.price - params.price, 0) for line in lines]


class CheapestParams(PromotionParams, frozen=True):
    """``percent_off`` of the cheapest selected unit (100: free)."""

    percent_off: Percent = 100


class CheapestItem(PromotionKind):
    """The cheapest selected unit free or discounted (最低价商品免费 / 打折); on a tie, the first
    line's."""

    name, label_zh, label_en = "cheapest_item", "最低价商品优惠", "cheapest item"
    Params = CheapestParams

    def describe(self, params: CheapestParams) -> Reason:
        off = _off(params.percent_off)
        return Reason(f"the cheapest item {off.en}", f"最低价的一件{off.zh}")

    def discounts(self, params: CheapestParams, lines: Sequence[LineInput]) -> list[int]:
        out = [0 for _ in lines]
        if lines:
            cheapest = min(range(len(lines)), key=lambda i: (lines[i].price, i))
            out[cheapest] = lines[cheapest].price * params.percent_off // 100
        return out


class BuyGetParams(PromotionParams, frozen=True):
    """Buy ``buy`` get ``get`` (free, or ``percent_off``) among the selected units."""

    buy: Annotated[int, msgspec.Meta(ge=1, le=100)]
    get: Annotated[int, msgspec.Meta(ge=1, le=100)]
    percent_off: Percent = 100

    def check(self) -> None:
        if self.buy + self.get > 100:
            raise ValidationError(field="params.get", reason=Reason("buy + get at most 100", "买与送合计最多 100 件"))


class BuyGet(PromotionKind):
    """Buy N get M (买 N 送 M): the selected units from the dearest down, in groups of N + M; the
    M cheapest of each full group are free (or ``percent_off``)."""

    name, label_zh, label_en = "buy_n_get_m", "买 N 送 M", "buy N get M"
    Params = BuyGetParams

    def describe(self, params: BuyGetParams) -> Reason:
        off = _off(params.percent_off)
        if params.percent_off >= 100:
            return Reason(f"buy {params.buy} get {params.get} free", f"买 {params.buy} 送 {params.get}")
        return Reason(
            f"buy {params.buy}, {params.get} more at {off.en}", f"买 {params.buy} 件，再 {params.get} 件{off.zh}"
        )

    def discounts(self, params: BuyGetParams, lines: Sequence[LineInput]) -> list[int]:
        group = params.buy + params.get
        limit = sum(line.quantity for line in lines) // group * group  # units in full groups

        def given(n: int) -> int:  # how many of the first n units (dearest first) are given
            return n // group * params.get + max(0, n % group - params.buy)

        out = [0 for _ in lines]
        start = 0
        for i in sorted(range(len(lines)), key=lambda i: (-lines[i].price, i)):
            end = min(start + lines[i].quantity, limit)
            if end > start:
                out[i] = (given(end) - given(start)) * lines[i].price * params.percent_off // 100
            start += lines[i].quantity
        return out


BUILT_IN: tuple[type[PromotionKind], ...] = (PercentOff, AmountOff, FixedPrice, CheapestItem, BuyGet)


@hookimpl(trylast=True)
def membership_register_promotion_kinds() -> list[type[PromotionKind]]:
    """Percent off, amount off, fixed price, the cheapest item, buy N get M."""
    return list(BUILT_IN)
