"""What a card transaction earns: points by merchant category code (MCC), instalments and bill
payments at their own rates, and velocity caps (积分风控) per cardholder per day and per month.

The till (the bank's card system) says what the transaction was in the sale's ``attributes``:
``mcc`` (``"5812"``) and ``txn_type`` — ``purchase`` (消费, the default), ``instalment`` (分期) or
``bill_payment`` (账单缴费). The kernel's points rules give the base points (``base_rate`` rules;
without rules its 1 point per yuan); this pack then, in the points hook's wrapper, after every
plugin answered:

1. **bill payments** earn ``bill_payment_pct`` % of the base points, whatever the payee's MCC;
2. an **excluded MCC** (:mod:`membership_finance.mcc`) earns nothing: every award of the sale is
   kept with 0 points and a reason saying why, so ``simulate`` shows it;
3. **instalments** earn ``instalment_pct`` % of the base points;
4. otherwise the **MCC rule** of the narrowest range holding the MCC multiplies the base points
   (above 100 %: an extra award of the difference; below: the base awards are cut);
5. **velocity caps**: the points the cardholder's purchases kept (after refunds) on the sale's
   local day and in its local month count against ``daily_cap`` and ``monthly_cap`` (all of a
   member's cards share them: a second card does not double the cap); points above a cap are taken
   from the last awards first, each cut award saying so. The kernel locks the member for the
   purchase before the hooks run, so two transactions of one cardholder at once see each other's
   points: the caps hold under concurrency (on PostgreSQL as on SQLite).

Rates round down to whole points. The kernel's own ``cap`` rules (per transaction, per day of
recording) still apply before this.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from membership.plugin import Award, EarnContext, Reason, ValidationError, fetch_one
from membership_finance.mcc import check_mcc, decide, name_of, parse_range, range_text
from membership_finance.settings import NAME, FinanceSettings, settings_of
from membership_finance.values import day_bounds, month_bounds, month_of

TXN_TYPES = {
    "purchase": ("消费", "purchase"),
    "instalment": ("分期", "instalment"),
    "bill_payment": ("账单缴费", "bill payment"),
}
NO_SALE = uuid.UUID(int=0)
TERMS_RULE = f"{NAME}:terms"


def _times(pct: int) -> str:
    whole, rest = divmod(pct, 100)
    return f"×{whole}" + (f".{rest:02d}".rstrip("0") if rest else "")


@dataclasses.dataclass(frozen=True)
class _Terms(Award):
    """What the pack decided about a sale before the base points are known (the wrapper applies
    it): the rate on the base points with its rule and words, or why it earns nothing, and how
    many points the caps leave (None: no cap)."""

    rate_pct: int = 100
    rate_rule: str = ""
    rate_zh: str = ""
    rate_en: str = ""
    excluded_zh: str = ""
    excluded_en: str = ""
    day_left: int | None = None
    month_left: int | None = None
    daily_cap: int = 0
    monthly_cap: int = 0


def transaction_type(attributes: Any) -> str:
    """The sale's ``txn_type`` attribute, checked (default ``purchase``)."""
    value = attributes.get("txn_type") or "purchase"
    if value not in TXN_TYPES:
        known = ", ".join(TXN_TYPES)
        raise ValidationError(
            field="attributes.txn_type",
            reason=Reason(f"{value!r}: one of {known}", f"“{value}” 不是交易类型，应为 {known} 之一"),
        )
    return value


async def _earned(context: EarnContext) -> tuple[int, int]:
    """Points the member's purchases kept (net of refunds) on the sale's local day and in its
    local month, this sale left out."""
    program = context.program
    day_start, day_end = day_bounds(program, context.occurred_at)
    month_start, month_end = month_bounds(program, month_of(program, context.occurred_at))
    row = await fetch_one(
        "SELECT COALESCE(SUM(CASE WHEN t.occurred_at >= {} AND t.occurred_at < {} THEN t.net ELSE 0 END), 0)"
        " AS today, COALESCE(SUM(t.net), 0) AS month FROM (SELECT s.occurred_at, s.points_earned"
        " - COALESCE((SELECT SUM(r.points_reversed) FROM sale_refund r"
        " WHERE r.program_id = s.program_id AND r.sale_id = s.id), 0) AS net"
        " FROM sale s WHERE s.member_id = {} AND s.program_id = {} AND s.occurred_at >= {} AND s.occurred_at < {}"
        " AND s.id <> {}) AS t",
        day_start,
        day_end,
        context.member_id,
        program.id,
        month_start,
        month_end,
        context.sale_id or NO_SALE,
    )
    return int(row["today"]), int(row["month"])


