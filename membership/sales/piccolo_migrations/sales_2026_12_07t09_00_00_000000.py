from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "member prices: a line's member price and the part of a sale's discount they took off"

_STATEMENTS = [
    'ALTER TABLE "sale" ADD COLUMN "member_discount" BIGINT NOT NULL DEFAULT 0',
    'ALTER TABLE "sale_line" ADD COLUMN "member_price" BIGINT DEFAULT null',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def member_prices():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(member_prices)

    return manager
