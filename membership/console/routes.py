"""The console as a Litestar router under ``/console``, with its static files and CSRF settings.

Business areas contribute their pages (``membership/<area>/console.py``: ``ROUTES``); every
route passes :func:`membership.api.input_checks.check_input` (no NUL character in any input),
the session-bound CSRF check (:mod:`membership.console.csrf`) and
:func:`membership.console.auth.check_staff` first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router, get, post
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from membership.access import console as key_pages
from membership.analytics import console as analytics_pages
from membership.api.input_checks import check_input
from membership.audit import console as audit_pages
from membership.care import console as care_pages
from membership.console import auth, i18n
from membership.console.auth import current_staff
from membership.console.csrf import SessionCSRFMiddleware
from membership.console.errors import EXCEPTION_HANDLERS
from membership.console.pages import ConsolePage
from membership.coupons import console as coupon_pages
from membership.crm import console as segment_pages
from membership.giftcards import console as gift_card_pages
from membership.jobs.runner import latest_runs
from membership.ledger import console as loyalty_pages
from membership.members import console as member_pages
from membership.members import profile_console as member_profile_pages
from membership.notifications import console as message_pages
from membership.org import console as org_pages
from membership.org import plugins_console as plugin_pages
from membership.org import setup_console as setup_pages
from membership.outbox.service import failed_deliveries, pending_count, retry_dead
from membership.plugins import hooks
from membership.promotions import console as promotion_pages
from membership.rewards import console as reward_pages
from membership.sales import console as counter
from membership.sales import counter_sale, counter_void
from membership.staff import console as staff_pages
from membership.staff.roles import MATRIX, PERMISSION_NAMES, ROLE_NAMES, Permission, Role
from membership.tiers import console as tier_pages

STATIC = Path(__file__).parent / "static"


@get("/", opt={"any_staff": True}, name="console-home")
async def home(request: Request) -> Redirect:
    """The console's start page: the counter for those who serve members, else the dashboard."""
    staff = current_staff(request)
    return Redirect("/console/counter" if staff.can(Permission.USE_COUNTER) else "/console/dashboard")


@get("/help", opt={"any_staff": True})
async def help_page(request: Request) -> Template:
    """Help: who may do what (the permission matrix, rendered from the code that enforces it)."""
    context = {
        "staff": current_staff(request),
        "active": "help",
        "roles": list(Role),
        "role_names": ROLE_NAMES,
        "matrix": MATRIX,
        "permission_names": PERMISSION_NAMES,
    }
    return Template("console/help.html", context=context)


@get("/plugins", opt={"permission": Permission.VIEW_PLUGINS})
async def plugins_page(request: Request) -> Template:
    """What is loaded: each plugin with its source, version and hooks, what the plugins
    registered (reports, jobs, reader drivers, channels, console pages), and each job's schedule
    and last run."""
    registry = hooks()
    latest = await latest_runs()
    context = {
        "staff": current_staff(request),
        "active": "plugins",
        "plugins": registry.plugins(),
        "failed_deliveries": await failed_deliveries(),
        "pending_deliveries": await pending_count(),
        "jobs": [(name, job, latest.get(name)) for name, job in sorted(registry.jobs().items())],
        "registered": {
            i18n.gettext("Reports"): sorted(registry.reports()),
            i18n.gettext("Jobs"): sorted(registry.jobs()),
            i18n.gettext("Reader drivers"): sorted(registry.reader_drivers()),
            i18n.gettext("Channels"): sorted(registry.channels()),
        },
    }
    return Template("console/plugins.html", context=context)


@post("/plugins/retry-events", opt={"permission": Permission.VIEW_PLUGINS}, status_code=303)
async def retry_events(request: Request) -> Redirect:
    """Give the events a listener gave up on a fresh set of attempts (after its fault is mended)."""
    await retry_dead()
    return Redirect("/console/plugins", status_code=303)


def _plugin_handlers(pages: list[ConsolePage]) -> list[Any]:
    """The plugin pages' handlers, each allowed to the roles its page names (checked by
    :func:`membership.console.auth.check_staff`, like every kernel page)."""
    for page in pages:
        page.handler.opt["roles"] = tuple(page.roles)
    return [page.handler for page in pages]


def console_router(pages: list[ConsolePage] | None, csrf: CSRFConfig) -> Router:
    """Every console page (the kernel's and plugins' ``pages``) behind the input, CSRF (``csrf``:
    :func:`membership.console.csrf.csrf_config`) and staff checks, plus ``/console/static``."""
    return Router(
        "/console",
        route_handlers=[
            home,
            help_page,
            plugins_page,
            retry_events,
            *auth.ROUTES,
            *counter.ROUTES,
            *counter_sale.ROUTES,
            *counter_void.ROUTES,
            *member_pages.ROUTES,
            *member_profile_pages.ROUTES,
            *analytics_pages.ROUTES,
            *org_pages.ROUTES,
            *setup_pages.ROUTES,
            *plugin_pages.ROUTES,
            *staff_pages.ROUTES,
            *key_pages.ROUTES,
            *audit_pages.ROUTES,
            *loyalty_pages.ROUTES,
            *coupon_pages.ROUTES,
            *gift_card_pages.ROUTES,
            *reward_pages.ROUTES,
            *promotion_pages.ROUTES,
            *tier_pages.ROUTES,
            *segment_pages.ROUTES,
            *message_pages.ROUTES,
            *care_pages.ROUTES,
            *_plugin_handlers(pages or []),
            create_static_files_router(
                "/static", directories=[STATIC], include_in_schema=False, opt={"public": True, "static": True}
            ),
        ],
        guards=[check_input],
        middleware=[DefineMiddleware(SessionCSRFMiddleware, config=csrf)],
        before_request=auth.check_staff,
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
