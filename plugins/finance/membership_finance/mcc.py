"""Merchant category codes (MCC, 商户类别码): their names, the categories that earn no points, and
the program's multipliers per MCC or range of MCCs.

A card transaction's MCC comes in the sale's ``attributes`` (``"mcc": "5812"``). What it earns is
decided here, in this order:

1. an MCC on the program's **excluded** list (the pack's settings ``excluded_mccs``: single codes
   and ranges, by default what Chinese banks commonly leave out — utilities, cash and quasi-cash,
   wholesale, real estate and cars, insurance, government, schools and hospitals, charities,
   lottery) earns nothing;
2. otherwise the program's **rule** for the narrowest range that holds the MCC (a rule for 5812
   beats one for 5811-5814, which beats one for 5000-5999) multiplies the base points by its
   ``multiplier_pct`` (200: double; 50: half; 0: none);
3. otherwise the base points, as the kernel's points rules give them.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Annotated, Any

import msgspec

from membership.plugin import ProgramConfig, Reason, ValidationError, execute, fetch, fetch_one, new_id, use_case
from membership_finance.errors import MccRuleNotFound
from membership_finance.values import now

RANGE = re.compile(r"^\s*(\d{4})\s*(?:[-~～—]\s*(\d{4}))?\s*$")

# Names of the categories a bank's staff meet most (ISO 18245 and China UnionPay's MCC table).
NAMES: dict[str, tuple[str, str]] = {
    "1520": ("房地产开发", "Real estate development"),
    "3000-3299": ("航空公司", "Airlines"),
    "3501-3999": ("酒店（品牌）", "Hotels (brands)"),
    "4111": ("城市交通", "Commuter transport"),
    "4121": ("出租车、网约车", "Taxis and ride hailing"),
    "4511": ("航空公司、机票", "Airlines and air tickets"),
    "4722": ("旅行社", "Travel agencies"),
    "4814": ("通信服务", "Telecom services"),
    "4829": ("汇款", "Money transfers"),
    "4900": ("公共事业（水电煤气）", "Utilities"),
    "5013-5199": ("批发类商户", "Wholesale"),
    "5311": ("百货商店", "Department stores"),
    "5411": ("超市", "Supermarkets"),
    "5511": ("汽车销售", "Car dealers"),
    "5541": ("加油站", "Service stations"),
    "5541-5542": ("加油", "Fuel"),
    "5542": ("自助加油", "Automated fuel dispensers"),
    "5691": ("服装", "Clothing"),
    "5732": ("电器、数码", "Electronics"),
    "5811-5814": ("餐饮", "Dining"),
    "5812": ("餐馆", "Restaurants"),
    "5814": ("快餐", "Fast food"),
    "5912": ("药店", "Pharmacies"),
    "5933": ("典当行", "Pawn shops"),
    "5960": ("直销保险", "Direct marketing of insurance"),
    "5977": ("化妆品", "Cosmetics"),
    "5999": ("其他零售", "Other retail"),
    "6010": ("金融机构柜台取现", "Cash at a financial institution"),
    "6010-6012": ("金融机构（取现、金融服务）", "Financial institutions (cash, services)"),
    "6011": ("ATM 取现", "ATM cash withdrawal"),
    "6012": ("金融机构商品和服务", "Financial institution merchandise and services"),
    "6051": ("准现金（外币、旅行支票等）", "Quasi-cash"),
    "6211": ("证券", "Securities brokers"),
    "6300": ("保险", "Insurance"),
    "6513": ("房地产中介、物业", "Real estate agents and managers"),
    "6540": ("储值卡充值", "Stored-value card loads"),
    "7011": ("酒店、度假村", "Hotels and resorts"),
    "7832": ("电影院", "Cinemas"),
    "7995": ("彩票、博彩", "Lottery and betting"),
    "8062": ("医院", "Hospitals"),
    "8211-8299": ("学校、教育", "Schools and education"),
    "8398": ("慈善、社会公益", "Charities"),
    "8651": ("政治团体", "Political organisations"),
    "9211-9402": ("政府服务（缴税、罚款、规费等）", "Government (taxes, fines, fees)"),
}
DEFAULT_EXCLUDED = (
    "1520",
    "4829",
    "4900",
    "5013-5199",
    "5511",
    "5933",
    "5960",
    "6010-6012",
    "6051",
    "6211",
    "6300",
    "6513",
    "6540",
    "7995",
    "8062",
    "8211-8299",
    "8398",
    "8651",
    "9211-9402",
)


def parse_range(text: str, field: str = "mccs") -> tuple[int, int]:
    """``5812`` or ``5811-5814`` as (first, last) codes; a clear refusal otherwise."""
    found = RANGE.match(text or "")
    if not found:
        raise ValidationError(
            field=field,
            reason=Reason(
                f"{text!r} is not an MCC: 4 digits, or a range like 5811-5814",
                f"“{text}” 不是商户类别码：应为 4 位数字，或 5811-5814 这样的范围",
            ),
        )
    first = int(found[1])
    last = int(found[2] or found[1])
    if last < first:
        raise ValidationError(
            field=field,
            reason=Reason(f"{text!r}: the range must go upwards", f"“{text}”：范围应从小到大"),
        )
    return first, last


def range_text(first: int, last: int) -> str:
    """(first, last) as staff write it: ``5812`` or ``5811-5814``."""
    return f"{first:04d}" if first == last else f"{first:04d}-{last:04d}"


def name_of(first: int, last: int | None = None) -> tuple[str, str]:
    """The (Chinese, English) name of an MCC or range: its own, else the narrowest named range
    holding it, else just the code."""
    last = first if last is None else last
    own = NAMES.get(range_text(first, last))
    if own:
        return own
    holding = [
        (b - a, names) for text, names in NAMES.items() for a, b in [parse_range(text)] if a <= first and last <= b
    ]
    if holding:
        return min(holding, key=lambda item: item[0])[1]
    code = range_text(first, last)
    return f"商户类别 {code}", f"MCC {code}"


def excluded_ranges(entries: list[str]) -> list[tuple[int, int]]:
    """The excluded list of the settings as ranges."""
    return [parse_range(entry, "excluded_mccs") for entry in entries]


def check_mcc(value: str) -> int:
    """A sale's ``mcc`` attribute as a code; refused unless 4 digits."""
    if not re.fullmatch(r"\d{4}", value or ""):
        raise ValidationError(
            field="attributes.mcc",
            reason=Reason(f"{value!r} is not an MCC (4 digits)", f"“{value}” 不是商户类别码（应为 4 位数字）"),
        )
    return int(value)


class MccRuleTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A rule's name and its multiplier in percent of the base points (0 to 1000: 200 is double,
    0 earns nothing)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    multiplier_pct: Annotated[int, msgspec.Meta(ge=0, le=1000)]


@dataclasses.dataclass(frozen=True)
class MccRule:
    """A program's rule for an MCC or a range."""

    id: uuid.UUID
    first: int
    last: int
    name: str
    multiplier_pct: int
    updated_by: str
    updated_at: Any

    @property
    def mccs(self) -> str:
        """The range as staff write it."""
        return range_text(self.first, self.last)


def _rule(row: dict[str, Any]) -> MccRule:
    return MccRule(
        row["id"],
        int(row["mcc_from"]),
        int(row["mcc_to"]),
        row["name"],
        int(row["multiplier_pct"]),
        row["updated_by"],
        row["updated_at"],
    )


async def list_rules(program_id: uuid.UUID) -> list[MccRule]:
    """The program's MCC rules by range."""
    rows = await fetch("SELECT * FROM finance_mcc_rule WHERE program_id = {} ORDER BY mcc_from, mcc_to", program_id)
    return [_rule(row) for row in rows]


@use_case
async def save_rule(program_id: uuid.UUID, mccs: str, data: dict[str, Any], actor: str) -> MccRule:
    """Add the rule for ``mccs`` (``5812`` or ``5811-5814``) or change its name and multiplier."""
    first, last = parse_range(mccs)
    try:
        terms = msgspec.convert(data, MccRuleTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "rule", reason=reason) from None
    await execute(
        "INSERT INTO finance_mcc_rule (id, program_id, mcc_from, mcc_to, name, multiplier_pct, updated_by, updated_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (program_id, mcc_from, mcc_to) DO UPDATE SET"
        " name = excluded.name, multiplier_pct = excluded.multiplier_pct, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        new_id(),
        program_id,
        first,
        last,
        terms.name.strip(),
        terms.multiplier_pct,
        actor[:100],
        now(),
    )
    row = await fetch_one(
        "SELECT * FROM finance_mcc_rule WHERE program_id = {} AND mcc_from = {} AND mcc_to = {}",
        program_id,
        first,
        last,
    )
    return _rule(row)


@use_case
async def delete_rule(program_id: uuid.UUID, mccs: str) -> None:
    """Remove the rule for ``mccs``; ``MccRuleNotFound`` when there is none."""
    first, last = parse_range(mccs)
    found = await fetch(
        "DELETE FROM finance_mcc_rule WHERE program_id = {} AND mcc_from = {} AND mcc_to = {} RETURNING id",
        program_id,
        first,
        last,
    )
    if not found:
        raise MccRuleNotFound(mccs=range_text(first, last))


@dataclasses.dataclass(frozen=True)
class MccDecision:
    """What an MCC earns in a program: ``excluded`` (the excluded entry that holds it), or the
    ``rule`` of the narrowest range holding it, or neither (base points)."""

    mcc: int
    excluded: str | None = None
    rule: MccRule | None = None


async def decide(program: ProgramConfig, mcc: int, excluded: list[str]) -> MccDecision:
    """What ``mcc`` earns under the program's excluded list and rules (see the module's guide)."""
    for entry, (first, last) in zip(excluded, excluded_ranges(excluded), strict=True):
        if first <= mcc <= last:
            return MccDecision(mcc, excluded=entry)
    row = await fetch_one(
        "SELECT * FROM finance_mcc_rule WHERE program_id = {} AND mcc_from <= {} AND mcc_to >= {}"
        " ORDER BY mcc_to - mcc_from, mcc_from LIMIT 1",
        program.id,
        mcc,
        mcc,
    )
    return MccDecision(mcc, rule=_rule(row) if row else None)
