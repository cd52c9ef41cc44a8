from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "next-order coupons: a template issued by purchases that reach a spend and meet conditions"

_STATEMENTS = [
    'ALTER TABLE "coupon_template" ADD COLUMN "issue_min_spend" BIGINT NOT NULL DEFAULT 0',
    'ALTER TABLE "coupon_template" ADD COLUMN "issue_conditions" TEXT NOT NULL DEFAULT \'[]\'',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="coupons", description=DESCRIPTION)

    async def next_order():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(next_order)

    return manager
