"""Bodies several areas of the API share. Amounts and points are integers (minor units)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from membership.ledger.service import MAX_AMOUNT, Balances

Page = Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="Page number, from 1")]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=200, description="Items per page")]
Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Minor units (fen)")]
PositiveAmount = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT, description="Minor units (fen)")]
Points = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT, description="Whole points")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class BalancesOut(msgspec.Struct):
    """A member's balances: spendable points, points debt (≤ 0), stored value principal (minor
    units), growth (成长值); points pending their return window (待生效), and stored-value bonus
    (赠送金额: spent after the principal, never refunded as cash)."""

    points: int
    points_debt: int
    stored_value: int
    growth: int
    points_pending: int
    stored_value_bonus: int

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        """From the ledger's value."""
        return cls(
            balances.points,
            balances.points_debt,
            balances.stored_value,
            balances.growth,
            balances.points_pending,
            balances.stored_value_bonus,
        )


class AwardOut(msgspec.Struct):
    """Points one rule granted, and why."""

    rule: str
    points: int
    reason: str


BALANCES_EXAMPLE = {
    "points": 1280,
    "points_debt": 0,
    "stored_value": 5000,
    "growth": 1280,
    "points_pending": 120,
    "stored_value_bonus": 1000,
}
