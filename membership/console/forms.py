"""What the console's administration forms share: a page rendered with the form's errors, or a
redirect after a successful POST that names what was done (so a reload never posts twice)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.errors import MembershipError


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
