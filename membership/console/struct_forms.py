"""Forms generated from msgspec Structs: a plugin's settings schema (and any flat configuration
type) becomes labelled inputs, and the posted text becomes typed values the Struct validates.

A field's label and help come from ``msgspec.Meta(title=…, description=…)`` (write them in the
staff's words, e.g. ``title="满几杯送一杯"``); without them the field's name is shown. Supported
field types: ``int``, ``str``, ``bool``, ``Literal[...]`` choices, ``list[str]`` (one per line or
comma separated), each optionally ``| None`` (empty input: None).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal

import msgspec


@dataclasses.dataclass(frozen=True)
class FormField:
    """One input: ``kind`` is ``number``, ``text``, ``checkbox``, ``select`` or ``lines``."""

    name: str
    label: str
    help: str
    kind: str
    value: str
    checked: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False


def _unwrap(annotation: Any) -> tuple[Any, str, str, bool]:
    """(bare type, title, description, optional) of a field's annotation."""
    title = description = ""
    optional = False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, msgspec.Meta):
                title, description = extra.title or title, extra.description or description
        origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        inner, inner_title, inner_description, _ = _unwrap(args[0])
        return inner, title or inner_title, description or inner_description, optional
    return annotation, title, description, optional


def _kind(bare: Any) -> tuple[str, tuple[str, ...]]:
    if bare is bool:
        return "checkbox", ()
    if bare is int:
        return "number", ()
    if typing.get_origin(bare) is Literal:
        return "select", tuple(str(choice) for choice in typing.get_args(bare))
    if typing.get_origin(bare) is list:
        return "lines", ()
    return "text", ()


def form_fields(schema: type[msgspec.Struct], values: dict[str, Any]) -> list[FormField]:
    """The inputs of ``schema``'s fields, filled with ``values`` (as stored)."""
    fields = []
    for field in msgspec.structs.fields(schema):  # msgspec resolved the annotations
        bare, title, description, optional = _unwrap(field.type)
        kind, choices = _kind(bare)
        value = values.get(field.name)
        if kind == "lines":
            shown = "\n".join(str(v) for v in value or [])
        else:
            shown = "" if value is None else str(value)
        fields.append(
            FormField(field.name, title or field.name, description, kind, shown, bool(value), choices, optional)
        )
    return fields


def parse_form(schema: type[msgspec.Struct], form: dict[str, Any]) -> dict[str, Any]:
    """The posted ``form`` (text) as values for ``schema``: numbers as numbers, checkboxes as
    booleans, lines as lists, empty optional fields as None. The Struct still checks them."""
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(schema):
        bare, _, _, optional = _unwrap(field.type)
        kind, _ = _kind(bare)
        raw = form.get(field.name)
        if kind == "checkbox":
            values[field.name] = raw not in (None, "", "0", "false", "off")
            continue
        text = "" if raw is None else str(raw).strip()
        if kind == "lines":
            values[field.name] = [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]
        elif text == "" and optional:
            values[field.name] = None
        elif kind == "number":
            try:
                values[field.name] = int(text)
            except ValueError:
                values[field.name] = text  # the Struct says what is wrong, naming the field
        else:
            values[field.name] = text
    return values
