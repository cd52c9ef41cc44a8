from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Varchar

ID = "2026-11-30T08:08:17:342495"
VERSION = "1.38.0"
DESCRIPTION = "member: no index on name (searched with LIKE '%…%') nor on program_id alone (member_member_no_unique starts with it)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    manager.alter_column(
        table_class_name="Member",
        tablename="member",
        column_name="program_id",
        db_column_name="program_id",
        params={"index": False},
        old_params={"index": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Member",
        tablename="member",
        column_name="name",
        db_column_name="name",
        params={"index": False},
        old_params={"index": True},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
