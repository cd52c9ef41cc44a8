"""What the console's administration forms share: a page rendered with the form's errors, a
redirect after a successful POST that names what was done (so a reload never posts twice), the
page of a configuration edited in generated forms (with its JSON for integrators), and the
confirmation step of destructive actions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from membership.console import field_names, i18n
from membership.console.auth import current_staff
from membership.errors import MembershipError, Reason, ValidationError


def page(request: Request, template: str, active: str, status: int = 200, **context: Any) -> Template:
    """``template`` for the logged-in staff member, with the menu entry ``active`` highlighted."""
    context = {"staff": current_staff(request), "active": active, "error": "", "notice": "", "warnings": [], **context}
    return Template(template, context=context, status_code=status, media_type=MediaType.HTML)


def done(path: str, what: str) -> Redirect:
    """See other: ``path?done=what`` (the page turns ``what`` into a notice)."""
    return Redirect(f"{path}?done={what}", status_code=303)


def done_with(path: str, what: str, **figures: Any) -> Redirect:
    """See other: ``path?done=what&figure=…`` (the page says what was done, with its figures)."""
    return Redirect(f"{path}?{urlencode({'done': what, **figures})}", status_code=303)


def error_text(error: MembershipError) -> str:
    """The error in the staff member's language, the field it names called by its name (金额,
    not ``amount``)."""
    return field_names.error_text(error)


@dataclasses.dataclass
class JsonForm:
    """A configuration edited as JSON."""

    text: str = ""


def config_page(
    request: Request,
    title: str,
    action: str,
    status: int = 200,
    *,
    sections: Sequence[tuple[str, list[Any]]] = (),
    rows: list[list[Any]] | None = None,
    warnings: Sequence[str] = (),
    json_text: str = "",
    **context: Any,
) -> Template:
    """A configuration's form page (``console/config_form.html``): ``sections`` of generated
    inputs (:mod:`membership.console.struct_forms`), a table of ``rows`` (``rows_name``,
    ``rows_title``, ``rows_help`` in ``context``), ``warnings`` to confirm with "save anyway",
    and the configuration as JSON (``json_text``, posted to ``action/json``)."""
    defaults = {"intro": "", "rows_name": "", "rows_title": "", "rows_help": "", "json_help": "", "json_error": ""}
    return page(
        request,
        "console/config_form.html",
        "loyalty",
        status,
        title=title,
        action=action,
        sections=list(sections),
        rows=rows or [],
        warnings=list(warnings),
        json_text=json_text,
        **{**defaults, **context},
    )


def json_text(value: Any) -> str:
    """A configuration as the JSON view shows it: indented, Chinese as it is (never ``\\u751f``)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


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


@dataclasses.dataclass
class ConfirmForm:
    """A destructive action's form (``console/confirm.html``): ``confirm`` is ``yes`` once staff
    confirmed it on the second step; ``reason`` where the action keeps one."""

    confirm: str = ""
    reason: str = ""

    @property
    def confirmed(self) -> bool:
        """True when the confirming button sent it."""
        return self.confirm == "yes"


def not_confirmed() -> str:
    """What a page says when a destructive action arrives without its confirmation."""
    return i18n.gettext("Please confirm: nothing was changed.")
