"""Piccolo app: sales."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.sales.tables import Refund, Sale, SaleLine, SalePayment

APP_CONFIG = AppConfig(
    app_name="sales",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Sale, SaleLine, SalePayment, Refund],
    migration_dependencies=["membership.ledger.piccolo_app"],
)
