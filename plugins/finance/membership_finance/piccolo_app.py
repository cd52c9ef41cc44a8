"""The pack's Piccolo app: its tables and migrations (``membership migrate`` applies them after the
kernel's)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership_finance.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="finance",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
)
