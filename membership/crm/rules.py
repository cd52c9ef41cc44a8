"""A segment's rules as data (人群规则): a tree of groups and conditions, parsed and checked here,
compiled to SQL by :mod:`membership.crm.segment_sql`.

A definition is a group::

    {"match": "all", "conditions": [
        {"field": "spend", "op": "gte", "value": 50000, "days": 90},
        {"field": "tag", "op": "has_any", "value": ["咖啡"]},
        {"match": "any", "conditions": [
            {"field": "stage", "op": "in", "value": ["dormant", "churned"]},
            {"field": "rfm_r", "op": "lte", "value": 2}]}]}

``match`` is ``all``, ``any`` or ``none`` (none of them); an empty group matches every active
member. A condition names a ``field`` of :data:`FIELDS`, one of its ``ops``, a ``value`` of the
field's kind and, for the fields counted over a window, ``days`` (the last N days before the
moment the segment is evaluated). Amounts are minor units (fen).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any, Literal

from membership.errors import Reason, ValidationError

MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_VALUES = 200
MAX_DAYS = 3650
MAX_NUMBER = 10**13
STAGES = ("new", "active", "dormant", "churned")
GENDERS = ("male", "female", "unknown")
PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

ValueKind = Literal[
    "strings",
    "genders",
    "tiers",
    "stores",
    "range",
    "days",
    "none",
    "months",
    "scores",
    "stages",
    "segments",
    "purpose",
]
COMPARE = ("gte", "lte", "between")


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One field a condition may name: what staff call it, its operators, the kind of its value
    and whether it is counted over ``days``."""

    name: str
    label_zh: str
    label_en: str
    ops: tuple[str, ...]
    value: ValueKind
    window: bool = False
    unit: str = ""  # "fen", "times", "points", "years", "coupons"


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("gender", "性别", "Gender", ("in", "not_in"), "genders"),
        FieldSpec("age", "年龄", "Age", COMPARE, "range", unit="years"),
        FieldSpec("source_channel", "入会渠道", "Joined through", ("in", "not_in"), "strings"),
        FieldSpec("enrolled", "入会时间", "Enrolled", ("within_days", "not_within_days"), "days"),
        FieldSpec("tag", "标签", "Tags", ("has_any", "has_all", "has_none"), "strings"),
        FieldSpec("tier", "等级", "Tier", ("in", "not_in"), "tiers"),
        FieldSpec("enrolled_store", "入会门店", "Enrolled at store", ("in", "not_in"), "stores"),
        FieldSpec("bought_at_store", "消费门店", "Bought at store", ("in", "not_in"), "stores", window=True),
        FieldSpec("spend", "消费金额", "Spend", COMPARE, "range", window=True, unit="fen"),
        FieldSpec("visits", "消费次数", "Visits", COMPARE, "range", window=True, unit="times"),
        FieldSpec("points_earned", "获得积分", "Points earned", COMPARE, "range", window=True, unit="points"),
        FieldSpec("points_balance", "积分余额", "Points balance", COMPARE, "range", unit="points"),
        FieldSpec("last_purchase", "最近消费", "Last purchase", ("within_days", "not_within_days", "never"), "days"),
        FieldSpec("birthday_month", "生日月份", "Birthday month", ("in", "this_month", "next_month"), "months"),
        FieldSpec("rfm_r", "R 近度分", "R (recency) score", (*COMPARE, "in"), "scores"),
        FieldSpec("rfm_f", "F 频度分", "F (frequency) score", (*COMPARE, "in"), "scores"),
        FieldSpec("rfm_m", "M 额度分", "M (monetary) score", (*COMPARE, "in"), "scores"),
        FieldSpec("stage", "生命周期", "Lifecycle stage", ("in", "not_in"), "stages"),
        FieldSpec("coupons_redeemed", "用券次数", "Coupons used", COMPARE, "range", window=True, unit="coupons"),
        FieldSpec("coupons_held", "持有可用券", "Usable coupons held", COMPARE, "range", unit="coupons"),
        FieldSpec("segment", "属于人群", "In segment", ("in", "not_in"), "segments"),
        FieldSpec("consent", "授权", "Consent", ("granted", "not_granted"), "purpose"),
    )
}

OPS_ZH = {
    "in": "是",
    "not_in": "不是",
    "gte": "≥",
    "lte": "≤",
    "between": "介于",
    "has_any": "含任一",
    "has_all": "全部含有",
    "has_none": "都不含",
    "within_days": "在最近 N 天内",
    "not_within_days": "最近 N 天内没有",
    "never": "从未",
    "this_month": "在本月",
    "next_month": "在下月",
    "granted": "已同意",
    "not_granted": "未同意",
}
OPS_EN = {
    "in": "is",
    "not_in": "is not",
    "gte": "≥",
    "lte": "≤",
    "between": "between",
    "has_any": "has any of",
    "has_all": "has all of",
    "has_none": "has none of",
    "within_days": "within the last N days",
    "not_within_days": "not within the last N days",
    "never": "never",
    "this_month": "this month",
    "next_month": "next month",
    "granted": "granted",
    "not_granted": "not granted",
}


