"""Piccolo app: channel settings per program, the inbox, and (delivery) messages."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.notifications.tables import ChannelConfig, InboxMessage, MessageTemplate, Notification

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ChannelConfig, InboxMessage, MessageTemplate, Notification],
    migration_dependencies=["membership.crm.piccolo_app"],
)
