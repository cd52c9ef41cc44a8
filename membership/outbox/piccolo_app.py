"""Piccolo app: the event outbox and its deliveries."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.outbox.tables import EventDelivery, OutboxEvent

APP_CONFIG = AppConfig(
    app_name="outbox",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[OutboxEvent, EventDelivery],
    migration_dependencies=[],
)
