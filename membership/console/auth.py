"""Who is at the console: session cookie, the per-route permission check, login and logout.

Every console route declares ``opt={"permission": Permission.X}``, ``opt={"any_staff": True}``
(logout, language), ``opt={"roles": (...)}`` (plugin pages) or ``opt={"public": True}`` (the
login page); :func:`check_staff` runs before
each one, on the server, and a route that declares none is refused to everyone — a forgotten
declaration fails closed.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from membership.console import i18n
from membership.errors import LoginFailed, LoginThrottled
from membership.staff import service as staff_service
from membership.staff.service import StaffInfo

SESSION_COOKIE = "membership_session"
HOME = "/console/"


def current_staff(request: Request) -> StaffInfo:
    """The logged-in staff member of a console request (set by :func:`check_staff`)."""
    return request.state.staff


def _safe_next(target: str | None) -> str:
    """Only console paths of this site: never an open redirect."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def language_of(request: Request) -> str:
    """The console language a request's browser asks for (before anyone logs in)."""
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else i18n.DEFAULT_LANGUAGE


async def check_staff(request: Request) -> Response | None:
    """Before every console route: a session, and a role that holds the route's permission."""
    opt = request.route_handler.opt
    if opt.get("public"):
        i18n.use_language(request.query_params.get("lang") or language_of(request))
        return None
    token = request.cookies.get(SESSION_COOKIE)
    staff = await staff_service.session_staff(token) if token else None
    if staff is None:
        login = f"/console/login?next={quote(request.url.path)}"
        if request.headers.get("hx-request"):
            return Response(content="", status_code=401, headers={"HX-Redirect": login})
        return Redirect(login)
    i18n.use_language(staff.language)
    request.state.staff = staff
    if not _may_open(staff, opt):
        return Template(
            "console/forbidden.html",
            context={"staff": staff, "active": ""},
            status_code=HTTP_403_FORBIDDEN,
            media_type=MediaType.HTML,
        )
    return None


def _may_open(staff: StaffInfo, opt: dict[str, Any]) -> bool:
    """A route is open to any staff member, to the roles holding its permission, or (plugin
    pages) to the roles it names; to no one when it declares none of these."""
    if opt.get("any_staff"):
        return True
    if opt.get("permission") is not None:
        return staff.can(opt["permission"])
    return staff.role in opt.get("roles", ())


@dataclasses.dataclass
class LoginForm:
    """The login form."""

    username: str = ""
    password: str = ""
    next: str = ""


@get("/login", opt={"public": True}, name="console-login")
async def login_page(request: Request, next: FromQuery[str | None] = None) -> Template:
    """The login page (登录)."""
    return Template("console/login.html", context={"next": _safe_next(next), "error": "", "username": ""})


@post("/login", opt={"public": True}, status_code=200)
async def log_in(request: Request, data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Any:
    """Check the password; on success set the session cookie and go where the user was going.

    A wrong password answers 401; an address that failed too often answers 429 with
    ``Retry-After`` and the seconds to wait, without checking the password. The address is the
    client's as the server sees it (uvicorn takes ``X-Forwarded-For`` only from the proxies it
    trusts: ``--forwarded-allow-ips``)."""
    address = request.client.host if request.client else ""
    try:
        _, token = await staff_service.log_in(data.username, data.password, address)
    except (LoginFailed, LoginThrottled) as error:
        context = {
            "next": _safe_next(data.next),
            "error": error.detail(i18n.current_language()),
            "username": data.username,
        }
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, LoginThrottled) else None
        return Template(
            "console/login.html",
            context=context,
            status_code=error.status,
            media_type=MediaType.HTML,
            headers=headers,
        )
    response = Redirect(_safe_next(data.next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(staff_service.SESSION_LIFETIME.total_seconds()),
        path="/console",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


@post("/logout", opt={"any_staff": True}, status_code=303)
async def log_out(request: Request) -> Redirect:
    """End the session and go back to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await staff_service.log_out(token)
    response = Redirect("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@dataclasses.dataclass
class LanguageForm:
    """The language switcher."""

    language: str = i18n.DEFAULT_LANGUAGE
    next: str = ""


@post("/language", opt={"any_staff": True}, status_code=303)
async def switch_language(
    request: Request, data: Annotated[LanguageForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Redirect:
    """Remember the staff member's language and show the same page again."""
    await staff_service.set_language(current_staff(request).id, data.language)
    return Redirect(_safe_next(data.next), status_code=303)


ROUTES = [login_page, log_in, log_out, switch_language]
