from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-23T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints and indexes SQLite and PostgreSQL both understand"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("sale", "sale_receipt_unique", ["store_id", "receipt_no"])
        await ddl.unique_index("sale_line", "sale_line_no_unique", ["sale_id", "line_no"])

    manager.add_raw(constraints)

    return manager
