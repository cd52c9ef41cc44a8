"""CSRF protection for the console's forms, bound to the login session.

Litestar's double-submit cookie (a random value and its HMAC, in a cookie and again in the form
field ``_csrf_token`` or the ``x-csrftoken`` header) proves a request came from a page of this
site, but not from *this* session's page: anyone who can plant a cookie (a sibling subdomain, a
shared browser) can pair their own valid token with a victim's session. Here the HMAC covers the
session cookie as well, so a token is only good with the session it was issued to (before login:
with no session). When a response sets or clears the session (login, logout), a new token bound
to the new session is sent with it, so the next form already carries the right one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from membership.console.auth import SESSION_COOKIE

RANDOM_BYTES = 32
FORMS = (RequestEncodingType.URL_ENCODED.value, RequestEncodingType.MULTI_PART.value)


def csrf_config(master_key: bytes) -> CSRFConfig:
    """The console's CSRF settings: a secret derived from the master key, a strict same-site
    cookie (the console's own pages are the only ones that post to it)."""
    secret = hmac.new(master_key, b"membership console csrf", hashlib.sha256).hexdigest()
    return CSRFConfig(secret=secret, exclude=["^/console/static/"], cookie_samesite="strict")


class SessionCSRFMiddleware(CSRFMiddleware):
    """:class:`~litestar.middleware.csrf.CSRFMiddleware` with tokens bound to the session cookie
    (see the module's docstring)."""

    def token(self, session: str) -> str:
        """A new token for ``session`` (the session cookie's value, "" before login)."""
        random = secrets.token_hex(RANDOM_BYTES)
        return random + self._signature(random, session)

    def is_valid(self, token: str, session: str) -> bool:
        """Whether ``token`` was issued by this server for ``session``."""
        random, signature = token[: RANDOM_BYTES * 2], token[RANDOM_BYTES * 2 :]
        return len(random) == RANDOM_BYTES * 2 and hmac.compare_digest(signature, self._signature(random, session))

    def _signature(self, random: str, session: str) -> str:
        message = f"{random}:{hashlib.sha256(session.encode()).hexdigest()}".encode()
        return hmac.new(self.config.secret.encode(), message, hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Issue a token on a safe request, check it on any other; refused: 403."""
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session = request.cookies.get(SESSION_COOKIE, "")
        cookie = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            valid = cookie if cookie and self.is_valid(cookie, session) else None
            state.csrf_token = valid or self.token(session)
            send = self._sending(send, None if valid else state.csrf_token)
            await self.app(scope, receive, send)
            return
        submitted = request.headers.get(self.config.header_name)
        if not submitted and request.content_type[0] in FORMS:
            submitted = (await request.form()).get("_csrf_token")
        if not (
            isinstance(submitted, str)
            and cookie
            and hmac.compare_digest(submitted.encode(), cookie.encode())
            and self.is_valid(cookie, session)
        ):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = submitted
        await self.app(scope, receive, self._sending(send, None))

    def _sending(self, send: Send, new_token: str | None) -> Send:
        """``send`` that adds the token cookie: ``new_token``, or a token for the new session
        when the response sets or clears the session cookie."""

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = new_token
                if (session := _session_set_by(message)) is not None:
                    token = self.token(session)
                if token is not None:
                    message.setdefault("headers", [])
                    self._set_cookie_if_needed(message=message, token=token)
            await send(message)

        return wrapped


def _session_set_by(message: Message) -> str | None:
    """The session a response starts ("" when it ends one), or None when it leaves it alone."""
    for value in MutableScopeHeaders.from_message(message).getall("set-cookie", []):
        if not value.startswith(f"{SESSION_COOKIE}="):
            continue
        try:
            morsel = SimpleCookie(value)[SESSION_COOKIE]
        except (CookieError, KeyError):
            continue
        return "" if morsel["max-age"] in ("0", 0) else morsel.value
    return None
