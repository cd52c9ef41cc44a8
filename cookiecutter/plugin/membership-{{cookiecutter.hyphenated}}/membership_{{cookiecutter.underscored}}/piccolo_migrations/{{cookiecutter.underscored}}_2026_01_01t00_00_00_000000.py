"""The plugin's first migration: its record table. Write the next one with
``piccolo migrations new {{ cookiecutter.underscored }} --auto`` or by hand, with a later ID."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, Timestamptz

ID = "2026-01-01T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "records of handled events"

TABLE, CLASS = "{{ cookiecutter.underscored }}_record", "Record"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="{{ cookiecutter.underscored }}", description=DESCRIPTION)
    manager.add_table(class_name=CLASS, tablename=TABLE, schema=None, columns=None)
    columns = [
        ("id", UUID, {"primary_key": True}),
        ("event_id", UUID, {"unique": True}),
        ("program_id", UUID, {}),
        ("member_id", UUID, {"null": True, "default": None}),
        ("amount", BigInt, {"default": 0}),
        ("created_at", Timestamptz, {}),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name=CLASS,
            tablename=TABLE,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
