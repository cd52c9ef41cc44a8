from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from membership.db import ddl

ID = "2026-11-30T04:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "coupons: unique codes, one coupon per template, member and occasion, expiry and refund lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="coupons", description=DESCRIPTION)

    async def constraints():
        await ddl.unique_index("coupon_template", "coupon_template_code", ["program_id", "code"])
        await ddl.unique_index("coupon", "coupon_code", ["code"])
        # NULL occasions (manual issues) are distinct: the index also serves the per-member count
        await ddl.unique_index("coupon", "coupon_occasion", ["template_id", "member_id", "occasion"])
        await ddl.index("coupon", "coupon_due", ["program_id", "valid_until"], where="state = 'issued'")
        await ddl.index("coupon", "coupon_sale", ["sale_id"], where="sale_id IS NOT NULL")
        await ddl.check("coupon", "coupon_state", "state IN ('issued', 'redeemed', 'expired', 'void')")
        await ddl.check("coupon", "coupon_discount", "discount >= 0")

    manager.add_raw(constraints)

    return manager
