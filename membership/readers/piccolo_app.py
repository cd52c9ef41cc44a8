"""Piccolo app: card-reader reads."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.readers.tables import ReaderRead

APP_CONFIG = AppConfig(
    app_name="readers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ReaderRead],
    migration_dependencies=["membership.org.piccolo_app", "membership.members.piccolo_app"],
)
