"""The refusals of backup, verify and restore (each with a stable code, in English and Chinese).

They belong with the others in :mod:`membership.errors`; they live here until that module takes
them (the backup feature was written beside other work on it).
"""

from __future__ import annotations

from membership.errors import Conflict, MembershipError


class BackupInvalid(MembershipError):
    """A backup (or a database restored from one) failed verification, or is not a backup."""

    code = "backup_invalid"
    status = 422
    message_en = "Backup {file} failed verification: {problem}"
    message_zh = "备份 {file} 校验未通过：{problem}"


class BackupFailed(MembershipError):
    """An external tool (pg_dump, pg_restore) or the database refused the work."""

    code = "backup_failed"
    status = 500
    message_en = "{tool} failed: {error}"
    message_zh = "{tool} 执行失败：{error}"


class RestoreRefused(Conflict):
    """Restoring would replace data, or the database is in use."""

    code = "restore_refused"
    message_en = "Not restored into {database}: {reason}"
    message_zh = "未恢复到 {database}：{reason}"
