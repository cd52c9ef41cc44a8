from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: tier reviews found by date, referrals by referrer"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def constraints():
        await ddl.index("member", "member_tier_review", ["program_id", "tier_review_at"])
        await ddl.index("member", "member_referred_by", ["referred_by"], where="referred_by IS NOT NULL")

    manager.add_raw(constraints)

    return manager
