"""Piccolo app: gift cards."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.giftcards.tables import GiftCard, GiftCardProduct

APP_CONFIG = AppConfig(
    app_name="giftcards",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[GiftCardProduct, GiftCard],
    migration_dependencies=["membership.sales.piccolo_app", "membership.ledger.piccolo_app"],
)
