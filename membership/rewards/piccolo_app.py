"""Piccolo app: rewards priced in points (积分商城)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.rewards.tables import Reward, RewardRedemption

APP_CONFIG = AppConfig(
    app_name="rewards",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Reward, RewardRedemption],
    migration_dependencies=["membership.coupons.piccolo_app"],
)
