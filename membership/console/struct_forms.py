"""Forms generated from msgspec Structs: a configuration type (a plugin's settings, a tier, a
points rule's parameters, a coupon template…) becomes labelled inputs, and the posted text
becomes typed values that the same Struct validates, with an error beside each input.

What staff read comes from :class:`Label` (Chinese and English, help, a unit, names of the
choices), given per field by the page; without one, ``msgspec.Meta(title=…, description=…)``
on the field (a plugin writes them in the staff's words, e.g. ``title="满几杯送一杯"``; its unit
as ``extra={"unit": "money"}``, so a plugin's settings in fen are typed in yuan), else the
field's name. Units: :data:`MONEY` (minor units, typed and shown in yuan), :data:`DISCOUNT`
(percent off, typed and shown as 折: 2 % off is 98折), :data:`MULTIPLIER` (percent, shown as
times: 200 is ×2), or a plain suffix (天, 积分).

Supported field types: ``int``, ``str``, ``bool``, ``datetime.date``, ``Literal[...]`` (a select),
``list[str]`` (comma or line separated), ``list[int]`` or ``list[uuid.UUID]`` (check boxes when the
label names the choices, else comma separated), ``list[datetime.date]`` (date pickers), each
optionally ``| None`` (an empty input is None).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from membership.console import field_names, i18n
from membership.errors import MembershipError, Reason, ValidationError, reason_zh
from membership.sales.amounts import amount_text, parse_amount

MONEY = "money"
DISCOUNT = "discount"
MULTIPLIER = "multiplier"
Posted = Mapping[str, Sequence[str]]
_BOUND = re.compile(r"Expected `(?:int|array|str)`(?: of length)? (>=|<=) (-?\d+)")


def is_zh() -> bool:
    """True when the page renders in Chinese."""
    return i18n.current_language().startswith("zh")


@dataclasses.dataclass(frozen=True)
class Label:
    """What staff read for one field: its name and help in Chinese and English, its unit
    (:data:`MONEY`, :data:`DISCOUNT`, :data:`MULTIPLIER` or ""), a plain suffix (``("天",
    "days")``) and the names of its choices (stored value → (Chinese, English))."""

    zh: str
    en: str
    help_zh: str = ""
    help_en: str = ""
    unit: str = ""
    suffix: tuple[str, str] = ("", "")
    choices: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    def name(self) -> str:
        """The label in the page's language."""
        return self.zh if is_zh() else self.en

    def help(self) -> str:
        """The help in the page's language."""
        return self.help_zh if is_zh() else self.help_en

    def choice(self, value: Any) -> str:
        """The name of a choice in the page's language (the value itself when unnamed)."""
        names = self.choices.get(str(value))
        return (names[0] if is_zh() else names[1]) if names else str(value)


Labels = Mapping[str, Label]


def setting_labels(fields: Iterable[Any]) -> dict[str, Label]:
    """Labels of a policy's parts as the settings page names them (its
    :class:`~membership.org.settings_form.Field` s, ``policy.part``), keyed by part; ``…_days``
    counted in days, ``…_months`` in months."""
    labels = {}
    for field in fields:
        part = field.name.partition(".")[2]
        suffix = (
            ("天", "days") if part.endswith("_days") else ("个月", "months") if part.endswith("_months") else ("", "")
        )
        choices = {choice.value: (choice.zh, choice.en) for choice in field.choices}
        labels[part] = Label(
            field.label[0], field.label[1], field.help[0], field.help[1], suffix=suffix, choices=choices
        )
    return labels


@dataclasses.dataclass(frozen=True)
class FormField:
    """One input. ``kind``: ``number``, ``decimal`` (money, 折, times), ``text``, ``checkbox``,
    ``select``, ``lines``, ``checks`` (several choices), ``date``, ``dates`` (several dates).
    ``name`` is the input's name (with the form's prefix), ``key`` the Struct's field;
    ``choices`` are (value, label) pairs; ``values`` the chosen values of ``checks``/``dates``."""

    name: str
    label: str
    help: str
    kind: str
    value: str
    checked: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    key: str = ""
    unit: str = ""
    values: tuple[str, ...] = ()
    error: str = ""
    required: bool = False


