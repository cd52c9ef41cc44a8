"""Built-in kinds of rewards priced in points: a gift (a product given free, 赠品) and a discount
(a percentage as 折, or an amount off in yuan). They are registered through
``membership_register_reward_kinds`` like a pack's own (:mod:`membership.rewards.kinds`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from membership.errors import Reason, ValidationError
from membership.hookspecs import hookimpl
from membership.rewards.kinds import CouponTerms, RewardKind, RewardParams

MAX_MINOR = 100_000_000_000  # a billion yuan: as the ledger's amounts
Minor = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=MAX_MINOR)]


class GiftParams(RewardParams, frozen=True):
    """``sku``: the product given free (one unit of it in the sale)."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Gift(RewardKind):
    """A product given free (e.g. a drink for 300 points): a free-item coupon for one unit of
    ``sku``, taken off the sale that has it."""

    name, label_zh, label_en = "gift", "赠品", "gift"
    Params = GiftParams

    def describe(self, params: GiftParams) -> Reason:
        return Reason(f"free {params.sku}", f"赠送 {params.sku}")

    def coupon(self, params: GiftParams) -> CouponTerms:
        return CouponTerms("free_item", free_sku=params.sku)


class DiscountParams(RewardParams, frozen=True):
    """``percent_off`` (1–99: 20 is 8折) capped by ``max_off``, or ``amount_off`` minor units;
    usable from a purchase of ``min_spend``."""

    percent_off: Annotated[int, msgspec.Meta(ge=1, le=99)] | None = None
    amount_off: PositiveMinor | None = None
    max_off: PositiveMinor | None = None
    min_spend: Minor = 0

    def check(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValidationError(
                field="params.percent_off",
                reason=Reason(
                    "give percent_off or amount_off (one of them)", "请给出 percent_off 或 amount_off（二选一）"
                ),
            )
        if self.max_off is not None and self.percent_off is None:
            raise ValidationError(field="params.max_off", reason=Reason("only with percent_off", "仅用于 percent_off"))


class Discount(RewardKind):
    """A discount on the sale (e.g. 20 % off for 500 points): a percent-off or amount-off coupon."""

    name, label_zh, label_en = "discount", "折扣", "discount"
    Params = DiscountParams

    def describe(self, params: DiscountParams) -> Reason:
        if params.amount_off is not None:
            yuan = f"{params.amount_off // 100}.{params.amount_off % 100:02d}"
            en, zh = f"{yuan} off", f"立减 {yuan} 元"
        else:
            rate = 100 - params.percent_off
            shown = str(rate // 10) if rate % 10 == 0 else str(rate)
            en, zh = f"{params.percent_off}% off", f"{shown}折"
            if params.max_off is not None:
                cap = f"{params.max_off // 100}.{params.max_off % 100:02d}"
                en, zh = f"{en}, at most {cap}", f"{zh}，最多减 {cap} 元"
        if params.min_spend:
            spend = f"{params.min_spend // 100}.{params.min_spend % 100:02d}"
            en, zh = f"{en} from {spend}", f"满 {spend} 元可用，{zh}"
        return Reason(en, zh)

    def coupon(self, params: DiscountParams) -> CouponTerms:
        if params.amount_off is not None:
            return CouponTerms("amount_off", amount_off=params.amount_off, min_spend=params.min_spend)
        return CouponTerms(
            "percent_off", percent_off=params.percent_off, max_off=params.max_off, min_spend=params.min_spend
        )


BUILT_IN: tuple[type[RewardKind], ...] = (Gift, Discount)


@hookimpl(trylast=True)
def membership_register_reward_kinds() -> list[type[RewardKind]]:
    """A gift (a product given free) and a discount (percent or amount off)."""
    return list(BUILT_IN)
