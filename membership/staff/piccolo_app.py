"""Piccolo app: staff accounts, console sessions and the login throttle."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.staff.tables import Staff, StaffLoginThrottle, StaffSession

APP_CONFIG = AppConfig(
    app_name="staff",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Staff, StaffSession, StaffLoginThrottle],
    migration_dependencies=["membership.org.piccolo_app"],
)