@dataclasses.dataclass(frozen=True)
class _Shape:
    """A field's type, unwrapped: the bare type, its Meta title, description and unit
    (``extra={"unit": …}``), optional."""

    bare: Any
    title: str
    description: str
    optional: bool
    unit: str = ""


def _unwrap(annotation: Any) -> _Shape:
    title = description = unit = ""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, msgspec.Meta):
                title, description = extra.title or title, extra.description or description
                unit = (extra.extra or {}).get("unit", unit)
        origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = _unwrap(args[0])
        optional = len(args) < len(typing.get_args(annotation))
        return _Shape(inner.bare, title or inner.title, description or inner.description, optional, unit or inner.unit)
    return _Shape(annotation, title, description, False, unit)


def _item(bare: Any) -> Any:
    """The bare type of a list's items."""
    return _unwrap(typing.get_args(bare)[0]).bare if typing.get_args(bare) else str


def _kind(bare: Any, label: Label | None) -> str:
    if bare is bool:
        return "checkbox"
    if bare is dt.date:
        return "date"
    if label is not None and label.unit in (MONEY, DISCOUNT, MULTIPLIER):
        return "decimal"
    if bare is int:
        return "number"
    if typing.get_origin(bare) is Literal:
        return "select"
    if typing.get_origin(bare) is list:
        item = _item(bare)
        if item is dt.date:
            return "dates"
        if label is not None and label.choices:
            return "checks"
        return "lines"
    if label is not None and label.choices:
        return "select"
    return "text"


def _choices(bare: Any, label: Label | None) -> tuple[tuple[str, str], ...]:
    if typing.get_origin(bare) is Literal:
        values = [str(choice) for choice in typing.get_args(bare)]
    elif label is not None and label.choices:
        values = list(label.choices)
    else:
        return ()
    return tuple((value, label.choice(value) if label else value) for value in values)


# --- units: stored integers <-> what staff type -------------------------------------------------


def _decimal(minor: int, places: int) -> str:
    return format(Decimal(minor).scaleb(-places).normalize(), "f")


def discount_text(percent_off: int) -> str:
    """A discount as the reader writes it: ``98折`` / ``9折`` in Chinese, ``2% off`` in English."""
    if not is_zh():
        return f"{percent_off}% off"
    if percent_off == 0:
        return "不打折"
    paid = 100 - percent_off
    if paid % 10 == 0:
        return f"{paid // 10}折"
    return f"{paid}折" if paid > 10 else f"{_decimal(paid, 1)}折"


def multiplier_text(percent: int) -> str:
    """A multiplier in percent as times: 200 → ``×2``, 150 → ``×1.5``."""
    return f"×{_decimal(percent, 2)}"