@dataclasses.dataclass(frozen=True)
class Condition:
    """One checked condition: ``value`` normalised (a list for list kinds, ``(low, high)`` for
    ranges, with ``None`` for an open end)."""

    field: str
    op: str
    value: Any
    days: int | None


@dataclasses.dataclass(frozen=True)
class Group:
    """``match`` (all, any, none) of ``conditions`` (conditions and groups)."""

    match: str
    conditions: tuple[Condition | Group, ...]

    def walk(self):
        """Every condition of the tree."""
        for item in self.conditions:
            if isinstance(item, Group):
                yield from item.walk()
            else:
                yield item


EVERYONE = Group("all", ())


def _refuse(path: str, en: str, zh: str) -> ValidationError:
    return ValidationError(field=path or "definition", reason=Reason(en, zh))


def parse_definition(raw: Any) -> Group:
    """``raw`` (decoded JSON) as a checked rule tree; ``ValidationError`` names the place at fault
    (``definition.conditions[1].value``) in English and Chinese."""
    return _group(raw, "definition", 1, [0])


def _group(raw: Any, path: str, depth: int, counted: list[int]) -> Group:
    if not isinstance(raw, dict):
        raise _refuse(path, "must be an object with match and conditions", "须为含 match 与 conditions 的对象")
    unknown = sorted(set(raw) - {"match", "conditions"})
    if unknown:
        raise _refuse(f"{path}.{unknown[0]}", "unknown key", "未知的键")
    match = raw.get("match", "all")
    if match not in ("all", "any", "none"):
        raise _refuse(
            f"{path}.match", "must be all, any or none", "须为 all（全部满足）、any（任一）或 none（都不满足）"
        )
    items = raw.get("conditions", [])
    if not isinstance(items, list):
        raise _refuse(f"{path}.conditions", "must be a list", "须为列表")
    parsed: list[Condition | Group] = []
    for i, item in enumerate(items):
        where = f"{path}.conditions[{i}]"
        if isinstance(item, dict) and ("match" in item or "conditions" in item):
            if depth >= MAX_DEPTH:
                raise _refuse(where, f"groups nest at most {MAX_DEPTH} deep", f"条件组最多嵌套 {MAX_DEPTH} 层")
            parsed.append(_group(item, where, depth + 1, counted))
        else:
            counted[0] += 1
            if counted[0] > MAX_CONDITIONS:
                raise _refuse(where, f"at most {MAX_CONDITIONS} conditions", f"最多 {MAX_CONDITIONS} 个条件")
            parsed.append(_condition(item, where))
    return Group(match, tuple(parsed))


def _condition(raw: Any, path: str) -> Condition:
    if not isinstance(raw, dict):
        raise _refuse(path, "must be an object with field, op and value", "须为含 field、op、value 的对象")
    unknown = sorted(set(raw) - {"field", "op", "value", "days"})
    if unknown:
        raise _refuse(f"{path}.{unknown[0]}", "unknown key", "未知的键")
    spec = FIELDS.get(raw.get("field")) if isinstance(raw.get("field"), str) else None
    if spec is None:
        raise _refuse(f"{path}.field", f"must be one of {', '.join(FIELDS)}", f"须为以下之一：{', '.join(FIELDS)}")
    op = raw.get("op")
    if op not in spec.ops:
        raise _refuse(
            f"{path}.op", f"{spec.name} takes {', '.join(spec.ops)}", f"“{spec.label_zh}”可用：{', '.join(spec.ops)}"
        )
    days = raw.get("days")
    if spec.window:
        if not _is_int(days) or not 1 <= days <= MAX_DAYS:
            raise _refuse(f"{path}.days", f"a number of days from 1 to {MAX_DAYS}", f"须为 1 到 {MAX_DAYS} 的天数")
    elif days is not None:
        raise _refuse(f"{path}.days", f"{spec.name} is not counted over days", f"“{spec.label_zh}”不按天数统计")
    value = _value(spec, op, raw.get("value"), f"{path}.value")
    return Condition(spec.name, op, value, days)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any, path: str, allowed: tuple[str, ...] | None = None, pattern: re.Pattern | None = None):
    if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
        raise _refuse(path, f"a list of 1 to {MAX_VALUES} values", f"须为 1 到 {MAX_VALUES} 个值的列表")
    for item in value:
        if not isinstance(item, str) or not 1 <= len(item) <= 64:
            raise _refuse(path, "each value is a text of 1 to 64 characters", "每个值须为 1 到 64 个字符的文本")
        if allowed is not None and item not in allowed:
            raise _refuse(
                path, f"{item!r} is not one of {', '.join(allowed)}", f"“{item}”不在可选值中：{'、'.join(allowed)}"
            )
        if pattern is not None and not pattern.match(item):
            raise _refuse(path, f"{item!r} is not a code", f"“{item}”不是有效的编码")
    return tuple(dict.fromkeys(value))


