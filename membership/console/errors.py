"""Errors on console pages: a page (or, for htmx, a message in place) in the staff's language,
never a stack trace or a JSON document."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from membership.api.problems import http_error, internal_error, out_of_range_error
from membership.console import i18n
from membership.console.auth import language_of
from membership.db.unavailable import RETRY_AFTER_SECONDS, DatabaseUnavailable, is_unavailable
from membership.errors import MembershipError

log = logging.getLogger(__name__)


def console_error(request: Request, error: Exception) -> Response:
    """Render ``error``: its own message for a business error (an unreachable database is one:
    503 with ``Retry-After``), a short one for anything else; in the staff member's language, or
    the browser's when no session was read yet (a refused CSRF token, an unknown address)."""
    if getattr(request.state, "staff", None) is None:
        i18n.use_language(request.query_params.get("lang") or language_of(request))
    if not isinstance(error, (MembershipError, HTTPException)) and is_unavailable(error):
        log.warning("database unavailable on console %s: %r", request.url.path, error)
        error = DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS)
    elif isinstance(error, OverflowError):  # a date or number of the input out of range
        error = out_of_range_error()
    headers = {"Retry-After": str(error.params["retry_after"])} if isinstance(error, DatabaseUnavailable) else None
    if isinstance(error, MembershipError):
        status, text = error.status, error.detail(i18n.current_language())
    elif isinstance(error, HTTPException):
        status = error.status_code
        text = i18n.gettext("This page does not exist.") if status == 404 else i18n.gettext("The request was refused.")
    else:
        log.exception("console error on %s", request.url.path, exc_info=error)
        status, text = 500, i18n.gettext("Something went wrong; nothing was saved. Please try again.")
    if request.headers.get("hx-request"):
        context = {"text": text, "error": True}
        return Template(
            "console/message.html", context=context, status_code=200, media_type=MediaType.HTML, headers=headers
        )
    staff = getattr(request.state, "staff", None)
    context = {"text": text, "staff": staff, "active": ""}
    return Template(
        "console/error.html", context=context, status_code=status, media_type=MediaType.HTML, headers=headers
    )


def any_error(request: Request, error: Exception) -> Response:
    """The app's last resort (a URL no route matches, before any router's handlers): a console
    page under ``/console``, a problem document elsewhere."""
    if request.url.path.startswith("/console"):
        return console_error(request, error)
    return http_error(request, error) if isinstance(error, HTTPException) else internal_error(request, error)


# ValidationException too: a malformed query (?page=abc) would otherwise reach the API's handler
EXCEPTION_HANDLERS = {
    MembershipError: console_error,
    ValidationException: console_error,
    HTTPException: console_error,
    Exception: console_error,
}
