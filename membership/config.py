"""Settings from ``membership.toml`` and ``MEMBERSHIP_*`` environment variables.

The file is looked up in ``$MEMBERSHIP_CONFIG`` or the current folder; environment variables win
over the file. ``membership init`` writes a file with a fresh secret key.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from membership.errors import NotConfigured, Reason, ValidationError

CONFIG_FILE = "membership.toml"
DEFAULT_DATABASE_URL = "sqlite:///membership.db"

_ENV = {
    "database_url": "MEMBERSHIP_DATABASE_URL",
    "secret_key": "MEMBERSHIP_SECRET_KEY",
    "old_secret_keys": "MEMBERSHIP_OLD_SECRET_KEYS",
    "time_zone": "MEMBERSHIP_TIME_ZONE",
    "language": "MEMBERSHIP_LANGUAGE",
    "idempotency_ttl_days": "MEMBERSHIP_IDEMPOTENCY_TTL_DAYS",
    "pg_pool_size": "MEMBERSHIP_PG_POOL_SIZE",
    "scheduler": "MEMBERSHIP_SCHEDULER",
    "job_workers": "MEMBERSHIP_JOB_WORKERS",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the kernel needs to run; immutable once loaded."""

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    old_secret_keys: tuple[str, ...] = ()  # while `membership keys rotate` moves data off them
    time_zone: str = "Asia/Shanghai"
    language: str = "zh"
    idempotency_ttl_days: int = 7
    pg_pool_size: int = 10
    scheduler: bool = True  # run scheduled jobs inside `membership serve` (schedules in time_zone)
    job_workers: int = 2  # connections a big job (expiry, tier review) works on at once; PostgreSQL only
    base_dir: Path = dataclasses.field(default_factory=Path.cwd)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(
                field="time_zone", reason=Reason(f"unknown zone {self.time_zone!r}", f"未知时区 {self.time_zone!r}")
            ) from exc
        if self.idempotency_ttl_days < 1:
            raise ValidationError(field="idempotency_ttl_days", reason=Reason("must be at least 1", "至少为 1"))
        if not 1 <= self.job_workers <= 16:
            raise ValidationError(field="job_workers", reason=Reason("from 1 to 16", "应为 1 到 16"))

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file, resolved against the folder of the configuration."""
        raw = self.database_url.removeprefix("sqlite:///").removeprefix("sqlite://")
        path = Path(raw)
        return path if path.is_absolute() else self.base_dir / path

    def master_key(self) -> bytes:
        """The 32-byte master key that personal-data encryption and hashing derive from."""
        if not self.secret_key:
            raise NotConfigured(
                what="secret_key",
                hint="run `membership init` or set MEMBERSHIP_SECRET_KEY",
            )
        return decode_key("secret_key", self.secret_key)

    def master_keys(self) -> list[bytes]:
        """The current master key, then the old ones a key rotation still reads."""
        return [self.master_key(), *(decode_key("old_secret_keys", key) for key in self.old_secret_keys)]


def decode_key(field: str, text: str) -> bytes:
    """The 32 bytes of a base64url key; a clear error naming ``field`` otherwise."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ValidationError(field=field, reason=Reason("not base64", "不是 base64 编码")) from exc
    if len(key) != 32:
        raise ValidationError(field=field, reason=Reason("must decode to 32 bytes", "解码后须为 32 字节"))
    return key


def new_secret_key() -> str:
    """A fresh random master key, base64url encoded (what ``membership init`` writes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def config_path() -> Path:
    """Where the configuration file is (or would be written)."""
    return Path(os.environ.get("MEMBERSHIP_CONFIG") or Path.cwd() / CONFIG_FILE)


def load_settings(path: Path | None = None) -> Settings:
    """Read the configuration file (when present) and apply environment overrides."""
    path = path or config_path()
    values: dict[str, object] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(field=str(path), reason=str(exc)) from exc
        values.update(data.get("membership", {}))
        values["base_dir"] = path.parent.resolve()
    for name, env in _ENV.items():
        if os.environ.get(env):
            values[name] = os.environ[env]
    for name in ("idempotency_ttl_days", "pg_pool_size", "job_workers"):
        if name in values:
            try:
                values[name] = int(values[name])  # type: ignore[call-overload]
            except ValueError as exc:
                raise ValidationError(field=name, reason=Reason("must be a whole number", "须为整数")) from exc
    old = values.get("old_secret_keys")
    if isinstance(old, str):  # the environment's comma-separated list
        values["old_secret_keys"] = tuple(key.strip() for key in old.split(",") if key.strip())
    elif isinstance(old, list):
        values["old_secret_keys"] = tuple(str(key) for key in old)
    if isinstance(values.get("scheduler"), str):
        flag = str(values["scheduler"]).strip().lower()
        if flag not in ("true", "false", "1", "0", "on", "off"):
            raise ValidationError(field="scheduler", reason=Reason("true or false", "应为 true 或 false"))
        values["scheduler"] = flag in ("true", "1", "on")
    unknown = set(values) - {f.name for f in dataclasses.fields(Settings)}
    if unknown:
        raise ValidationError(
            field=str(path), reason=Reason(f"unknown settings {sorted(unknown)}", f"未知设置项 {sorted(unknown)}")
        )
    return Settings(**values)  # type: ignore[arg-type]


def write_config(path: Path, database_url: str = DEFAULT_DATABASE_URL) -> None:
    """Write a new configuration file with a fresh secret key (refuses to overwrite)."""
    if path.exists():
        raise ValidationError(field=str(path), reason=Reason("already exists; not overwritten", "已存在，未覆盖"))
    path.write_text(
        "# membership configuration; environment variables MEMBERSHIP_* override these.\n"
        "[membership]\n"
        f'database_url = "{database_url}"\n'
        "# Keep this key secret and backed up: personal data cannot be read without it.\n"
        f'secret_key = "{new_secret_key()}"\n'
        'time_zone = "Asia/Shanghai"\n'
        'language = "zh"\n'
        "idempotency_ttl_days = 7\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
