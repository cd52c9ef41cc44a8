"""Piccolo app: promotions at the till (促销活动)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.promotions.tables import Promotion, PromotionUse

APP_CONFIG = AppConfig(
    app_name="promotions",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Promotion, PromotionUse],
    migration_dependencies=["membership.members.piccolo_app", "membership.sales.piccolo_app"],
)
