"""What the console's administration forms share: a page rendered with the form's errors, a
redirect after a successful POST that names what was done (so a reload never posts twice), and
an editor for configuration kept as JSON (tiers, plans)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.errors import MembershipError, Reason, ValidationError


def page(request: Request, template: str, active: str, status: int = 200, **context: Any) -> Template:
    """``template`` for the logged-in staff member, with the menu entry ``active`` highlighted."""
    context = {"staff": current_staff(request), "active": active, "error": "", "notice": "", **context}
    return Template(template, context=context, status_code=status, media_type=MediaType.HTML)


def done(path: str, what: str) -> Redirect:
    """See other: ``path?done=what`` (the page turns ``what`` into a notice)."""
    return Redirect(f"{path}?done={what}", status_code=303)


def error_text(error: MembershipError) -> str:
    """The error in the staff member's language."""
    return error.detail(i18n.current_language())


@dataclasses.dataclass
class JsonForm:
    """A configuration edited as JSON."""

    text: str = ""


def json_page(
    request: Request, title: str, action: str, text: str, help_text: str, status: int = 200, **context: Any
) -> Template:
    """The JSON editor page: ``text`` in a text area posted to ``action``."""
    return page(
        request,
        "console/json_editor.html",
        "loyalty",
        status,
        title=title,
        action=action,
        text=text,
        help_text=help_text,
        **context,
    )


def _json(text: str, empty: str) -> Any:
    try:
        return json.loads(text or empty)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            field="JSON",
            reason=Reason(
                f"{exc.msg} (line {exc.lineno}, column {exc.colno})",
                f"{exc.msg}（第 {exc.lineno} 行，第 {exc.colno} 列）",
            ),
        ) from None


def json_list(text: str) -> list[Any]:
    """A JSON list typed in a form; ``ValidationError`` says where it is not JSON."""
    value = _json(text, "[]")
    if not isinstance(value, list):
        raise ValidationError(field="JSON", reason=Reason("a list [...]", "应为列表 [...]"))
    return value


def json_object(text: str, shape: str = "{...}") -> dict[str, Any]:
    """A JSON object typed in a form (``shape`` shows what is expected when it is not one)."""
    value = _json(text, "{}")
    if not isinstance(value, dict):
        raise ValidationError(field="JSON", reason=Reason(f"an object {shape}", f"应为对象 {shape}"))
    return value
