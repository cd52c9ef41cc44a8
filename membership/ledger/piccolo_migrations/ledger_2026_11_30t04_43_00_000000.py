import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-11-30T04:43:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stored value held before lots existed becomes one lot per member (issuing store unknown)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def backfill():
        now = f"'{dt.datetime.now(dt.UTC)}'"  # the form Piccolo writes timestamps in on SQLite
        await engine_finder().run_ddl(
            "INSERT INTO stored_value_lot (id, program_id, account_id, posting_id, store_id, amount, remaining, created_at)"
            " SELECT gen_random_uuid(), a.program_id, a.id,"
            " (SELECT e.posting_id FROM ledger_entry e WHERE e.account_id = a.id ORDER BY e.created_at DESC LIMIT 1),"
            f" NULL, a.balance, a.balance, {now} FROM ledger_account a"
            " WHERE a.kind IN ('stored_value', 'stored_value_bonus') AND a.balance > 0"
            " AND NOT EXISTS (SELECT 1 FROM stored_value_lot l WHERE l.account_id = a.id)"
        )
        await ddl.index("stored_value_lot", "stored_value_lot_open", ["account_id", "created_at"], where="remaining > 0")
        await ddl.index("settlement_entry", "settlement_pair", ["program_id", "created_at", "issuer_store_id"])

    manager.add_raw(backfill)

    return manager
