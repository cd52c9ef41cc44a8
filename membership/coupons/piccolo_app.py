"""Piccolo app: coupons."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.coupons.tables import Coupon, CouponTemplate

APP_CONFIG = AppConfig(
    app_name="coupons",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[CouponTemplate, Coupon],
    migration_dependencies=["membership.sales.piccolo_app"],
)
