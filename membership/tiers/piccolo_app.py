"""Piccolo app: tier history, paid memberships and tiers set by hand."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.tiers.tables import PaidMembership, TierAssignment, TierChange

APP_CONFIG = AppConfig(
    app_name="tiers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[TierChange, PaidMembership, TierAssignment],
    migration_dependencies=["membership.members.piccolo_app"],
)
