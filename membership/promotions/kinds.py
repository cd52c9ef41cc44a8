"""Kinds of promotions (促销类型): what a promotion takes off the lines it selects, as data.

A promotion's ``kind`` names a class registered through the ``membership_register_promotion_kinds``
hook; the built-in kinds (:mod:`membership.builtin.promotions`: ``percent_off``, ``amount_off``,
``fixed_price``, ``cheapest_item``, ``buy_n_get_m``) are registered exactly as a pack registers its
own. A kind says what its ``params`` are (a msgspec Struct: unknown fields refused, limits as
msgspec constraints, cross-field checks in :meth:`PromotionParams.check`), how it reads
(:meth:`PromotionKind.describe`) and what it takes off each selected line
(:meth:`PromotionKind.discounts`), computed on the lines' prices before any promotion: the kernel
caps each line at what it costs (:mod:`membership.promotions.choice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec

from membership.errors import Reason, ValidationError
from membership.ledger.rules import LineInput
from membership.rewards.kinds import parse_params

__all__ = ["PromotionKind", "PromotionParams", "kind_of", "parse_params", "promotion_kinds"]


class PromotionParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The fields of one kind of promotion; unknown fields are refused."""

    def check(self) -> None:
        """Cross-field checks msgspec's per-field constraints cannot express (raise
        :class:`~membership.errors.ValidationError` with a :class:`~membership.errors.Reason`)."""


class PromotionKind:
    """A kind of promotion, as a plugin registers it: a unique ``name`` (what a promotion's
    ``kind`` says), what staff call it, its ``Params``, how it reads and what it takes off.

    Example (a pack's kind: the second unit at half price, 第二件半价)::

        class SecondHalf(PromotionKind):
            name, label_zh, label_en = "second_half", "第二件半价", "second unit half price"

            def discounts(self, params, lines):
                return [line.quantity // 2 * line.price // 2 for line in lines]
    """

    name: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    label_en: ClassVar[str] = ""
    Params: ClassVar[type[PromotionParams]] = PromotionParams

    def describe(self, params: Any) -> Reason:
        """What the promotion takes off, in words (``打 8 折`` / ``20% off``)."""
        return Reason(self.label_en, self.label_zh)

    def discounts(self, params: Any, lines: Sequence[LineInput]) -> list[int]:
        """What the promotion takes off each of ``lines`` (the lines it selected, in the sale's
        order), in minor units, one whole number ≥ 0 per line; computed on the prices the member
        pays before promotions (:attr:`~membership.ledger.rules.LineInput.price`)."""
        raise NotImplementedError


def promotion_kinds() -> dict[str, type[PromotionKind]]:
    """The registered promotion kinds by name (built-in and plugins')."""
    from membership.plugins import hooks  # the plugin manager imports this module's values

    return hooks().promotion_kinds()


def kind_of(name: str, field: str = "kind") -> type[PromotionKind]:
    """The registered kind ``name``; ``ValidationError`` on ``field`` naming the known ones."""
    kinds = promotion_kinds()
    kind = kinds.get(name)
    if kind is None:
        known = ", ".join(kinds)
        raise ValidationError(
            field=field,
            reason=Reason(
                f"unknown promotion kind {name!r}; known: {known}", f"未知的促销类型 “{name}”；可用：{known}"
            ),
        )
    return kind
