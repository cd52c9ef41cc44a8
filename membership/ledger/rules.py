"""The values points-rules hooks receive and return."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from membership.org.service import ProgramConfig

if TYPE_CHECKING:
    from membership.ledger.rulebook import MemberFacts, PointsRule


@dataclasses.dataclass(frozen=True)
class LineInput:
    """One sold line: amounts in minor units (fen), quantity in whole items; ``brand`` and
    ``labels`` (several per line: a colour, "delivery", "promo") for rules that select lines.

    ``unit_price`` is the listed price; ``member_price`` the lower price the member pays, when a
    ``membership_line_prices`` hook gave one (会员价; the kernel sets it, a till never sends it)."""

    sku: str
    quantity: int
    unit_price: int
    name: str = ""
    category: str = ""
    brand: str = ""
    labels: tuple[str, ...] = ()
    member_price: int | None = None

    @property
    def price(self) -> int:
        """The unit price the member pays: the member price when there is one, else the listed one."""
        return self.unit_price if self.member_price is None else self.member_price

    @property
    def amount(self) -> int:
        """Quantity times the price the member pays (:attr:`price`)."""
        return self.quantity * self.price

    @property
    def listed_amount(self) -> int:
        """Quantity times the listed unit price."""
        return self.quantity * self.unit_price


@dataclasses.dataclass(frozen=True)
class EarnContext:
    """A purchase being earned on (or simulated: ``sale_id`` is None then).

    ``earning_base`` is the amount that earns: the total minus what was paid with points (and
    minus stored value when the program says stored value does not earn). ``rules`` are the
    program's active points rules and ``facts`` what they need to know about the member; the
    kernel gathers both before the hooks run, so points-rules hooks stay synchronous (and can be
    wrapped). ``attributes`` are what the till said about the sale as a whole (a meal period, a
    service mode, the party size, a venue, a merchant category code), for a pack's rules.
    ``codes`` are the codes typed at the till for this sale (upper case, trimmed): a rule with a
    ``code`` condition earns only when one of its codes is among them.
    """

    program: ProgramConfig
    member_id: uuid.UUID
    store_id: uuid.UUID
    tier: str | None
    lines: tuple[LineInput, ...]
    total: int
    earning_base: int
    occurred_at: dt.datetime
    sale_id: uuid.UUID | None = None
    rules: tuple[PointsRule, ...] = ()
    facts: MemberFacts | None = None
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    codes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Award:
    """Points (or growth) one rule grants, with the rule's name and a human reason."""

    rule: str
    points: int
    reason: str


@dataclasses.dataclass(frozen=True)
class RedeemContext:
    """A redemption about to happen (gift exchange, or points paying part of a purchase)."""

    program: ProgramConfig
    member_id: uuid.UUID
    store_id: uuid.UUID | None
    points: int
    balance: int
    purpose: str


@dataclasses.dataclass(frozen=True)
class PointsExpiry:
    """When points earned at a moment expire; ``expires_at`` None means never."""

    expires_at: dt.datetime | None
