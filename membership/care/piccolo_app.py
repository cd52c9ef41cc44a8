"""Piccolo app: surveys and their answers, service tickets, staff notices."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.care.tables import ServiceTicket, StaffNotice, Survey, SurveySend, TicketEntry

APP_CONFIG = AppConfig(
    app_name="care",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Survey, SurveySend, ServiceTicket, TicketEntry, StaffNotice],
    migration_dependencies=["membership.notifications.piccolo_app"],
)
