"""Account kinds and the contra account each business event posts against."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Account kinds. Member kinds and ``gift_card`` (one per card) have a balance row; ``system.*``
    kinds are contra accounts."""

    POINTS = "points"
    POINTS_PENDING = "points_pending"  # earned, not spendable until the return window closes
    POINTS_DEBT = "points_debt"
    STORED_VALUE = "stored_value"  # principal: paid in, refundable as cash
    STORED_VALUE_BONUS = "stored_value_bonus"  # bonus of a top-up plan: spent last, never cash
    GROWTH = "growth"
    GIFT_CARD = "gift_card"  # one bearer gift card's balance (no member): apart from stored value
    POINTS_ISSUED = "system.points_issued"
    POINTS_REDEEMED = "system.points_redeemed"
    POINTS_EXPIRED = "system.points_expired"
    POINTS_ADJUSTED = "system.points_adjusted"
    STORED_VALUE_FUNDS = "system.stored_value_funds"
    STORED_VALUE_SPENT = "system.stored_value_spent"
    STORED_VALUE_BONUS_ISSUED = "system.stored_value_bonus_issued"
    GROWTH_ISSUED = "system.growth_issued"
    GIFT_CARD_SOLD = "system.gift_card_sold"
    GIFT_CARD_REDEEMED = "system.gift_card_redeemed"


MEMBER_KINDS = (
    Kind.POINTS,
    Kind.POINTS_PENDING,
    Kind.POINTS_DEBT,
    Kind.STORED_VALUE,
    Kind.STORED_VALUE_BONUS,
    Kind.GROWTH,
)
SYSTEM_KINDS = tuple(kind for kind in Kind if kind.startswith("system."))
