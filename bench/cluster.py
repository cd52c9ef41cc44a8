"""Where a benchmark's database lives: a SQLite file or a database on a throwaway PostgreSQL
cluster (fsync on: commits are real), in a folder removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from membership.config import Settings, new_secret_key
from membership.db.throwaway import ThrowawayCluster, pg_bindir


class NoPostgres(Exception):
    """The machine has no PostgreSQL binaries."""


@contextlib.contextmanager
def bench_database(db: str, name: str, server_settings: dict[str, str]) -> Iterator[tuple[Settings, Path]]:
    """(settings, folder) of a fresh ``db`` ("sqlite" or "postgres"), PostgreSQL started with
    ``server_settings``; stopped and removed on leaving."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{db}-"))
    cluster = None
    try:
        if db == "sqlite":
            url = f"sqlite:///{folder}/m.db"
        else:
            bindir = pg_bindir()
            if bindir is None:
                raise NoPostgres("PostgreSQL binaries (initdb, pg_ctl) not found: set MEMBERSHIP_PG_BINDIR")
            cluster = ThrowawayCluster(bindir, settings=server_settings)
            cluster.start()
            createdb = [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "bench"]
            subprocess.run(createdb, check=True)
            url = f"{cluster.dsn}/bench"
        yield Settings(database_url=url, secret_key=new_secret_key(), base_dir=folder), folder
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
