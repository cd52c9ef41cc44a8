"""Piccolo app: segments, members' scores and tag rules."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.crm.tables import (
    Campaign,
    CampaignMember,
    CrmRefresh,
    MemberScore,
    Segment,
    SegmentMember,
    SegmentSize,
    TagRule,
)

APP_CONFIG = AppConfig(
    app_name="crm",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Segment, SegmentMember, MemberScore, CrmRefresh, TagRule, Campaign, CampaignMember, SegmentSize],
    migration_dependencies=["membership.coupons.piccolo_app"],
)
