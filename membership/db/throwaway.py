"""Throwaway PostgreSQL clusters for tests and benchmarks, started with the machine's binaries:
one server, or a Citus cluster (a coordinator and workers on one machine).

``initdb`` refuses to run as root, so as root the cluster is created and run as the ``postgres``
user. The cluster listens on 127.0.0.1 at a free port, trusts local connections and is removed on
:meth:`ThrowawayCluster.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
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

    async def execute(self, database: str, statement: str, *args: object) -> None:
        """Run one statement in ``database`` on this server, on a connection of its own."""
        import asyncpg

        conn = await asyncpg.connect(f"{self.dsn}/{database}")
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    def start(self) -> ThrowawayCluster:
        """initdb and start; returns self."""
        os.chmod(self.root, 0o777)
        data, sockets = self.root / "data", self.root / "sock"
        sockets.mkdir()
        os.chmod(sockets, 0o777)
        _as_postgres(f"{self.bindir}/initdb -D {data} --auth=trust -U postgres -E UTF8 --no-sync >/dev/null")
        return self.resume()

    def resume(self) -> ThrowawayCluster:
        """Start the server on its existing files (after :meth:`kill`: crash recovery); returns self."""
        sockets = self.root / "sock"
        options = f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections={self.max_connections}"
        if not self.durable:
            options += " -c fsync=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        _as_postgres(f'{self.bindir}/pg_ctl -D {self.root / "data"} -l {self.root}/log -w -o "{options}" start')
        return self

    def kill(self) -> None:
        """``kill -9`` the server and all its processes at once, as a crash of its machine would
        stop it; :meth:`resume` starts it again."""
        pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        processes = [pid, *map(int, children.split())]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in processes) and time.monotonic() < deadline:
            time.sleep(0.05)  # gone (reaped) before it may start again on the same files

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            with contextlib.suppress(subprocess.CalledProcessError):  # not running (killed): nothing to stop
                _as_postgres(f"{self.bindir}/pg_ctl -D {self.root / 'data'} -m immediate stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


CITUS_NODE_SETTINGS = {
    "shared_preload_libraries": "citus",
    "max_prepared_transactions": "200",  # two-phase commits of transactions over several nodes
    "citus.enable_repartition_joins": "on",  # reports joining tables by other columns than the program
}


def citus_available(bindir: Path) -> bool:
    """True when the Citus extension is installed for these binaries (``../shared/vendor/citus``)."""
    libdir = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True)
    folder = Path(libdir.stdout.strip()) if libdir.returncode == 0 else bindir.parent / "lib"
    return (folder / "citus.so").exists()


class ThrowawayCitus:
    """A Citus cluster in temporary folders: a coordinator (``dsn``) and ``workers`` servers, each
    a :class:`ThrowawayCluster` with Citus preloaded and ``settings`` on every node.
    :meth:`create_database` makes a database on every node (Citus keeps a distributed table's
    shards in the worker's database of the same name), with the extension and the nodes
    registered; ``template`` copies one on every node."""

    def __init__(
        self,
        bindir: Path,
        workers: int = 2,
        durable: bool = True,
        max_connections: int = 300,
        settings: dict[str, str] | None = None,
    ) -> None:
        def node() -> ThrowawayCluster:
            return ThrowawayCluster(bindir, durable, max_connections, {**CITUS_NODE_SETTINGS, **(settings or {})})

        self.coordinator = node()
        self.workers = [node() for _ in range(workers)]

    @property
    def nodes(self) -> list[ThrowawayCluster]:
        """The coordinator, then the workers."""
        return [self.coordinator, *self.workers]

    @property
    def dsn(self) -> str:
        """The coordinator's address, without a database name: the application connects here."""
        return self.coordinator.dsn

    def url(self, database: str, socket: bool = False) -> str:
        """The coordinator's address of ``database`` (over TCP, or its Unix socket)."""
        return self.coordinator.url(database, socket)

    def start(self) -> ThrowawayCitus:
        """Start every node; returns self."""
        for n in self.nodes:
            n.start()
        return self

    def stop(self) -> None:
        """Stop every node and remove its files."""
        for n in self.nodes:
            n.stop()

    async def create_database(self, name: str, template: str | None = None) -> None:
        """``name`` on every node: a copy of ``template`` (which is then already a Citus database
        naming the same nodes), or a new database made a Citus one (:meth:`make_distributed`)."""
        if not template:
            await self.coordinator.execute("postgres", f"CREATE DATABASE {name}")
            await self.make_distributed(name)
            return
        import asyncpg

        for n in self.nodes:
            for attempt in range(20):  # Citus's maintenance daemon connects to the template again and again
                await n.execute(
                    "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", template
                )
                try:
                    await n.execute("postgres", f"CREATE DATABASE {name} TEMPLATE {template}")
                    break
                except asyncpg.ObjectInUseError:
                    if attempt == 19:
                        raise
                    await asyncio.sleep(0.05)

    async def make_distributed(self, name: str) -> None:
        """Make the coordinator's database ``name`` (new, or a plain PostgreSQL database in use) a
        Citus one, by the steps of docs/scaling.md: the database on each worker, the extension on
        every node, the coordinator and the workers registered."""
        for w in self.workers:
            await w.execute("postgres", f"CREATE DATABASE {name}")
        for n in self.nodes:
            await n.execute(name, "CREATE EXTENSION citus")
        await self.coordinator.execute(
            name, "SELECT citus_set_coordinator_host('127.0.0.1', $1)", self.coordinator.port
        )
        for w in self.workers:
            await self.coordinator.execute(name, "SELECT citus_add_node('127.0.0.1', $1)", w.port)
