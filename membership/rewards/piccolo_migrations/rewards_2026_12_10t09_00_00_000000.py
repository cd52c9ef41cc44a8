from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-10T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rewards priced in points: the catalogue (stock never below zero) and the redemptions"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "reward" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "code" VARCHAR(48) NOT NULL, "name" VARCHAR(100) NOT NULL, "description" TEXT NOT NULL DEFAULT \'\','
    ' "kind" VARCHAR(32) NOT NULL, "params" TEXT NOT NULL DEFAULT \'{}\', "points" BIGINT NOT NULL,'
    ' "stock" BIGINT DEFAULT null, "member_limit" INTEGER DEFAULT null,'
    " \"limit_period\" VARCHAR(8) NOT NULL DEFAULT 'total', \"available_from\" DATE DEFAULT null,"
    ' "available_until" DATE DEFAULT null, "store_ids" JSON NOT NULL DEFAULT \'[]\','
    ' "coupon_days" INTEGER NOT NULL DEFAULT 30, "stackable" BOOLEAN NOT NULL DEFAULT false,'
    ' "template_id" UUID NOT NULL REFERENCES "coupon_template" ("id") ON DELETE RESTRICT,'
    ' "active" BOOLEAN NOT NULL DEFAULT true, "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "reward_redemption" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "reward_id" UUID NOT NULL REFERENCES "reward" ("id") ON DELETE RESTRICT,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT,'
    ' "store_id" UUID DEFAULT null, "sale_id" UUID DEFAULT null, "posting_id" UUID NOT NULL,'
    ' "coupon_id" UUID NOT NULL REFERENCES "coupon" ("id") ON DELETE RESTRICT, "points" BIGINT NOT NULL,'
    " \"state\" VARCHAR(10) NOT NULL DEFAULT 'redeemed', \"actor\" VARCHAR(100) NOT NULL DEFAULT '',"
    ' "created_at" TIMESTAMPTZ NOT NULL, "changed_at" TIMESTAMPTZ NOT NULL)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rewards", description=DESCRIPTION)

    async def rewards():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("reward", "reward_code", ["program_id", "code"])
        await ddl.check("reward", "reward_stock", "stock IS NULL OR stock >= 0")
        await ddl.check("reward", "reward_points", "points > 0")
        await ddl.check("reward", "reward_limit_period", "limit_period IN ('day', 'week', 'month', 'year', 'total')")
        # a member's redemptions of a reward since a period's start: the per-member limit
        await ddl.index("reward_redemption", "reward_redemption_limit", ["reward_id", "member_id", "created_at"])
        await ddl.index("reward_redemption", "reward_redemption_member", ["member_id", "created_at"])
        await ddl.index("reward_redemption", "reward_redemption_sale", ["sale_id"], where="sale_id IS NOT NULL")
        await ddl.check(
            "reward_redemption", "reward_redemption_state", "state IN ('redeemed', 'cancelled', 'refunded')"
        )
        await ddl.check("reward_redemption", "reward_redemption_points", "points > 0")

    manager.add_raw(rewards)

    return manager