async def _rate(context: EarnContext, settings: FinanceSettings, txn: str) -> dict[str, Any]:
    """The rate (or the exclusion) of the sale, as fields of :class:`_Terms`."""
    if txn == "bill_payment":
        pct = settings.bill_payment_pct
        return {
            "rate_pct": pct,
            "rate_rule": f"{NAME}:bill_payment",
            "rate_zh": f"账单缴费按基础积分 {_times(pct)} 计",
            "rate_en": f"bill payment at {_times(pct)} of the base points",
        }
    mcc_text = context.attributes.get("mcc")
    decision = await decide(context.program, check_mcc(mcc_text), settings.excluded_mccs) if mcc_text else None
    if decision is not None and decision.excluded is not None:
        first, last = parse_range(decision.excluded)
        zh, en = name_of(decision.mcc)
        listed = range_text(first, last)
        return {
            "excluded_zh": f"MCC {mcc_text}（{zh}）属不积分商户类别 {listed}",
            "excluded_en": f"MCC {mcc_text} ({en}) is in the excluded categories {listed}",
        }
    if txn == "instalment":
        pct = settings.instalment_pct
        return {
            "rate_pct": pct,
            "rate_rule": f"{NAME}:instalment",
            "rate_zh": f"分期交易按基础积分 {_times(pct)} 计",
            "rate_en": f"instalment at {_times(pct)} of the base points",
        }
    if decision is not None and decision.rule is not None:
        rule = decision.rule
        return {
            "rate_pct": rule.multiplier_pct,
            "rate_rule": f"{NAME}:mcc-{rule.mccs}",
            "rate_zh": f"【{rule.name}】MCC {mcc_text} 按基础积分 {_times(rule.multiplier_pct)} 计",
            "rate_en": f"[{rule.name}] MCC {mcc_text} at {_times(rule.multiplier_pct)} of the base points",
        }
    return {}


async def terms(context: EarnContext) -> list[Award]:
    """The pack's decision about the sale, for the wrapper (:func:`priced`) to apply."""
    settings = settings_of(context.program)
    txn = transaction_type(context.attributes)
    fields = await _rate(context, settings, txn)
    if settings.daily_cap or settings.monthly_cap:
        today, month = await _earned(context)
        fields |= {
            "day_left": max(settings.daily_cap - today, 0) if settings.daily_cap else None,
            "month_left": max(settings.monthly_cap - month, 0) if settings.monthly_cap else None,
            "daily_cap": settings.daily_cap,
            "monthly_cap": settings.monthly_cap,
        }
    return [_Terms(TERMS_RULE, 0, "", **fields)]


def _noted(award: Award, points: int, zh: str, en: str) -> Award:
    return Award(
        award.rule, points, f"{award.reason} [{zh}：{award.points} → {points} / {en}: {award.points} → {points}]"
    )


def _trim(awards: list[Award], limit: int, zh: str, en: str) -> list[Award]:
    """``awards`` cut to ``limit`` points in all, the last first, each cut one noted."""
    excess = sum(award.points for award in awards) - limit
    kept: list[Award] = []
    for award in reversed(awards):
        cut = min(max(excess, 0), award.points)
        excess -= cut
        kept.append(_noted(award, award.points - cut, zh, en) if cut else award)
    return kept[::-1]


def _applied(context: EarnContext, found: _Terms, awards: list[Award]) -> list[Award]:
    if found.excluded_zh:
        zh, en = f"不积分：{found.excluded_zh}", f"no points: {found.excluded_en}"
        if not awards:
            return [Award(f"{NAME}:excluded", 0, f"{zh} / {en}")]
        return [Award(a.rule, 0, f"{a.reason} [{zh} / {en}]") for a in awards]
    base_rules = {rule.code for rule in context.rules if rule.kind == "base_rate"} or {"base"}
    base = sum(award.points for award in awards if award.rule in base_rules)
    pct = found.rate_pct
    if pct > 100 and base * (pct - 100) // 100:
        extra = base * (pct - 100) // 100
        awards = [*awards, Award(found.rate_rule, extra, f"{found.rate_zh}，多得 {extra} 积分 / {found.rate_en}")]
    elif pct < 100:
        cut = base - base * pct // 100
        base_awards = [award for award in awards if award.rule in base_rules]
        lowered = iter(_trim(base_awards, base - cut, found.rate_zh, found.rate_en))
        awards = [next(lowered) if award.rule in base_rules else award for award in awards]
    if found.day_left is not None:
        today = found.daily_cap - found.day_left
        awards = _trim(
            awards,
            found.day_left,
            f"每人每日积分上限 {found.daily_cap}（当日已得 {today}）",
            f"capped at {found.daily_cap} a day per cardholder ({today} earned that day)",
        )
    if found.month_left is not None:
        month = found.monthly_cap - found.month_left
        awards = _trim(
            awards,
            found.month_left,
            f"每人每月积分上限 {found.monthly_cap}（当月已得 {month}）",
            f"capped at {found.monthly_cap} a month per cardholder ({month} earned that month)",
        )
    return awards


def priced(context: EarnContext, results: list[list[Award]]) -> list[list[Award]]:
    """Every plugin's awards with the pack's decision applied (see the module's guide); as they
    were when the pack said nothing (another program's sale)."""
    found = next((a for awards in results for a in awards if isinstance(a, _Terms)), None)
    if found is None:
        return results
    awards = [a for found_awards in results for a in found_awards if not isinstance(a, _Terms)]
    return [_applied(context, found, awards)]
