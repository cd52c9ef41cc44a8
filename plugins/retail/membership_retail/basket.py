"""Market-basket analysis (购物篮分析): which categories (or brands, or products) members buy
together, as rules "A → B" with their support, confidence and lift.

Over the member sales of the last ``days`` days that were not wholly refunded, each sale is a
basket of the distinct items on its lines (the category from the catalogue when the till sent
none). For items A and B:

* support = baskets with A and B / all baskets (how common the pair is);
* confidence = baskets with A and B / baskets with A (how often A's buyers also take B);
* lift = confidence / (baskets with B / all baskets) (above 1: A makes B likelier).

The counting is one set-based statement in the database; only the pairs seen together at least
``min_baskets`` times come back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, ClassVar

from membership.plugin import (
    ProgramConfig,
    Reason,
    Report,
    ReportResult,
    ValidationError,
    fetch,
    get_program,
    plugin_enabled,
)
from membership_retail.errors import RetailOff
from membership_retail.settings import NAME, settings_of

LEVELS = {"category": "品类", "brand": "品牌", "sku": "商品"}


@dataclasses.dataclass(frozen=True)
class BasketRule:
    """A rule A → B and its measures (ratios; counts are whole baskets)."""

    antecedent: str
    consequent: str
    together: int
    with_antecedent: int
    with_consequent: int
    baskets: int

    @property
    def support(self) -> float:
        """Share of all baskets holding both."""
        return self.together / self.baskets

    @property
    def confidence(self) -> float:
        """Share of the baskets with the antecedent that hold the consequent too."""
        return self.together / self.with_antecedent

    @property
    def lift(self) -> float:
        """Confidence over the consequent's own share of baskets."""
        return self.together * self.baskets / (self.with_antecedent * self.with_consequent)


@dataclasses.dataclass(frozen=True)
class Basket:
    """The analysis: how many baskets it looked at, and the rules, strongest lift first."""

    baskets: int
    rules: list[BasketRule]
    days: int
    level: str


def _item(level: str) -> str:
    if level == "category":
        return "COALESCE(NULLIF(l.category, ''), p.category, '')"
    if level == "brand":
        return "COALESCE(NULLIF(l.brand, ''), p.brand, '')"
    return "l.sku"


async def basket_rules(
    program: ProgramConfig,
    now: dt.datetime,
    days: int | None = None,
    level: str = "category",
    min_baskets: int | None = None,
    limit: int = 50,
) -> Basket:
    """The basket analysis of the program (see the module); ``days`` and ``min_baskets`` default
    to the program's settings."""
    if level not in LEVELS:
        raise ValidationError(field="level", reason=Reason("category, brand or sku", "只能是 category、brand 或 sku"))
    settings = settings_of(program)
    days = days or settings.basket_days
    min_baskets = min_baskets or settings.basket_min_baskets
    if not 1 <= days <= 730 or min_baskets < 1 or not 1 <= limit <= 500:
        raise ValidationError(
            field="days", reason=Reason("days 1 to 730, min_baskets ≥ 1, limit 1 to 500", "天数 1–730，最少单数 ≥ 1")
        )
    rows = await fetch(
        f"WITH basket AS (SELECT DISTINCT s.id AS sale_id, {_item(level)} AS item"
        " FROM sale s JOIN sale_line l ON l.program_id = s.program_id AND l.sale_id = s.id"
        " LEFT JOIN retail_product p ON p.program_id = s.program_id AND p.sku = l.sku"
        " WHERE s.program_id = {} AND s.occurred_at >= {} AND s.occurred_at < {} AND s.status <> 'refunded'),"
        " items AS (SELECT item, COUNT(*) AS n FROM basket WHERE item <> '' GROUP BY item),"
        " total AS (SELECT COUNT(DISTINCT sale_id) AS n FROM basket),"
        " pairs AS (SELECT a.item AS a, b.item AS b, COUNT(*) AS n FROM basket a"
        " JOIN basket b ON b.sale_id = a.sale_id AND b.item <> a.item"
        " WHERE a.item <> '' AND b.item <> '' GROUP BY a.item, b.item HAVING COUNT(*) >= {})"
        " SELECT pairs.a, pairs.b, pairs.n AS together, ia.n AS with_a, ib.n AS with_b, total.n AS baskets"
        " FROM pairs JOIN items ia ON ia.item = pairs.a JOIN items ib ON ib.item = pairs.b CROSS JOIN total"
        " ORDER BY 1.0 * pairs.n * total.n / (ia.n * ib.n) DESC, pairs.n DESC, pairs.a, pairs.b LIMIT {}",
        program.id,
        now - dt.timedelta(days=days),
        now,
        min_baskets,
        limit,
    )
    total = await fetch(
        "SELECT COUNT(*) AS n FROM sale WHERE program_id = {} AND occurred_at >= {} AND occurred_at < {}"
        " AND status <> 'refunded'",
        program.id,
        now - dt.timedelta(days=days),
        now,
    )
    rules = [
        BasketRule(
            row["a"], row["b"], int(row["together"]), int(row["with_a"]), int(row["with_b"]), int(row["baskets"])
        )
        for row in rows
    ]
    return Basket(int(total[0]["n"]), rules, days, level)


def as_rows(basket: Basket) -> list[dict[str, Any]]:
    """The rules as the report, the API and the chart show them: percentages with one decimal,
    lift with two."""
    return [
        {
            "antecedent": rule.antecedent,
            "consequent": rule.consequent,
            "baskets_together": rule.together,
            "support_pct": round(100 * rule.support, 1),
            "confidence_pct": round(100 * rule.confidence, 1),
            "lift": round(rule.lift, 2),
        }
        for rule in basket.rules
    ]


class BasketReport(Report):
    """购物篮分析 — categories bought together, with support, confidence and lift. Params: ``days``,
    ``level`` (``category``, ``brand`` or ``sku``), ``min_baskets``, ``limit``."""

    name: ClassVar[str] = "retail_basket"
    title_zh: ClassVar[str] = "购物篮分析（关联购买）"
    title_en: ClassVar[str] = "Market basket (bought together)"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """The rules of the program's baskets; refused where the pack is off."""
        program = await get_program(program_id)
        if not plugin_enabled(program, NAME):
            raise RetailOff()

        def number(key: str) -> int | None:
            value = params.get(key)
            try:
                return int(value) if value not in (None, "") else None
            except (TypeError, ValueError):
                raise ValidationError(field=key, reason=Reason("a whole number", "须为整数")) from None

        basket = await basket_rules(
            program,
            dt.datetime.now(dt.UTC),
            number("days"),
            str(params.get("level") or "category"),
            number("min_baskets"),
            number("limit") or 50,
        )
        columns = ["antecedent", "consequent", "baskets_together", "support_pct", "confidence_pct", "lift"]
        return ReportResult(columns, [[row[c] for c in columns] for row in as_rows(basket)])
