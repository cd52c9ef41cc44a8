"""The example plugin's Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from tests.example_plugin.tables import Visit

APP_CONFIG = AppConfig(
    app_name="example_plugin",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Visit],
    migration_dependencies=["membership.members.piccolo_app"],
)
