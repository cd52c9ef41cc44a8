import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-11-30T04:37:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending points and stored-value bonus accounts for every member; lots found by release and warning"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def accounts():
        engine = engine_finder()
        now = f"'{dt.datetime.now(dt.UTC)}'"  # the form Piccolo writes timestamps in on SQLite
        for kind in ("points_pending", "stored_value_bonus"):
            await engine.run_ddl(
                "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at)"
                f" SELECT gen_random_uuid(), m.program_id, m.id, '{kind}', 0, {now} FROM member m"
                " WHERE NOT EXISTS (SELECT 1 FROM ledger_account a"
                f" WHERE a.member_id = m.id AND a.kind = '{kind}')"
            )
        await engine.run_ddl(
            "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at)"
            f" SELECT gen_random_uuid(), p.id, NULL, 'system.stored_value_bonus_issued', 0, {now} FROM program p"
            " WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.program_id = p.id AND a.member_id IS NULL"
            " AND a.kind = 'system.stored_value_bonus_issued')"
        )
        await ddl.index("points_lot", "points_lot_pending", ["available_at"], where="available_at IS NOT NULL")
        await ddl.index("points_lot", "points_lot_unwarned", ["expires_at"], where="warned_at IS NULL AND remaining > 0")

    manager.add_raw(accounts)

    return manager
