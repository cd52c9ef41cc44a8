"""Piccolo app: API keys."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.access.tables import ApiKey

APP_CONFIG = AppConfig(
    app_name="access",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ApiKey],
    migration_dependencies=["membership.org.piccolo_app"],
)
