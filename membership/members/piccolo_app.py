"""Piccolo app: members and credentials."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.members.tables import (
    Credential,
    EncryptionKey,
    Member,
    MemberConsent,
    MemberMerge,
    MemberMergeMove,
    MemberNote,
)

APP_CONFIG = AppConfig(
    app_name="members",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Member, Credential, EncryptionKey, MemberConsent, MemberNote, MemberMerge, MemberMergeMove],
    migration_dependencies=["membership.org.piccolo_app"],
)
