"""The plugin's Piccolo app: its tables and migrations (``membership migrate`` applies them after
the kernel's)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership_{{ cookiecutter.underscored }}.tables import Record

APP_CONFIG = AppConfig(
    app_name="{{ cookiecutter.underscored }}",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Record],
    migration_dependencies=[],
)
