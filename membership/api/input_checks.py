"""Checks every request's input passes before a handler sees it, in one place for the API, the
console and the static files.

* **No NUL character** (``\\x00``) in any text: a path or query parameter, a cookie, a form field
  or a string (or key) anywhere in a JSON body. PostgreSQL cannot store one in text, and no
  legitimate input needs one, so it is refused on every database alike: 422 naming the field.
  In a static file's path it is simply a file that does not exist: 404.
* **JSON nested at most** :data:`MAX_JSON_DEPTH` levels: free-form fields (a member's
  ``preferences``, a rule's ``params``) hold small documents; a deeper body is refused with 422
  instead of exhausting the decoder's recursion (which answered 500).
* **JSON bodies of the declared types, strictly**: Litestar converts a body leniently (as it must
  query strings: ``"5"`` to 5, ``0`` to false); a JSON body read into a msgspec Struct gets its
  JSON types exactly as the schema says them, or a 422 naming the field.

:func:`check_input` is a Litestar guard; the routers that take input list it (after the API key
guard, so an anonymous request is refused for its missing key first).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, SerializationException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import BodyKwarg

from membership.errors import Reason, ValidationError

MAX_JSON_DEPTH = 32
NUL = "\x00"
FORMS = (RequestEncodingType.URL_ENCODED.value, RequestEncodingType.MULTI_PART.value)
NUL_REASON = Reason(
    "contains a NUL character (\\x00), which text may not contain",
    "含有空字符（\\x00），文本中不允许出现",
)


def too_deep(field: str) -> ValidationError:
    """The refusal of JSON nested deeper than :data:`MAX_JSON_DEPTH` at ``field``."""
    return ValidationError(
        field=field,
        reason=Reason(
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
            f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层",
        ),
    )


def has_nul(value: object) -> bool:
    """Whether ``value`` is text with a NUL character in it."""
    return isinstance(value, str) and NUL in value


async def check_input(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Refuse a NUL character in any text input and JSON nested too deep (see the module's
    docstring); the route's handler then reads the body decoded here, not a second time."""
    if NUL in connection.scope["path"]:
        if handler.opt.get("static"):
            raise NotFoundException()
        _refuse_nul(connection.path_params.items(), fallback="path")
    query = connection.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        _refuse_nul(connection.query_params.multi_items(), fallback="query")
    if any(has_nul(value) for value in connection.cookies.values()):
        _refuse_nul(((f"cookie {name}", value) for name, value in connection.cookies.items()), "cookie")
    if connection.scope["type"] == "http":
        await _check_body(connection, handler)


def _refuse_nul(items: Iterable[tuple[Any, Any]], fallback: str) -> None:
    """Raise the NUL refusal for the first of ``items`` (name, value) holding one."""
    for name, value in items:
        if has_nul(name) or has_nul(value):
            raise ValidationError(field=str(name).replace(NUL, "\\x00"), reason=NUL_REASON)
    raise ValidationError(field=fallback, reason=NUL_REASON)


def _data(handler: BaseRouteHandler) -> tuple[str, Any] | None:
    """How the handler's ``data`` is encoded (JSON unless it says otherwise) and its type, or
    None: the handler reads no body."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    kwarg = field.kwarg_definition
    media_type = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
    return str(getattr(media_type, "value", media_type)), field.annotation


async def _check_body(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    data = _data(handler)
    if data is None or connection.scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return
    media_type, annotation = data
    request: Any = connection
    if media_type in FORMS:
        form = await request.form()
        _refuse_nul_in_form(list(form.multi_items()))
        return
    body = await request.body()
    if media_type != RequestEncodingType.JSON.value or not body:
        return
    try:
        document = await request.json()  # cached: the handler's data is converted from it
    except RecursionError:
        raise too_deep("body") from None
    except SerializationException:
        return  # malformed JSON: refused as such (400) when the handler's data is read
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH or b"\\u0000" in body:
        check_json(document)  # else there is nothing to find: the common case walks nothing
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        check_types(document, annotation)


def check_types(document: Any, struct: type[msgspec.Struct]) -> None:
    """Raise a 422 (the framework's :class:`ValidationException`, as its own checks do) when
    ``document`` does not have the JSON types ``struct`` declares, e.g. ``0`` for a boolean."""
    try:
        msgspec.convert(document, struct, strict=True)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `")
        raise ValidationException(
            detail="Validation failed", extra=[{"message": message, "key": at.rstrip("`") or "body", "source": "body"}]
        ) from None


def _refuse_nul_in_form(items: list[tuple[str, Any]]) -> None:
    if any(has_nul(name) or has_nul(value) for name, value in items):
        _refuse_nul(items, fallback="form")


def check_json(document: Any) -> None:
    """Raise a 422 :class:`ValidationError` naming the first place in ``document`` that holds a
    NUL character or is nested deeper than :data:`MAX_JSON_DEPTH` (``lines[0].sku``).

    >>> check_json({"lines": [{"sku": "A"}]})
    >>> check_json({"lines": [{"sku": "A\\x00"}]})
    Traceback (most recent call last):
    ...
    membership.errors.ValidationError: Invalid lines[0].sku: contains a NUL character (\\x00), which ...
    """
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while todo:  # iterative: the depth is what is being checked
        value, at = todo.pop()
        if isinstance(value, str):
            if NUL in value:
                raise ValidationError(field=_path(at), reason=NUL_REASON)
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if len(at) >= MAX_JSON_DEPTH:
            raise too_deep(_path(at))
        for key, item in items:
            if has_nul(key):
                raise ValidationError(field=_path((*at, key)), reason=NUL_REASON)
            todo.append((item, (*at, key)))


def _path(at: tuple[str | int, ...]) -> str:
    """``("lines", 0, "sku")`` as ``lines[0].sku`` (``body`` for the document itself)."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text.replace(NUL, "\\x00") or "body"
