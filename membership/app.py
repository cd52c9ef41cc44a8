"""The Litestar application: the REST API under ``/api/v1`` and its OpenAPI schema at ``/schema``.

The staff console is mounted under ``/console`` (:mod:`membership.console`).

``create_app(settings)`` is what ``membership serve`` runs (and what an ASGI server can import as
``membership.app:create_app`` with ``--factory``). Plugins add routes through the
``membership_register_routes`` hook; they are mounted under ``/api/v1`` behind the same API-key
guard (a route without ``opt={"scope": …}`` needs the ``admin`` scope) and input checks
(:mod:`membership.api.input_checks`). Every answer carries the security headers of
:mod:`membership.api.security_headers`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
from pathlib import Path

from litestar import Litestar, Router, get
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from membership import __version__
from membership.api import system
from membership.api.input_checks import check_input
from membership.api.problems import EXCEPTION_HANDLERS
from membership.api.schemas import StrictStructSchemaPlugin
from membership.api.security import api_key_guard
from membership.api.security_headers import security_headers
from membership.care import answer as survey_answer
from membership.care import api as care_api
from membership.config import Settings, load_settings
from membership.console.csp import console_policy
from membership.console.csrf import csrf_config
from membership.console.errors import any_error
from membership.console.routes import console_router
from membership.console.templating import template_engine
from membership.coupons import api as coupons_api
from membership.crm import api as crm_api
from membership.crm import campaign_api
from membership.db import close_database, open_database
from membership.errors import MembershipError
from membership.giftcards import api as giftcards_api
from membership.jobs.scheduler import Scheduler
from membership.ledger import api as ledger_api
from membership.ledger import finance_api, rules_api
from membership.members import api as members_api
from membership.members.keyring import check_keys
from membership.notifications import api as notifications_api
from membership.notifications import optout, tracking
from membership.org import api as org_api
from membership.plugins import hooks
from membership.promotions import api as promotions_api
from membership.readers import api as readers_api
from membership.rewards import api as rewards_api
from membership.sales import api as sales_api
from membership.tiers import api as tiers_api

log = logging.getLogger("membership")
STATIC = Path(__file__).parent / "api" / "static"
MAX_BODY_BYTES = 1024 * 1024

API_DESCRIPTION = """\
会员管理 REST API for POS terminals, mini-programs and integrations.

* **Authentication**: `Authorization: Bearer <key>`; create keys with `membership api-key create`.
  A key has scopes (`read`, `pos`, `admin`) and is bound to a merchant or a store: it never sees
  another merchant's members.
* **Amounts and points are integers** in minor units (fen).
* **Idempotency**: send `Idempotency-Key` on writes. The same key and body return the first answer
  (header `Idempotent-Replayed: true`); the same key with another body gets 422; a key still being
  processed gets 409. Keys are kept for 7 days (configurable), so an offline till can replay a day.
* **Errors** are `application/problem+json` (RFC 9457) with a stable `code` and a `detail` in the
  request's language (`Accept-Language: zh` or `en`).
"""

TAGS = [
    Tag(name="members", description="会员: enrol, search, profile, cards, identify"),
    Tag(name="transactions", description="交易: purchases, simulation, refunds"),
    Tag(name="balances", description="积分与储值: balances, ledger, adjust, redeem, top up"),
    Tag(name="coupons", description="优惠券: templates, issuing, a member's coupons, QR codes, void, report"),
    Tag(name="rewards", description="积分商城: rewards priced in points, redeemed on their own or in a sale"),
    Tag(name="promotions", description="促销活动: automatic promotions at the till, the best for the customer chosen"),
    Tag(name="gift cards", description="礼品卡: gift-card products, cards sold, balance by code, liability"),
    Tag(name="setup", description="开通: merchants, programs and every program setting, program as code"),
    Tag(name="stores", description="门店: open, change, close"),
    Tag(name="readers", description="读卡器: recent card reads and a live stream for counter screens"),
    Tag(name="crm", description="会员营销: segments and their live count, RFM, lifecycle stages, tags"),
    Tag(name="care", description="会员服务: satisfaction surveys (NPS, CSAT) and their results, service tickets"),
    Tag(name="notifications", description="通知: channels (e-mail, webhook, inbox, SMS, WeChat) and the inbox"),
    Tag(name="system", description="health and plugins"),
]


@get("/", include_in_schema=False)
async def index() -> Redirect:
    """The API's browsable documentation."""
    return Redirect("/schema")


