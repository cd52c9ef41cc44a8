"""Security headers on every answer: the API's, the console's and the documentation's.

* ``X-Content-Type-Options: nosniff`` — a browser takes the declared type, never guesses one.
* ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` — no page is framed
  (clickjacking).
* ``Referrer-Policy`` — the console's addresses (member ids, searches) leave the site with no
  request: ``same-origin``; the API's with none at all: ``no-referrer``.
* ``Content-Security-Policy`` — console pages: :func:`membership.console.csp.console_policy`;
  the API's JSON: nothing may load (``default-src 'none'``); the Swagger page under ``/schema``:
  its own scripts and the inline one that starts it.
* ``Strict-Transport-Security`` — on answers sent over HTTPS.

A handler that sets one of these itself keeps its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
ANSWER_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def headers_for(path: str, console_policy: str) -> dict[str, str]:
    """The security headers of an answer to ``path``."""
    if path.startswith("/console"):
        policy, referrer = console_policy, "same-origin"
    elif path.startswith("/schema"):
        policy, referrer = DOCS_POLICY, "no-referrer"
    elif path.startswith("/s/"):  # a survey's answer page: its own styles, a form posting to itself
        policy, referrer = ANSWER_PAGE_POLICY, "no-referrer"
    else:
        policy, referrer = API_POLICY, "no-referrer"
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": referrer,
        "Content-Security-Policy": policy,
    }


def security_headers(console_policy: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """A Litestar ``before_send`` hook adding the headers to every HTTP answer."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        message.setdefault("headers", [])
        headers = MutableScopeHeaders.from_message(message)
        wanted = headers_for(scope.get("path", ""), console_policy)
        if scope.get("scheme") == "https":
            wanted["Strict-Transport-Security"] = HSTS
        for name, value in wanted.items():
            if headers.get(name) is None:
                headers.add(name, value)

    return before_send
