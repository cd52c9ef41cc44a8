from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-13T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "entries and lot consumptions carry their posting's program (the till path can be distributed by it)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def carry_program():
        for table in ("ledger_entry", "points_lot_consumption", "stored_value_consumption"):
            await ddl.carry_program(table, "ledger_posting", "posting_id")

    manager.add_raw(carry_program)

    return manager