def _openapi() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url="/static/api/swagger-ui/swagger-ui-bundle.js",
        css_url="/static/api/swagger-ui/swagger-ui.css",
        standalone_preset_js_url="/static/api/swagger-ui/swagger-ui-standalone-preset.js",
        path="/swagger",
        favicon="<link rel='icon' href='data:,'>",  # the default loads from a CDN
    )
    return OpenAPIConfig(
        title="membership API",
        version=__version__,
        description=API_DESCRIPTION,
        path="/schema",
        render_plugins=[swagger],
        tags=TAGS,
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="An API key: mk_…"),
            }
        ),
        security=[{"apiKey": []}],
    )


def _refuse_a_wrong_key(settings: Settings) -> None:
    """Stop the process with one clear line when the secret key is missing or is not the
    database's (:func:`membership.members.keyring.check_keys`): a server that started anyway
    would answer real members as unknown and enrol them again under the wrong key. Runs before
    the app exists, on a loop of its own (an ASGI server calls the factory inside its loop)."""

    async def check() -> None:
        await open_database(settings)
        try:
            await check_keys()
        finally:
            await close_database()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, check()).result()
        except MembershipError as exc:
            log.critical("%s", exc.detail(settings.language))
            raise SystemExit(3) from None


def create_app(settings: Settings | None = None, *, open_db: bool = True) -> Litestar:
    """The application for ``settings`` (default: ``membership.toml`` and ``MEMBERSHIP_*``).

    With ``open_db`` the app checks the secret key against the database, opens it on startup and
    closes it on shutdown; pass False when the caller (a test) has opened it already."""
    settings = settings or load_settings()
    if open_db:
        _refuse_a_wrong_key(settings)

    scheduler = Scheduler(settings.time_zone) if settings.scheduler else None

    async def start() -> None:
        await open_database(settings)
        if scheduler:
            scheduler.start()

    async def stop() -> None:
        if scheduler:
            await scheduler.stop()
        await close_database()

    api = Router(
        "/api/v1",
        route_handlers=[
            *members_api.ROUTES,
            *sales_api.ROUTES,
            *ledger_api.ROUTES,
            *rules_api.ROUTES,
            *coupons_api.ROUTES,
            *rewards_api.ROUTES,
            *promotions_api.ROUTES,
            *tiers_api.ROUTES,
            *finance_api.ROUTES,
            *giftcards_api.ROUTES,
            *org_api.ROUTES,
            *readers_api.ROUTES,
            *crm_api.ROUTES,
            *campaign_api.ROUTES,
            *care_api.ROUTES,
            *notifications_api.ROUTES,
            *system.ROUTES,
            *hooks().routes(),
        ],
        guards=[api_key_guard, check_input],
    )
    pages = hooks().console_pages()
    templates = template_engine(pages)
    csrf = csrf_config(settings.master_key() if settings.secret_key else secrets.token_bytes(32))
    return Litestar(
        route_handlers=[
            index,
            *optout.ROUTES,
            *tracking.ROUTES,
            *survey_answer.ROUTES,
            api,
            console_router(pages, csrf),
            create_static_files_router(
                "/static/api", directories=[STATIC], include_in_schema=False, guards=[check_input], opt={"static": True}
            ),
        ],
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: any_error},
        openapi_config=_openapi(),
        plugins=[StrictStructSchemaPlugin()],
        before_send=[security_headers(console_policy(templates.engine))],
        on_startup=[start] if open_db else [],
        on_shutdown=[stop] if open_db else [],
        request_max_body_size=MAX_BODY_BYTES,
        template_config=TemplateConfig(instance=templates),
    )
