"""Built-in conditions of points rules: lines by SKU, category, brand or label (limited to, or
excluding, lists of them), a minimum quantity of the rule's lines, and a code typed at the till.
They are registered through ``membership_register_rule_conditions`` like a pack's own
(:mod:`membership.ledger.conditions`)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from membership.errors import Reason, ValidationError
from membership.hookspecs import hookimpl
from membership.ledger.conditions import ConditionParams, LineCondition, OrderCondition, OrderFacts, RuleCondition
from membership.ledger.rules import LineInput

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
NameList = Annotated[list[Name], msgspec.Meta(max_length=500)]
TillCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class NameLists(ConditionParams, frozen=True):
    """``any_of``: the line must have one of these (empty: any line); ``none_of``: it must have
    none of them (an exclusion wins over ``any_of``)."""

    any_of: NameList = msgspec.field(default_factory=list)
    none_of: NameList = msgspec.field(default_factory=list)

    def check(self) -> None:
        if not (self.any_of or self.none_of):
            raise ValidationError(
                field="conditions",
                reason=Reason("give “any of” (any_of), “none of” (none_of) or both", "请填写“包含其一”“不包含”或两者"),
            )


class _Names(LineCondition):
    """Lines whose value of one field is (``any_of``) or is not (``none_of``) in lists."""

    Params = NameLists
    field: ClassVar[str] = ""
    # how the lists read: "{label} is …" / "{label}为 …" and "is not" / "不是"
    words: ClassVar[tuple[str, str, str, str]] = ("{label} is", "{label} is not", "{label}为", "{label}不是")

    def values(self, line: LineInput) -> tuple[str, ...]:
        """The line's values this condition compares (one; a line's labels are several)."""
        return (getattr(line, self.field),)

    def selects(self, params: NameLists, line: LineInput) -> bool:
        values = self.values(line)
        if params.none_of and any(value in params.none_of for value in values):
            return False
        return not params.any_of or any(value in params.any_of for value in values)

    def describe(self, params: NameLists) -> Reason:
        is_en, not_en, is_zh, not_zh = self.words
        en, zh = [], []
        for names, said_en, said_zh in ((params.any_of, is_en, is_zh), (params.none_of, not_en, not_zh)):
            if names:
                en.append(f"{said_en.format(label=self.label_en)} {' or '.join(names)}")
                zh.append(f"{said_zh.format(label=self.label_zh)} {'、'.join(names)}")
        return Reason(", ".join(en), "，".join(zh))


class Sku(_Names):
    """Lines by SKU (商品编码)."""

    name, label_zh, label_en, field = "sku", "商品编码", "SKU", "sku"


class Category(_Names):
    """Lines by category (品类)."""

    name, label_zh, label_en, field = "category", "品类", "category", "category"


class Brand(_Names):
    """Lines by brand (品牌)."""

    name, label_zh, label_en, field = "brand", "品牌", "brand", "brand"


class Label(_Names):
    """Lines by label (标签): a line carries several (a colour, "delivery"); ``any_of`` wants one
    of them among the line's, ``none_of`` none of them."""

    name, label_zh, label_en, field = "label", "标签", "label", "labels"
    words = ("labelled", "not labelled", "{label}含", "{label}不含")

    def values(self, line: LineInput) -> tuple[str, ...]:
        return line.labels


class Quantity(ConditionParams, frozen=True):
    """``quantity``: at least this many items."""

    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class MinQuantity(OrderCondition):
    """At least ``quantity`` items among the rule's lines (all lines when it selects none)."""

    name, label_zh, label_en = "min_quantity", "最低件数", "minimum quantity"
    Params = Quantity

    def check(self, params: Quantity, order: OrderFacts) -> Reason | None:
        items = sum(line.quantity for line in order.lines)
        if items >= params.quantity:
            return None
        return Reason(
            f"{items} items of the rule's lines, fewer than {params.quantity}",
            f"符合条件的商品共 {items} 件，不足 {params.quantity} 件",
        )

    def describe(self, params: Quantity) -> Reason:
        return Reason(f"at least {params.quantity} items", f"至少 {params.quantity} 件")


class Codes(ConditionParams, frozen=True):
    """``codes``: any one of them typed at the till (letters, digits, ``-`` and ``_``; case
    does not matter)."""

    codes: Annotated[list[TillCode], msgspec.Meta(min_length=1, max_length=50)]


class TypedCode(OrderCondition):
    """A code typed at the till for this sale (活动码): the rule earns only with one of its codes."""

    name, label_zh, label_en = "code", "活动码", "code typed at the till"
    Params = Codes

    def check(self, params: Codes, order: OrderFacts) -> Reason | None:
        if {code.upper() for code in params.codes} & set(order.context.codes):
            return None
        return Reason("needs its code typed at the till", "须在收银台输入活动码")

    def describe(self, params: Codes) -> Reason:
        return Reason("a code typed at the till", "收银台输入活动码")


BUILT_IN: tuple[type[RuleCondition], ...] = (Sku, Category, Brand, Label, MinQuantity, TypedCode)


@hookimpl(trylast=True)
def membership_register_rule_conditions() -> list[type[RuleCondition]]:
    """Lines by SKU, category, brand and label; a minimum quantity; a code typed at the till."""
    return list(BUILT_IN)
