"""Piccolo app: the ledger."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.ledger.tables import (
    Account,
    Entry,
    IdempotencyKey,
    LotConsumption,
    PointsLot,
    PointsRuleRow,
    PointsTransfer,
    Posting,
    SettlementEntry,
    SignIn,
    StoredValueConsumption,
    StoredValueLot,
)

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Account,
        Posting,
        Entry,
        PointsLot,
        LotConsumption,
        IdempotencyKey,
        PointsRuleRow,
        SignIn,
        StoredValueLot,
        StoredValueConsumption,
        SettlementEntry,
        PointsTransfer,
    ],
    migration_dependencies=["membership.members.piccolo_app"],
)
