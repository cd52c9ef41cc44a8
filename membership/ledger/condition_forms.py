"""A points rule's conditions as staff edit them (适用条件): one section per registered condition
kind — the built-in ones and a pack's alike — with a box to use it and its fields generated from
its ``Params`` (lists as text separated by 、 or commas, numbers with their unit). A rule holds at
most one condition of each kind this way; a rule given several of one kind through the API shows
them read out and keeps them as they are."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from membership.console.struct_forms import FormField, Label, convert, form_fields, read_form, typed_values
from membership.errors import MembershipError
from membership.ledger.conditions import condition_kinds

LABELS = {
    "any_of": Label("包含其一", "Any of", "多个用顿号或逗号分开；留空为不限。", "Separate several with commas."),
    "none_of": Label("不包含", "None of", "这些商品不计积分。", "Lines with these earn nothing from this rule."),
    "quantity": Label("至少", "At least", suffix=("件", "items")),
    "codes": Label(
        "活动码",
        "Codes",
        "顾客在收银台报出其中之一时，规则才生效。",
        "The rule applies only when one is typed at the till.",
    ),
}
Posted = Mapping[str, Sequence[str]]


@dataclasses.dataclass
class ConditionForm:
    """One condition kind in the rule form: its name, what staff call it, whether the rule uses
    it, its inputs and an error about it as a whole."""

    name: str
    title: str
    on: bool
    fields: list[FormField]
    error: str = ""


@dataclasses.dataclass
class ConditionDraft:
    """The conditions as the form shows them: stored (by kind), or as posted with their errors."""

    stored: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    on: set[str] | None = None  # as posted
    typed: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    errors: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


def editable(conditions: Sequence[dict[str, Any]]) -> bool:
    """Whether the form can show ``conditions``: at most one of each kind."""
    kinds = [condition["kind"] for condition in conditions]
    return len(set(kinds)) == len(kinds)


def draft_of(conditions: Sequence[dict[str, Any]]) -> ConditionDraft:
    """The form of a stored rule's conditions."""
    return ConditionDraft(stored={c["kind"]: {k: v for k, v in c.items() if k != "kind"} for c in conditions})


def condition_forms(draft: ConditionDraft, language_zh: bool, currency: str) -> list[ConditionForm]:
    """A section per registered condition kind, filled from ``draft``."""
    found = []
    for name, kind in condition_kinds().items():
        errors = draft.errors.get(name, {})
        on = name in draft.on if draft.on is not None else name in draft.stored
        fields = form_fields(
            kind.Params,
            draft.stored.get(name, {}),
            LABELS,
            prefix=f"c-{name}-",
            errors=errors,
            currency=currency,
            typed=draft.typed.get(name) if draft.on is not None else None,
        )
        title = kind.label_zh if language_zh else kind.label_en
        found.append(ConditionForm(name, title, on, fields, errors.get("form", "")))
    return found


def read_conditions(form: Posted, currency: str, error_text: Any) -> tuple[list[dict[str, Any]], ConditionDraft]:
    """The conditions the form posted, checked by their kinds (``error_text`` words a
    :class:`~membership.errors.MembershipError`), and the draft to show again."""
    draft = ConditionDraft(on=set())
    conditions = []
    for name, kind in condition_kinds().items():
        prefix = f"c-{name}-"
        draft.typed[name] = typed_values(form, kind.Params.__struct_fields__, prefix)
        if not any(value not in ("", "0") for value in form.get(f"c-{name}", [])):
            continue
        draft.on.add(name)
        values, errors = read_form(kind.Params, form, LABELS, prefix=prefix, currency=currency)
        checked = None
        if not errors:
            checked, errors = convert(kind.Params, values, LABELS, currency)
        if checked is not None:
            try:
                checked.check()
            except MembershipError as exc:
                errors = {"form": error_text(exc)}
        if errors:
            draft.errors[name] = errors
            continue
        conditions.append({"kind": name, **msgspec.to_builtins(checked)})
    return conditions, draft