def _shown(value: Any, label: Label | None, currency: str) -> str:
    """A stored value as its input shows it."""
    if value is None:
        return ""
    unit = label.unit if label else ""
    if unit == MONEY:
        return amount_text(int(value), currency)
    if unit == DISCOUNT:
        if not is_zh():
            return str(value)
        if int(value) == 0:
            return ""
        paid = 100 - int(value)
        return str(paid // 10) if paid % 10 == 0 and paid else str(paid)
    if unit == MULTIPLIER:
        return _decimal(int(value), 2)
    return str(value)


class _Refused(ValueError):
    """Typed text that is not a value of its field (the message is the reader's)."""


def _said(en: str, zh: str) -> str:
    return zh if is_zh() else en


def _whole(text: str) -> int:
    cleaned = re.sub(r"[\s,，]", "", text)
    if not re.fullmatch(r"-?\d+", cleaned):
        raise _Refused(_said("a whole number, such as 30", "请填写整数，如 30"))
    return int(cleaned)


def _parse_discount(text: str) -> int:
    """Percent off from what was typed: in Chinese 折 (``9`` or ``9折`` is 90 % paid, ``95`` or
    ``9.5`` is 95 % paid, ``10`` is no discount, ``0`` is free); in English, percent off."""
    cleaned = text.replace("折", "").replace("%", "").replace("off", "").strip()
    if not is_zh():
        value = _whole(cleaned)
        if not 0 <= value <= 100:
            raise _Refused("0 to 100 percent off")
        return value
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise _Refused("请按“折”填写：9 = 九折，95 = 九五折，10 = 不打折") from None
    if number != number.to_integral_value():
        paid = number * 10
        if not (0 < number < 10 and paid == paid.to_integral_value()):
            raise _Refused("请按“折”填写：9.5 = 九五折，最多一位小数")
    elif 0 <= number <= 10:
        paid = number * 10
    elif number <= 100:
        paid = number
    else:
        raise _Refused("请按“折”填写：9 = 九折，95 = 九五折，10 = 不打折")
    return 100 - int(paid)


def _parse_multiplier(text: str) -> int:
    cleaned = text.replace("×", "").replace("倍", "").replace("x", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise _Refused(_said("times, such as 2 or 1.5", "请填写倍数，如 2 或 1.5")) from None
    percent = number * 100
    if percent != percent.to_integral_value() or percent < 0:
        raise _Refused(_said("times with at most 2 decimals, such as 1.25", "倍数最多两位小数，如 1.25"))
    return int(percent)


def _parse_money(text: str, currency: str) -> int:
    try:
        return parse_amount(text, currency, "amount", minimum=0)
    except ValidationError as exc:
        raise _Refused(_reason_of(exc)) from None


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _Refused(_said("a date such as 2026-05-17", "请用日期选择器，或按 2026-05-17 填写")) from None


def _parse_item(text: str, item: Any) -> Any:
    if item is int:
        return _whole(text)
    if item is uuid.UUID:
        try:
            return uuid.UUID(text)
        except ValueError:
            raise _Refused(_said("choose from the list", "请从列表中选择")) from None
    return text


def _parse(field: FormField, bare: Any, label: Label | None, posted: Sequence[str], currency: str) -> Any:
    """The typed value of one input; ``_Refused`` with the reader's message. ``None`` for an
    empty optional input; :data:`_EMPTY` for an empty one that keeps the field's default."""
    if field.kind == "checkbox":
        return any(value not in ("", "0", "false", "off") for value in posted)
    if field.kind in ("checks", "dates"):
        chosen = [value.strip() for value in posted if value.strip()]
        if field.kind == "dates":
            return sorted({_parse_date(value) for value in chosen})
        return [_parse_item(value, _item(bare)) for value in dict.fromkeys(chosen)]
    text = (posted[-1] if posted else "").strip()
    if field.kind == "lines":
        parts = [part.strip() for part in re.split(r"[\n,，、;；]", text) if part.strip()]
        return [_parse_item(part, _item(bare)) for part in dict.fromkeys(parts)]
    if text == "":
        if field.optional:
            return None
        if field.required:
            raise _Refused(_said("required", "必填"))
        return _EMPTY
    if field.kind == "decimal":
        unit = label.unit if label else ""
        if unit == MONEY:
            return _parse_money(text, currency)
        if unit == DISCOUNT:
            return _parse_discount(text)
        return _parse_multiplier(text)
    if field.kind == "number":
        return _whole(text)
    if field.kind == "date":
        return _parse_date(text)
    if field.kind == "select" and text not in {value for value, _ in field.choices}:
        raise _Refused(_said("choose one of the list", "请从列表中选择"))
    return text


_EMPTY = object()


# --- the form --------------------------------------------------------------------------------------


def _label_of(name: str, labels: Labels | None, shape: _Shape | None = None) -> Label | None:
    """The page's label of field ``name``; without one, a label of the field's Meta when it
    names a unit (its title in both languages, its description as help)."""
    label = (labels or {}).get(name)
    if label is None and shape is not None and shape.unit in (MONEY, DISCOUNT, MULTIPLIER):
        title = shape.title or name
        return Label(title, title, shape.description, shape.description, unit=shape.unit)
    return label


def form_fields(
    schema: type[msgspec.Struct],
    values: Mapping[str, Any],
    labels: Labels | None = None,
    *,
    prefix: str = "",
    errors: Mapping[str, str] | None = None,
    currency: str = "CNY",
    only: Iterable[str] | None = None,
    typed: Mapping[str, Sequence[str]] | None = None,
) -> list[FormField]:
    """The inputs of ``schema``'s fields (those in ``only``, in its order, when given), filled
    with ``values`` (as stored) or, after a refused post, with ``typed`` (as posted, by field);
    ``errors`` go beside their field."""
    errors = errors or {}
    info = {field.name: field for field in msgspec.structs.fields(schema)}
    names = list(only) if only is not None else list(info)
    fields = []
    for key in names:
        field = info[key]
        shape = _unwrap(field.type)
        label = _label_of(key, labels, shape)
        kind = _kind(shape.bare, label)
        choices = _choices(shape.bare, label)
        value = values.get(key)
        chosen: tuple[str, ...] = ()
        if typed is not None and key in typed:
            posted = [str(v) for v in typed[key]]
            shown, chosen = (posted[-1] if posted else ""), tuple(posted)
            checked = kind == "checkbox" and any(v not in ("", "0", "false", "off") for v in posted)
        else:
            checked = bool(value)
            if kind in ("checks", "dates"):
                chosen = tuple(str(v) for v in value or [])
                shown = ""
            elif kind == "lines":
                shown = "、".join(str(v) for v in value or []) if is_zh() else ", ".join(str(v) for v in value or [])
            else:
                shown = _shown(value, label, currency)
        if label is not None:
            title, help_text = label.name(), label.help()
            unit = label.suffix[0] if is_zh() else label.suffix[1]
            if label.unit == MONEY:
                unit = "元" if is_zh() and currency == "CNY" else currency
            elif label.unit == DISCOUNT:
                unit = "折" if is_zh() else "% off"
            elif label.unit == MULTIPLIER:
                unit = "倍" if is_zh() else "×"
        else:
            title, help_text, unit = shape.title or key, shape.description, ""
        required = field.required and kind not in ("checkbox", "checks", "dates", "lines") and not shape.optional
        fields.append(
            FormField(
                name=f"{prefix}{key}",
                label=title,
                help=help_text,
                kind=kind,
                value=shown,
                checked=checked,
                choices=choices,
                optional=shape.optional,
                key=key,
                unit=unit,
                values=chosen,
                error=errors.get(key, ""),
                required=required,
            )
        )
    return fields


def read_form(
    schema: type[msgspec.Struct],
    form: Posted,
    labels: Labels | None = None,
    *,
    prefix: str = "",
    currency: str = "CNY",
    only: Iterable[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted ``form`` (every value of each input) as values for ``schema`` and the errors
    of inputs whose text is not a value (by field, in the reader's language). Empty inputs of
    fields with a default are left out, so the default applies."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    info = {field.name: field for field in msgspec.structs.fields(schema)}
    for field in form_fields(schema, {}, labels, prefix=prefix, currency=currency, only=only):
        shape = _unwrap(info[field.key].type)
        try:
            value = _parse(field, shape.bare, _label_of(field.key, labels, shape), form.get(field.name, []), currency)
        except _Refused as exc:
            errors[field.key] = str(exc)
            continue
        if value is not _EMPTY:
            values[field.key] = value
    return values, errors


def typed_values(form: Posted, fields: Iterable[str], prefix: str = "") -> dict[str, list[str]]:
    """What was typed into each of ``fields`` (to show a refused form as it was posted)."""
    return {key: list(form.get(f"{prefix}{key}", [])) for key in fields}


def posted(form: Any) -> dict[str, list[str]]:
    """A request's form data (Litestar's multi-dict) as lists of values by input name."""
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        out.setdefault(key, []).append(str(value))
    return out


def parse_form(schema: type[msgspec.Struct], form: Mapping[str, Any]) -> dict[str, Any]:
    """The posted ``form`` (one text per input) as values for ``schema``: numbers as numbers,
    checkboxes as booleans, lines as lists, empty optional fields as None. Text that is not a
    value is passed on as typed, for the Struct to refuse naming the field."""
    as_lists = {key: [value] if isinstance(value, str) else list(value) for key, value in form.items()}
    values, errors = read_form(schema, as_lists)
    for key in errors:
        values[key] = (as_lists.get(key) or [""])[-1]
    for field in msgspec.structs.fields(schema):  # an empty optional text stays None, a required one ""
        if field.name not in values and field.name not in errors and field.required:
            values[field.name] = ""
    return values


# --- validation by the Struct, errors in the staff's words -----------------------------------------


def convert(
    schema: type[msgspec.Struct], values: Mapping[str, Any], labels: Labels | None = None, currency: str = "CNY"
) -> tuple[Any, dict[str, str]]:
    """``values`` validated by ``schema``: (the Struct, {}) or (None, {field: why}) with the
    reason in the reader's language, bounds in the field's unit (yuan, 折, times)."""
    try:
        return msgspec.convert(dict(values), schema), {}
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        key = re.split(r"[.\[]", path.rstrip("`").lstrip("."), maxsplit=1)[0] if path else ""
        missing = re.search(r"missing required field `(\w+)`", reason)
        if missing:
            key, reason = missing[1], "required"
        return None, {key or "form": _bound_reason(reason, _label_of(key, labels), currency, labels)}


def _bound_reason(reason: str, label: Label | None, currency: str, labels: Labels | None) -> str:
    if reason == "required":
        return _said("required", "必填")
    bound = _BOUND.search(reason)
    unit = label.unit if label else ""
    if bound and unit in (MONEY, MULTIPLIER):
        limit = int(bound[2])
        shown = (
            i18n.money(limit, currency) if unit == MONEY else _said(multiplier_text(limit), f"{_decimal(limit, 2)} 倍")
        )
        if bound[1] == ">=":
            return _said(f"at least {shown}", f"不能少于 {shown}")
        return _said(f"at most {shown}", f"不能超过 {shown}")
    return humanize(reason_zh(reason) if is_zh() else reason, labels)


def humanize(text: str, labels: Labels | None) -> str:
    """A Chinese ``text`` with the English names of fields and choices in it (``请给出 weekdays、
    days_of_month 或 dates``) replaced by what the form calls them; English text as it is."""
    if not is_zh():
        return text
    names: dict[str, str] = {}
    for key, label in (labels or {}).items():
        names[key] = f"“{label.zh}”"
        names |= {value: f"“{zh}”" for value, (zh, _) in label.choices.items() if re.fullmatch(r"[a-z_]+", value)}
    named = re.sub(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:_[a-z0-9]+)*", lambda m: names.get(m[0], m[0]), text)
    return field_names.plain(named)


def _reason_of(error: MembershipError) -> str:
    reason = error.params.get("reason") if isinstance(error, ValidationError) else None
    if reason is None:
        return error.detail("zh" if is_zh() else "en")
    if isinstance(reason, Reason):
        return reason.zh if is_zh() else reason.en
    reason = reason.partition(" - at `")[0]
    return reason_zh(reason) if is_zh() else reason


def error_for(
    error: MembershipError, keys: Iterable[str], labels: Labels | None = None, currency: str = "CNY"
) -> tuple[str, str]:
    """Where a use case's refusal goes on the form and what it says: (the field it names, among
    ``keys``, or "" for the whole form; the reason in the reader's words, field names replaced
    by their labels)."""
    named = str(error.params.get("field", "")) if isinstance(error, ValidationError) else ""
    parts = [part for part in re.split(r"[.\[\]]", named) if part and not part.isdigit()]
    key = next((part for part in reversed(parts) if part in set(keys)), "")
    if not isinstance(error, ValidationError):
        return key, humanize(error.detail("zh" if is_zh() else "en"), labels)
    reason = error.params.get("reason")
    if isinstance(reason, str):
        text = _bound_reason(reason.partition(" - at `")[0], _label_of(key, labels), currency, labels)
    else:
        text = humanize(_reason_of(error), labels)
    if key:
        return key, text
    label = _label_of(parts[-1], labels) if parts else None
    return "", f"{label.name()}：{text}" if label else text


# --- lists of Structs (tiers, plans) as table rows ----------------------------------------------------


@dataclasses.dataclass
class Rows:
    """The rows of a posted table: each kept row's values, errors (by field) and text as typed.
    Rows ticked "remove" and rows left empty are dropped."""

    values: list[dict[str, Any]]
    errors: list[dict[str, str]]
    typed: list[dict[str, list[str]]]

    @property
    def ok(self) -> bool:
        """True when no row has an error."""
        return not any(self.errors)


def _row_prefix(name: str, index: int) -> str:
    return f"{name}-{index}-"


def read_rows(
    schema: type[msgspec.Struct],
    form: Posted,
    labels: Labels | None = None,
    *,
    name: str,
    currency: str = "CNY",
    only: Sequence[str] | None = None,
) -> Rows:
    """The rows of the table ``name`` (inputs ``name-0-code``, ``name-0-fee``…), each read as
    :func:`read_form` reads a form and validated by ``schema``."""
    keys = list(only) if only is not None else [field.name for field in msgspec.structs.fields(schema)]
    indexes = sorted({int(m[1]) for key in form if (m := re.fullmatch(rf"{re.escape(name)}-(\d+)-\w+", key))})
    rows = Rows([], [], [])
    for index in indexes:
        prefix = _row_prefix(name, index)
        typed = typed_values(form, keys, prefix)
        if (form.get(f"{prefix}remove") or [""])[-1] or not any(v.strip() for vs in typed.values() for v in vs):
            continue
        values, errors = read_form(schema, form, labels, prefix=prefix, currency=currency, only=keys)
        if not errors:
            errors = convert(schema, values, labels, currency)[1]
        rows.values.append(values)
        rows.errors.append(errors)
        rows.typed.append(typed)
    return rows


def row_fields(
    schema: type[msgspec.Struct],
    stored: Sequence[Mapping[str, Any]],
    labels: Labels | None = None,
    *,
    name: str,
    currency: str = "CNY",
    only: Sequence[str] | None = None,
    posted_rows: Rows | None = None,
    blank: int = 1,
) -> list[list[FormField]]:
    """The inputs of each row of the table ``name``: the ``stored`` rows, or the rows as posted
    (with their errors), then ``blank`` empty rows to add to it."""
    out = []
    if posted_rows is not None:
        for index, (typed, errors) in enumerate(zip(posted_rows.typed, posted_rows.errors, strict=True)):
            prefix = _row_prefix(name, index)
            out.append(
                form_fields(schema, {}, labels, prefix=prefix, errors=errors, currency=currency, only=only, typed=typed)
            )
    else:
        for index, values in enumerate(stored):
            out.append(
                form_fields(schema, values, labels, prefix=_row_prefix(name, index), currency=currency, only=only)
            )
    start = len(out)
    for index in range(start, start + blank):
        out.append(form_fields(schema, {}, labels, prefix=_row_prefix(name, index), currency=currency, only=only))
    return out


def describe(
    schema: type[msgspec.Struct], values: Mapping[str, Any], labels: Labels | None = None, currency: str = "CNY"
) -> str:
    """``values`` in one line as staff read them: ``倍数：2 倍；每周几：周三`` (empty fields left out)."""
    parts = []
    for field in form_fields(schema, values, labels, currency=currency):
        if field.kind in ("checks", "dates"):
            names = dict(field.choices)
            text = (
                "、".join(names.get(v, v) for v in field.values)
                if is_zh()
                else ", ".join(names.get(v, v) for v in field.values)
            )
        elif field.kind == "checkbox":
            text = _said("yes", "是") if field.checked else ""
        elif field.kind == "select":
            text = dict(field.choices).get(field.value, field.value)
        else:
            text = f"{field.value} {field.unit}".strip() if field.value else ""
        if text:
            parts.append(f"{field.label}：{text}" if is_zh() else f"{field.label}: {text}")
    return "；".join(parts) if is_zh() else "; ".join(parts)
