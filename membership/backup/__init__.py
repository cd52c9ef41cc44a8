"""Backups (备份) and restores (恢复) of a deployment's database, and the checks a sound one passes.

A backup holds the database only: personal data stays encrypted in it, and the secret key that
opens it (``secret_key`` in membership.toml) is not in the backup and must be kept apart from it.

    from membership.backup import backup, restore, verify_backup, ledger_violations
"""

from membership.backup.errors import BackupFailed, BackupInvalid, RestoreRefused
from membership.backup.service import (
    BackupDone,
    backup,
    backup_target,
    check_restore,
    default_path,
    restore,
    verify_backup,
)
from membership.backup.verify import Verified, ledger_violations

__all__ = [
    "BackupDone",
    "BackupFailed",
    "BackupInvalid",
    "RestoreRefused",
    "Verified",
    "backup",
    "backup_target",
    "check_restore",
    "default_path",
    "ledger_violations",
    "restore",
    "verify_backup",
]
