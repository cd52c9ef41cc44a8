"""Kinds of rewards (兑换品类型): what a reward priced in points gives, as data.

A reward's ``kind`` names a class registered through the ``membership_register_reward_kinds``
hook; the built-in kinds (:mod:`membership.builtin.rewards`: ``gift``, ``discount``) are
registered exactly as a pack registers its own. A kind says what its ``params`` are (a msgspec
Struct: unknown fields refused, limits as msgspec constraints, cross-field checks in
:meth:`RewardParams.check`), how the reward reads (:meth:`RewardKind.describe`) and which coupon a
redemption gives (:meth:`RewardKind.coupon`): the reward is delivered as a coupon of the coupon
engine (:mod:`membership.coupons`), so a discount bought with points is applied at the till like
any coupon, and a reward redeemed inside a sale is used by that sale.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Literal

import msgspec

from membership.errors import Reason, ValidationError


class RewardParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The fields of one kind of reward; unknown fields are refused."""

    def check(self) -> None:
        """Cross-field checks msgspec's per-field constraints cannot express (raise
        :class:`~membership.errors.ValidationError` with a :class:`~membership.errors.Reason`)."""


@dataclasses.dataclass(frozen=True)
class CouponTerms:
    """What the coupon a redemption gives takes off, as a coupon template says it
    (:mod:`membership.coupons.discounts`): ``amount_off`` minor units, ``percent_off`` % (capped by
    ``max_off``) or one unit of ``free_sku`` free; usable from a purchase of ``min_spend``."""

    kind: Literal["amount_off", "percent_off", "free_item"]
    amount_off: int = 0
    percent_off: int = 0
    max_off: int | None = None
    free_sku: str | None = None
    min_spend: int = 0


class RewardKind:
    """A kind of reward, as a plugin registers it: a unique ``name`` (what a reward's ``kind``
    says), what staff call it, its ``Params``, how a reward of it reads and the coupon it gives.

    Example (a pack's kind: a cash voucher, 代金券)::

        class VoucherParams(RewardParams, frozen=True):
            yuan: Annotated[int, msgspec.Meta(ge=1, le=1000, title="面额（元）")]

        class Voucher(RewardKind):
            name, label_zh, label_en = "voucher", "代金券", "cash voucher"
            Params = VoucherParams

            def coupon(self, params):
                return CouponTerms("amount_off", amount_off=params.yuan * 100)
    """

    name: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    label_en: ClassVar[str] = ""
    Params: ClassVar[type[RewardParams]] = RewardParams

    def describe(self, params: Any) -> Reason:
        """What the reward gives, in words (``赠送 DRINK-01`` / ``free DRINK-01``)."""
        return Reason(self.label_en, self.label_zh)

    def coupon(self, params: Any) -> CouponTerms:
        """The coupon a redemption of a reward with ``params`` gives."""
        raise NotImplementedError


def reward_kinds() -> dict[str, type[RewardKind]]:
    """The registered reward kinds by name (built-in and plugins')."""
    from membership.plugins import hooks  # the plugin manager imports this module's values

    return hooks().reward_kinds()


def kind_of(name: str, field: str = "kind") -> type[RewardKind]:
    """The registered kind ``name``; ``ValidationError`` on ``field`` naming the known ones."""
    kinds = reward_kinds()
    kind = kinds.get(name)
    if kind is None:
        known = ", ".join(kinds)
        raise ValidationError(
            field=field,
            reason=Reason(f"unknown reward kind {name!r}; known: {known}", f"未知的兑换品类型 “{name}”；可用：{known}"),
        )
    return kind


def parse_params(kind: type[RewardKind], data: Any, field: str = "params") -> Any:
    """``data`` as ``kind``'s params, checked; ``ValidationError`` names the field at fault
    (``params.percent_off``)."""
    try:
        params = msgspec.convert(data if data is not None else {}, kind.Params)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        missing = re.search(r"missing required field `(\w+)`", reason)
        if missing:  # named at the object; the field is the one missing
            path = f"{path}.{missing[1]}" if path else missing[1]
        raise ValidationError(field=f"{field}.{path}" if path else field, reason=reason) from None
    params.check()
    return params
