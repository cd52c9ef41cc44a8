"""Operational routes: health (no key needed) and the loaded plugins."""

from __future__ import annotations

import msgspec
from litestar import Response, get

from membership import __version__
from membership.access.service import Scope
from membership.api.docs import answers
from membership.db import fetch_one, is_sqlite
from membership.db.migrate import pending_migrations
from membership.plugins import hooks


class HealthOut(msgspec.Struct):
    """Whether the server can serve: the database answers and its schema is current."""

    status: str
    version: str
    database: str
    database_reachable: bool
    pending_migrations: list[str]


class PluginOut(msgspec.Struct):
    """A loaded plugin: where it comes from, its version and the hooks it implements."""

    name: str
    source: str
    version: str
    hooks: list[str]


HEALTH_EXAMPLE = {
    "status": "ok",
    "version": __version__,
    "database": "sqlite",
    "database_reachable": True,
    "pending_migrations": [],
}


@get(
    "/health",
    opt={"public": True},
    security=[{}],
    tags=["system"],
    summary="Is the server healthy? (no key needed)",
    responses={
        **answers(200, HealthOut, HEALTH_EXAMPLE, auth=False),
        **answers(
            503,
            HealthOut,
            {**HEALTH_EXAMPLE, "status": "unavailable", "pending_migrations": ["access:…"]},
            auth=False,
            description="Unavailable",
        ),
    },
)
async def health() -> Response[HealthOut]:
    """200 when the database answers and every migration is applied, else 503 with the reason."""
    database = "sqlite" if is_sqlite() else "postgresql"
    try:
        reachable = (await fetch_one("SELECT 1 AS ok"))["ok"] == 1
        pending = await pending_migrations()
    except Exception:  # an unreachable database is the answer here, not an error
        reachable, pending = False, []
    ok = reachable and not pending
    body = HealthOut("ok" if ok else "unavailable", __version__, database, reachable, pending)
    return Response(body, status_code=200 if ok else 503)


@get(
    "/plugins",
    opt={"scope": Scope.READ},
    tags=["system"],
    summary="Loaded plugins",
    responses=answers(
        200,
        list[PluginOut],
        [{"name": "membership.builtin.points", "source": "builtin", "version": __version__, "hooks": ["…"]}],
        403,
    ),
)
async def list_plugins() -> list[PluginOut]:
    """Every loaded plugin, built-in ones first."""
    return [PluginOut(p.name, p.source, p.version, list(p.hooks)) for p in hooks().plugins()]


ROUTES = [health, list_plugins]
