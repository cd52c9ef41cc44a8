from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-08T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "CRM: segments, uploaded segment members, members' RFM scores and stages, tag rules"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "segment" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "code" VARCHAR(64) NOT NULL, "name" VARCHAR(100) NOT NULL, "kind" VARCHAR(8) NOT NULL DEFAULT \'rules\','
    ' "definition" JSON NOT NULL DEFAULT \'{}\', "active" BOOLEAN NOT NULL DEFAULT true,'
    ' "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "segment_member" ('
    ' "segment_id" UUID NOT NULL REFERENCES "segment" ("id") ON DELETE CASCADE,'
    ' "member_id" UUID NOT NULL REFERENCES "member" ("id") ON DELETE RESTRICT, PRIMARY KEY ("segment_id", "member_id"))',
    # derived figures a job rewrites by the million: no foreign key to check per row (members are
    # never deleted; erasure keeps the row)
    'CREATE TABLE IF NOT EXISTS "member_score" ("member_id" UUID PRIMARY KEY NOT NULL, "program_id" UUID NOT NULL,'
    ' "last_purchase_at" TIMESTAMPTZ DEFAULT null, "frequency" INTEGER NOT NULL DEFAULT 0,'
    ' "monetary" BIGINT NOT NULL DEFAULT 0, "r" SMALLINT DEFAULT null, "f" SMALLINT DEFAULT null,'
    ' "m" SMALLINT DEFAULT null, "stage" VARCHAR(8) NOT NULL, "stage_since" TIMESTAMPTZ NOT NULL,'
    ' "birthday_month" SMALLINT DEFAULT null)',
    'CREATE TABLE IF NOT EXISTS "crm_refresh" ("program_id" UUID PRIMARY KEY NOT NULL,'
    ' "computed_at" TIMESTAMPTZ NOT NULL, "buyers" INTEGER NOT NULL DEFAULT 0, "cuts" JSON NOT NULL DEFAULT \'{}\')',
    'CREATE TABLE IF NOT EXISTS "tag_rule" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT, "tag" VARCHAR(50) NOT NULL,'
    ' "segment_id" UUID NOT NULL REFERENCES "segment" ("id") ON DELETE RESTRICT, "created_at" TIMESTAMPTZ NOT NULL)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def crm():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("segment", "segment_code_unique", ["program_id", "code"])
        await ddl.check("segment", "segment_kind", "kind IN ('rules', 'static')")
        await ddl.index("segment_member", "segment_member_member", ["member_id"])
        await ddl.index("member_score", "member_score_program_stage", ["program_id", "stage"])
        await ddl.unique_index("tag_rule", "tag_rule_tag_unique", ["program_id", "tag"])
        await ddl.index("tag_rule", "tag_rule_segment", ["segment_id"])
        # a member's purchases in a window, read from the index alone: the RFM refresh and the
        # segments' spend / visits / points conditions aggregate them per member
        await ddl.index(
            "sale",
            "sale_member_activity",
            ["program_id", "member_id", "occurred_at", "status", "total", "refunded_amount", "points_earned"],
        )

    manager.add_raw(crm)

    return manager
