from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

from membership.db import ddl

ID = "2026-12-14T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points_lot: on PostgreSQL the account index leads with the program and ends with the expiry"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def account_index():
        # A member's lots expiring on a day (the till's "next expiry") name the program, the
        # account and an expiry range. With the account index on the account alone, the planner
        # could not tell it from points_lot_due (program, expiry) without statistics, picked that
        # one and read every lot of the program expiring that day (2,978 lots for 2 at 20,000
        # members: 0.7 ms a lookup, growing with the program). Program, account and expiry in one
        # index match every condition those statements have, so the planner takes it whatever the
        # statistics say. SQLite stores the lots by account (the table's key): nothing to change.
        engine = engine_finder()
        if isinstance(engine, SQLiteEngine):
            return
        await engine.run_ddl("DROP INDEX IF EXISTS points_lot_account")
        await ddl.index(
            "points_lot", "points_lot_account", ["program_id", "account_id", "expires_at"], where="remaining > 0"
        )

    manager.add_raw(account_index)

    return manager
