"""Applying the kernel's and plugins' Piccolo migrations."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from membership.db import citus
from membership.db.engine import bind_tables, current_engine
from membership.db.piccolo_conf import app_registry
from membership.errors import NotConfigured


async def pending_migrations() -> list[str]:
    """``app:migration_id`` of every migration not applied yet, in the order they would run."""
    manager = BaseMigrationManager()
    if not await Migration.table_exists():
        applied: set[tuple[str, str]] = set()
    else:
        applied = {(row["app_name"], row["name"]) for row in await Migration.select(Migration.app_name, Migration.name)}
    pending = []
    for app_name in manager.get_sorted_app_names():
        app_config = app_registry().get_app_config(app_name)
        modules = manager.get_migration_modules(app_config.resolved_migrations_folder_path)
        pending += [f"{app_name}:{mid}" for mid in sorted(modules) if (app_name, mid) not in applied]
    return pending


async def migrate() -> list[str]:
    """Apply every pending migration (kernel apps first, then plugin apps); returns what ran. On a
    database with the Citus extension, then place every table not placed yet
    (:func:`membership.db.citus.distribute`)."""
    bind_tables(current_engine())  # plugin tables registered since the database was opened
    pending = await pending_migrations()
    if pending:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            result = await run_forwards(app_name="all")
        if not result.success:
            raise NotConfigured(what="database schema", hint=f"migration failed: {result.message}\n{output.getvalue()}")
    if await citus.is_citus():  # also when Citus came to a database whose schema was up to date
        await citus.distribute()
    return pending
