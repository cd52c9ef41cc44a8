"""Conditions of points rules (规则条件): which lines a rule counts, and whether it applies.

A rule's ``conditions`` are data, one object per condition::

    [{"kind": "category", "any_of": ["饮品"]}, {"kind": "label", "none_of": ["外送"]},
     {"kind": "min_quantity", "quantity": 2}, {"kind": "code", "codes": ["SPRING"]}]

Each ``kind`` is a class registered through the ``membership_register_rule_conditions`` hook: the
built-in kinds (:mod:`membership.builtin.conditions`) are registered exactly as a pack registers
its own. There are two sorts:

* a :class:`LineCondition` says whether it selects a sold line (:meth:`LineCondition.selects`).
  A rule counts only the lines every one of its line conditions selects, and does not apply when
  no line is left;
* an :class:`OrderCondition` looks at the whole purchase and the lines the rule selected
  (:meth:`OrderCondition.check`) and says why it does not hold, or None when it holds.

Each describes itself in Chinese and English (:meth:`RuleCondition.describe`), so ``simulate``
says why a rule did not apply. A condition's fields besides ``kind`` are its ``Params`` (a msgspec
Struct: unknown fields are refused, limits are msgspec constraints, cross-field checks in
:meth:`ConditionParams.check`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec

from membership.errors import Reason, ValidationError
from membership.ledger.rules import EarnContext, LineInput

MAX_CONDITIONS = 20


class ConditionParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The fields of one condition besides its ``kind``; unknown fields are refused."""

    def check(self) -> None:
        """Cross-field checks msgspec's per-field constraints cannot express (raise
        :class:`~membership.errors.ValidationError` with a :class:`~membership.errors.Reason`)."""


@dataclasses.dataclass(frozen=True)
class OrderFacts:
    """What an order condition sees: the purchase, the lines the rule selected (all of them
    when it has no line conditions) and the program's local date."""

    context: EarnContext
    lines: tuple[LineInput, ...]
    today: dt.date


class RuleCondition:
    """A kind of condition, as a plugin registers it: a unique ``name`` (what ``kind`` says in
    the rule), what staff call it, its ``Params`` and how it reads (:meth:`describe`)."""

    name: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    label_en: ClassVar[str] = ""
    Params: ClassVar[type[ConditionParams]] = ConditionParams

    def describe(self, params: Any) -> Reason:
        """The condition in words (``品类为 饮品`` / ``category is 饮品``), for ``simulate``."""
        return Reason(self.label_en, self.label_zh)


class LineCondition(RuleCondition):
    """A condition on each sold line: the rule counts the lines it selects.

    Example (a pack's condition: lines sold by weight)::

        class ByWeight(LineCondition):
            name, label_zh, label_en = "by_weight", "称重商品", "sold by weight"

            def selects(self, params, line):
                return "weighed" in line.labels
    """

    def selects(self, params: Any, line: LineInput) -> bool:
        """Whether the rule counts ``line``."""
        raise NotImplementedError


class OrderCondition(RuleCondition):
    """A condition on the whole purchase.

    Example (a pack's condition: dine-in only)::

        class DineIn(OrderCondition):
            name, label_zh, label_en = "dine_in", "堂食", "dine-in"

            def check(self, params, order):
                if order.context.attributes.get("service_mode") != "dine_in":
                    return Reason("only for dine-in", "仅限堂食")
                return None
    """

    def check(self, params: Any, order: OrderFacts) -> Reason | None:
        """Why the condition does not hold for ``order``, or None when it holds."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Condition:
    """One condition of a rule, ready to evaluate: its kind and its params."""

    kind: RuleCondition
    params: Any

    def describe(self) -> Reason:
        """The condition in words."""
        return self.kind.describe(self.params)


def condition_kinds() -> dict[str, type[RuleCondition]]:
    """The registered condition kinds by name (built-in and plugins')."""
    from membership.plugins import hooks  # the plugin manager imports the ledger's values

    return hooks().rule_conditions()


def _params(kind: type[RuleCondition], item: dict[str, Any], field: str) -> Any:
    data = {key: value for key, value in item.items() if key != "kind"}
    try:
        params = msgspec.convert(data, kind.Params)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        raise ValidationError(field=f"{field}.{path}" if path else field, reason=reason) from None
    params.check()
    return params


def parse_conditions(data: Any) -> list[dict[str, Any]]:
    """Validated conditions as they are stored (``kind`` first, then the params as given);
    ``ValidationError`` names the condition at fault (``conditions[2].any_of``)."""
    if not isinstance(data, list):
        raise ValidationError(field="conditions", reason=Reason("a list of conditions", "应为条件列表"))
    if len(data) > MAX_CONDITIONS:
        raise ValidationError(
            field="conditions", reason=Reason(f"at most {MAX_CONDITIONS}", f"最多 {MAX_CONDITIONS} 个条件")
        )
    kinds = condition_kinds()
    parsed = []
    for number, item in enumerate(data, 1):
        field = f"conditions[{number}]"
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise ValidationError(field=field, reason=Reason('an object with a "kind"', "应为带有 kind 的对象"))
        kind = kinds.get(item["kind"])
        if kind is None:
            known = ", ".join(kinds)
            raise ValidationError(
                field=f"{field}.kind",
                reason=Reason(
                    f"unknown condition {item['kind']!r}; known: {known}", f"未知的条件 “{item['kind']}”；可用：{known}"
                ),
            )
        params = _params(kind, item, field)
        parsed.append({"kind": kind.name, **msgspec.to_builtins(params)})
    return parsed


def compile_conditions(data: Sequence[dict[str, Any]]) -> list[Condition] | Reason:
    """A rule's stored conditions, ready to evaluate; a :class:`Reason` (the rule does not
    apply) when one names a kind no plugin registers now (its plugin was removed) or no longer
    fits its kind's params."""
    kinds = condition_kinds()
    compiled = []
    for item in data:
        kind = kinds.get(item["kind"])
        if kind is None:
            return Reason(
                f"condition {item['kind']!r} is not available (its plugin is not installed)",
                f"条件 “{item['kind']}” 不可用（提供它的插件未安装）",
            )
        try:
            params = _params(kind, item, "conditions")
        except ValidationError:  # its plugin changed what the condition takes since the rule was saved
            return Reason(
                f"condition {item['kind']!r} no longer fits its kind; save the rule again",
                f"条件 “{item['kind']}” 与其类型不再相符，请重新保存该规则",
            )
        compiled.append(Condition(kind(), params))
    return compiled


def selected_lines(conditions: Sequence[Condition], lines: Sequence[LineInput]) -> tuple[int, ...]:
    """The indexes of the lines every line condition selects (all lines when there is none)."""
    tests = [c for c in conditions if isinstance(c.kind, LineCondition)]
    return tuple(i for i, line in enumerate(lines) if all(c.kind.selects(c.params, line) for c in tests))


def line_conditions_text(conditions: Sequence[Condition]) -> Reason:
    """The line conditions in words, joined (``品类为 饮品，标签不含 外送``)."""
    described = [c.describe() for c in conditions if isinstance(c.kind, LineCondition)]
    return Reason("; ".join(r.en for r in described), "，".join(r.zh for r in described))


def order_refusal(conditions: Sequence[Condition], order: OrderFacts) -> Reason | None:
    """Why the first order condition that does not hold fails, or None when all hold."""
    for condition in conditions:
        if isinstance(condition.kind, OrderCondition):
            refusal = condition.kind.check(condition.params, order)
            if refusal is not None:
                return refusal
    return None
