from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

from membership.db import ddl

ID = "2026-11-30T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points_lot: on PostgreSQL the account index holds only lots with points left"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    manager.alter_column(
        table_class_name="PointsLot",
        tablename="points_lot",
        column_name="account_id",
        db_column_name="account_id",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    async def account_index():
        # every query that finds lots by account wants those with points left. PostgreSQL writes
        # a new entry in every index whose predicate holds for each new row version, so a lot that
        # expires or is spent to 0 adds none to a partial index (one of the two it added before);
        # SQLite changes only the entries whose key or predicate changed, so there the partial
        # index would cost a delete per closed lot instead: it keeps the whole index
        sqlite = isinstance(engine_finder(), SQLiteEngine)
        await ddl.index("points_lot", "points_lot_account", ["account_id"], where=None if sqlite else "remaining > 0")

    manager.add_raw(account_index)

    return manager
