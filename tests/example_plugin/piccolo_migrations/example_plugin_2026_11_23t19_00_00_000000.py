from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Varchar

ID = "2026-11-23T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "visits"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="example_plugin", description=DESCRIPTION)
    manager.add_table(class_name="Visit", tablename="example_visit", schema=None, columns=None)
    manager.add_column(
        table_class_name="Visit", tablename="example_visit", column_name="id", db_column_name="id",
        column_class_name="UUID", column_class=UUID, params={"primary_key": True}, schema=None,
    )
    manager.add_column(
        table_class_name="Visit", tablename="example_visit", column_name="member_id", db_column_name="member_id",
        column_class_name="UUID", column_class=UUID, params={}, schema=None,
    )
    manager.add_column(
        table_class_name="Visit", tablename="example_visit", column_name="note", db_column_name="note",
        column_class_name="Varchar", column_class=Varchar, params={"length": 100}, schema=None,
    )
    return manager
