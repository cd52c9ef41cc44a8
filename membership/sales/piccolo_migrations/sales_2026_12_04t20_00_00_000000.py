from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-12-04T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "receipt numbers looked up across a program's stores (setting receipt_unique_per = program)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def receipts():
        await ddl.index("sale", "sale_program_receipt", ["program_id", "receipt_no"], where="receipt_no IS NOT NULL")

    manager.add_raw(receipts)

    return manager
