from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-13T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a sale's lines, payments and refunds carry its program (the till path can be distributed by it)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def carry_program():
        for table in ("sale_line", "sale_payment", "sale_refund"):
            await ddl.carry_program(table, "sale", "sale_id")

    manager.add_raw(carry_program)

    return manager
