from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-23T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints and indexes SQLite and PostgreSQL both understand"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("ledger_account", "ledger_account_member_kind", ["member_id", "kind"])
        await ddl.unique_index(
            "ledger_account", "ledger_account_system_kind", ["program_id", "kind"], where="member_id IS NULL"
        )
        await ddl.check(
            "ledger_account", "never_overdrawn", "balance >= 0 OR kind = 'points_debt' OR kind LIKE 'system.%'"
        )
        await ddl.check("ledger_account", "debt_not_positive", "kind <> 'points_debt' OR balance <= 0")
        await ddl.check("points_lot", "remaining_in_range", "remaining >= 0 AND remaining <= points")
        await ddl.index("points_lot", "points_lot_due", ["program_id", "expires_at"], where="remaining > 0")
        await ddl.index("points_lot", "points_lot_expiry_mark", ["expiry_posting_id"])
        await ddl.unique_index("idempotency_key", "idempotency_key_unique", ["scope", "key"])

    manager.add_raw(constraints)

    return manager
