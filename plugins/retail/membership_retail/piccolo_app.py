"""The pack's Piccolo app: its tables and migrations (``membership migrate`` applies them after
the kernel's)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership_retail.tables import Claim, Cycle, MemberPrice, PointsRule, Product, Receipt, Reminder

APP_CONFIG = AppConfig(
    app_name="retail",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Product, MemberPrice, PointsRule, Receipt, Claim, Cycle, Reminder],
    migration_dependencies=["membership.sales.piccolo_app"],
)
