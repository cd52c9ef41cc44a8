"""A throwaway PostgreSQL cluster for tests and benchmarks, started with the machine's binaries.

``initdb`` refuses to run as root, so as root the cluster is created and run as the ``postgres``
user. The cluster listens on 127.0.0.1 at a free port, trusts local connections and is removed on
:meth:`ThrowawayCluster.stop`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def pg_bindir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl`` (``$MEMBERSHIP_PG_BINDIR``, Debian's, or ``PATH``)."""
    explicit = os.environ.get("MEMBERSHIP_PG_BINDIR")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(command: str) -> None:
    if os.geteuid() == 0:
        subprocess.run(["su", "postgres", "-s", "/bin/bash", "-c", command], check=True, capture_output=True)
    else:
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary folder; ``dsn`` is ``postgresql://postgres@127.0.0.1:PORT``.

    ``durable=False`` turns fsync off (tests); benchmarks keep the defaults so commits are real.
    ``settings`` are more server settings (``{"shared_buffers": "4GB"}``).
    """

    def __init__(
        self, bindir: Path, durable: bool = True, max_connections: int = 200, settings: dict[str, str] | None = None
    ) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="membership-pg-"))
        self.port = free_port()
        self.durable = durable
        self.max_connections = max_connections
        self.settings = settings or {}

    @property
    def dsn(self) -> str:
        """The server's address, without a database name."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, database: str, socket: bool = False) -> str:
        """The address of ``database``: over TCP, or (``socket``) over the server's Unix socket,
        which spares each statement the loopback TCP stack (a client on the server's machine)."""
        if socket:
            return f"postgresql://postgres@/{database}?host={self.root / 'sock'}&port={self.port}"
        return f"{self.dsn}/{database}"

    def start(self) -> ThrowawayCluster:
        """initdb and start; returns self."""
        os.chmod(self.root, 0o777)
        data, sockets = self.root / "data", self.root / "sock"
        sockets.mkdir()
        os.chmod(sockets, 0o777)
        _as_postgres(f"{self.bindir}/initdb -D {data} --auth=trust -U postgres -E UTF8 --no-sync >/dev/null")
        options = f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections={self.max_connections}"
        if not self.durable:
            options += " -c fsync=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        _as_postgres(f'{self.bindir}/pg_ctl -D {data} -l {self.root}/log -w -o "{options}" start')
        return self

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            _as_postgres(f"{self.bindir}/pg_ctl -D {self.root / 'data'} -m immediate stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