def _ints(value: Any, path: str, low: int, high: int) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(_is_int(v) and low <= v <= high for v in value):
        raise _refuse(path, f"a list of whole numbers from {low} to {high}", f"须为 {low} 到 {high} 的整数列表")
    return tuple(sorted(set(value)))


def _number(value: Any, path: str, low: int, high: int) -> int:
    if not _is_int(value) or not low <= value <= high:
        raise _refuse(path, f"a whole number from {low} to {high}", f"须为 {low} 到 {high} 的整数")
    return value


def _range(op: str, value: Any, path: str, low: int, high: int) -> tuple[int | None, int | None]:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _refuse(path, "two numbers: [from, to]", "须为两个数：[起, 止]")
        start, end = (_number(v, path, low, high) for v in value)
        if start > end:
            raise _refuse(path, "the first number is above the second", "起始值大于结束值")
        return start, end
    number = _number(value, path, low, high)
    return (number, None) if op == "gte" else (None, number)


def _value(spec: FieldSpec, op: str, value: Any, path: str) -> Any:
    kind = spec.value
    if op in ("never", "this_month", "next_month"):
        if value is not None:
            raise _refuse(path, f"{op} takes no value", f"“{OPS_ZH[op]}”不需要填写值")
        return None
    if kind == "range":
        return _range(op, value, path, 0, 200 if spec.name == "age" else MAX_NUMBER)
    if kind == "scores":
        return _ints(value, path, 1, 5) if op == "in" else _range(op, value, path, 1, 5)
    if kind == "days":
        return _number(value, path, 1, 36_500)
    if kind == "months":
        return _ints(value, path, 1, 12)
    if kind == "genders":
        return _strings(value, path, GENDERS)
    if kind == "stages":
        return _strings(value, path, STAGES)
    if kind == "tiers" or kind == "segments":
        return _strings(value, path, pattern=CODE)
    if kind == "stores":
        try:
            return tuple(dict.fromkeys(uuid.UUID(item) for item in _strings(value, path)))
        except ValueError:
            raise _refuse(path, "a list of store ids", "须为门店 id 列表") from None
    if kind == "purpose":
        if not isinstance(value, str) or not PURPOSE.match(value):
            raise _refuse(path, "a purpose such as marketing_sms", "须为授权用途，如 marketing_sms")
        return value
    return _strings(value, path)


def describe(group: Group, language: str = "zh") -> str:
    """The rules in a line a store manager reads (the segment list, a campaign's audience)."""
    parts = []
    for item in group.conditions:
        parts.append(f"({describe(item, language)})" if isinstance(item, Group) else _describe_one(item, language))
    joiner = {"all": (" 且 ", " and "), "any": (" 或 ", " or "), "none": (" 或 ", " or ")}[group.match]
    text = (joiner[0] if language == "zh" else joiner[1]).join(parts)
    if not parts:
        return "全部会员" if language == "zh" else "every member"
    if group.match == "none":
        return f"均不满足：{text}" if language == "zh" else f"none of: {text}"
    return text


VALUE_NAMES = {
    "male": ("男", "male"),
    "female": ("女", "female"),
    "unknown": ("未知", "unknown"),
    "new": ("新会员", "new"),
    "active": ("活跃", "active"),
    "dormant": ("沉睡", "dormant"),
    "churned": ("流失", "churned"),
}


def _describe_one(condition: Condition, language: str) -> str:
    spec = FIELDS[condition.field]
    zh = language == "zh"
    label = spec.label_zh if zh else spec.label_en
    op = (OPS_ZH if zh else OPS_EN)[condition.op]
    value = condition.value
    if spec.value in ("genders", "stages"):
        value = tuple(VALUE_NAMES[v][0 if zh else 1] for v in value)
    if isinstance(value, tuple) and len(value) == 2 and spec.value in ("range", "scores") and condition.op in COMPARE:
        value = [v for v in value if v is not None]
        if spec.unit == "fen":
            value = [f"¥{v / 100:,.2f}" for v in value]
    if isinstance(value, tuple | list):
        value = "、".join(map(str, value)) if zh else ", ".join(map(str, value))
    if condition.op in ("within_days", "not_within_days"):
        op = op.replace("N", str(value))
        value = ""
    window = ""
    if condition.days:
        window = f"（近 {condition.days} 天）" if zh else f" (last {condition.days} days)"
    return " ".join(part for part in (label + window, op, str(value) if value is not None else "") if part)


def to_json(group: Group) -> dict[str, Any]:
    """The tree as stored and answered (ranges as ``value`` the way they were given)."""
    items = []
    for item in group.conditions:
        if isinstance(item, Group):
            items.append(to_json(item))
            continue
        value: Any = item.value
        if item.op in COMPARE:
            low, high = value
            value = [low, high] if item.op == "between" else (low if item.op == "gte" else high)
        elif isinstance(value, tuple):
            value = [str(v) for v in value] if item.field in ("enrolled_store", "bought_at_store") else list(value)
        condition: dict[str, Any] = {"field": item.field, "op": item.op}
        if value is not None:
            condition["value"] = value
        if item.days is not None:
            condition["days"] = item.days
        items.append(condition)
    return {"match": group.match, "conditions": items}
