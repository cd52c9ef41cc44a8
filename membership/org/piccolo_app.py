"""Piccolo app: merchants, stores, programs."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.org.tables import Merchant, Program, ProgramPlugin, Store

APP_CONFIG = AppConfig(
    app_name="org",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Merchant, Store, Program, ProgramPlugin],
    migration_dependencies=[],
)
