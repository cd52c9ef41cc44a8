from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-12T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "promotions at the till: automatic promotions (uses never past their limit) and their uses by sales"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "promotion" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "code" VARCHAR(48) NOT NULL, "name" VARCHAR(100) NOT NULL, "description" TEXT NOT NULL DEFAULT \'\','
    ' "kind" VARCHAR(32) NOT NULL, "params" TEXT NOT NULL DEFAULT \'{}\','
    ' "conditions" TEXT NOT NULL DEFAULT \'[]\', "min_amount" BIGINT NOT NULL DEFAULT 0,'
    ' "stackable" BOOLEAN NOT NULL DEFAULT false, "till_code" VARCHAR(32) DEFAULT null,'
    ' "member_limit" INTEGER DEFAULT null, "total_limit" BIGINT DEFAULT null,'
    ' "used_count" BIGINT NOT NULL DEFAULT 0, "valid_from" DATE DEFAULT null, "valid_until" DATE DEFAULT null,'
    ' "store_ids" JSON NOT NULL DEFAULT \'[]\', "active" BOOLEAN NOT NULL DEFAULT true,'
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "promotion_use" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "promotion_id" UUID NOT NULL REFERENCES "promotion" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "sale_id" UUID NOT NULL, "store_id" UUID NOT NULL, "discount" BIGINT NOT NULL,'
    ' "created_at" TIMESTAMPTZ NOT NULL, "returned_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="promotions", description=DESCRIPTION)

    async def promotions():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("promotion", "promotion_code", ["program_id", "code"])
        await ddl.check("promotion", "promotion_used", "used_count >= 0 AND (total_limit IS NULL OR used_count <= total_limit)")
        await ddl.check("promotion", "promotion_min_amount", "min_amount >= 0")
        # a member's uses of a promotion not given back: the per-member limit
        await ddl.index("promotion_use", "promotion_use_member", ["member_id", "promotion_id"], where="returned_at IS NULL")
        await ddl.index("promotion_use", "promotion_use_sale", ["sale_id"])
        await ddl.index("promotion_use", "promotion_use_promotion", ["promotion_id"], where="returned_at IS NULL")
        await ddl.check("promotion_use", "promotion_use_discount", "discount > 0")

    manager.add_raw(promotions)

    return manager
