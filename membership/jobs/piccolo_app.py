"""Piccolo app: job leases and runs."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from membership.jobs.tables import JobLease, JobRun

APP_CONFIG = AppConfig(
    app_name="jobs",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[JobLease, JobRun],
)
