import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from membership.db import ddl

ID = "2026-12-10T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "gift cards: products, cards with their own ledger accounts, the programs' gift-card contra accounts"

_STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "gift_card_product" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "sku" VARCHAR(64) NOT NULL, "name" VARCHAR(100) NOT NULL, "face_value" BIGINT NOT NULL,'
    ' "active" BOOLEAN NOT NULL DEFAULT true, "created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "gift_card" ("id" UUID PRIMARY KEY NOT NULL,'
    ' "program_id" UUID NOT NULL REFERENCES "program" ("id") ON DELETE RESTRICT,'
    ' "product_id" UUID NOT NULL REFERENCES "gift_card_product" ("id") ON DELETE RESTRICT,'
    ' "account_id" UUID NOT NULL REFERENCES "ledger_account" ("id") ON DELETE RESTRICT,'
    ' "code_hash" VARCHAR(64) NOT NULL, "code_sealed" TEXT NOT NULL, "key_fp" VARCHAR(16) NOT NULL,'
    ' "code_hint" VARCHAR(4) NOT NULL, "face_value" BIGINT NOT NULL,'
    " \"status\" VARCHAR(8) NOT NULL DEFAULT 'active', \"sale_id\" UUID NOT NULL, \"line_no\" INTEGER NOT NULL,"
    ' "store_id" UUID NOT NULL, "issued_at" TIMESTAMPTZ NOT NULL, "voided_at" TIMESTAMPTZ DEFAULT null)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="giftcards", description=DESCRIPTION)

    async def gift_cards():
        engine = engine_finder()
        for statement in _STATEMENTS:
            await engine.run_ddl(statement)
        await ddl.unique_index("gift_card_product", "gift_card_product_sku", ["program_id", "sku"])
        await ddl.check("gift_card_product", "gift_card_product_face_value", "face_value > 0")
        await ddl.unique_index("gift_card", "gift_card_code", ["code_hash"])
        await ddl.unique_index("gift_card", "gift_card_account", ["account_id"])
        await ddl.index("gift_card", "gift_card_sale", ["sale_id"])
        await ddl.index("gift_card", "gift_card_listed", ["program_id", "issued_at"])
        await ddl.check("gift_card", "gift_card_status", "status IN ('active', 'void')")
        # one contra account per program and system kind; a card's own account has no member either
        await engine.run_ddl("DROP INDEX IF EXISTS ledger_account_system_kind")
        await ddl.unique_index(
            "ledger_account",
            "ledger_account_system_kind",
            ["program_id", "kind"],
            where="member_id IS NULL AND kind LIKE 'system.%'",
        )
        now = f"'{dt.datetime.now(dt.UTC)}'"  # the form Piccolo writes timestamps in on SQLite
        for kind in ("system.gift_card_sold", "system.gift_card_redeemed"):
            await engine.run_ddl(
                "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at)"
                f" SELECT gen_random_uuid(), p.id, NULL, '{kind}', 0, {now} FROM program p"
                " WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.program_id = p.id AND a.member_id IS NULL"
                f" AND a.kind = '{kind}')"
            )

    manager.add_raw(gift_cards)

    return manager
