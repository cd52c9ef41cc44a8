from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-30T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points_lot on SQLite: stored in account order, without indexes in expiry order"

COLUMNS = (
    "id, program_id, account_id, posting_id, store_id, points, remaining, expired, earned_at, expires_at,"
    " expiry_posting_id, available_at, warned_at"
)

# SQLite rebuilds the table (it cannot change a primary key in place). Lot consumptions, the one
# table that references lots, are set aside meanwhile: dropping a table that rows still reference
# fails its foreign keys, and the pragma that turns them off does nothing inside the migration's
# transaction. The checks become constraints of the table (SQLite cannot add one to a table, so
# they were triggers: a trigger costs a program run per row changed, a constraint an expression).
_SQLITE_REBUILD = [
    'CREATE TABLE "points_lot_by_account" ("id" UUID NOT NULL, "program_id" UUID NOT NULL,'
    ' "account_id" UUID NOT NULL REFERENCES "ledger_account" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,'
    ' "posting_id" UUID REFERENCES "ledger_posting" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null,'
    ' "store_id" UUID DEFAULT null, "points" INTEGER NOT NULL DEFAULT 0, "remaining" INTEGER NOT NULL DEFAULT 0,'
    ' "expired" INTEGER NOT NULL DEFAULT 0, "earned_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,'
    ' "expires_at" TIMESTAMPTZ DEFAULT null, "expiry_posting_id" UUID DEFAULT null,'
    ' "available_at" TIMESTAMPTZ DEFAULT null, "warned_at" TIMESTAMPTZ DEFAULT null,'
    ' PRIMARY KEY ("account_id", "id"),'
    " CONSTRAINT remaining_in_range CHECK (remaining >= 0 AND remaining <= points),"
    " CONSTRAINT expired_only_when_empty CHECK (expired = 0 OR remaining = 0)) WITHOUT ROWID",
    f"INSERT INTO points_lot_by_account ({COLUMNS}) SELECT {COLUMNS} FROM points_lot ORDER BY account_id, id",
    "CREATE TEMP TABLE lot_consumption_aside AS SELECT * FROM points_lot_consumption",
    "DELETE FROM points_lot_consumption",
    "DROP TABLE points_lot",
    "ALTER TABLE points_lot_by_account RENAME TO points_lot",
    'CREATE UNIQUE INDEX points_lot_id ON "points_lot" ("id")',
    'CREATE INDEX points_lot_pending ON "points_lot" ("available_at") WHERE available_at IS NOT NULL',
    "INSERT INTO points_lot_consumption SELECT * FROM temp.lot_consumption_aside",
    "DROP TABLE temp.lot_consumption_aside",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def by_account():
        # SQLite writes a changed page whole at each commit, so what a big job costs is the number
        # of pages it changes. The expiry goes through the lots account by account (it writes each
        # account's balance and ledger entries once, in their own order, see ledger/expiry.py):
        # stored by account, an account's lots share a page with its neighbours' instead of lying
        # wherever they were earned, and the indexes in expiry order (a page changed per lot as it
        # left them) are gone; the job reads the table in order instead. PostgreSQL keeps its
        # table and partial indexes: a row's new version enters no partial index it leaves.
        engine = engine_finder()
        if not isinstance(engine, SQLiteEngine):
            return
        for statement in _SQLITE_REBUILD:
            await engine.run_ddl(statement)

    manager.add_raw(by_account)

    return manager
