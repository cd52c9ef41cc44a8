"""Engine selection: an embedded SQLite file (default) or PostgreSQL.

Piccolo tables find their engine through ``membership.db.piccolo_conf``; :func:`open_database`
builds the engine from settings and binds every kernel and plugin table to it, so tests can switch
between SQLite and PostgreSQL within one process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from membership.config import Settings
from membership.db.buckets import percent_bucket
from membership.db.ids import new_id_text
from membership.errors import NotConfigured

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536  # page cache per connection (64 MiB)
SQLITE_WAL_LIMIT_PAGES = 50_000  # about 200 MB: then a big job lets the checkpoint catch up
R = TypeVar("R")
log = logging.getLogger(__name__)

_state: dict[str, Any] = {"engine": None, "settings": None}
_caches: list[MutableMapping[Any, Any]] = []


def database_cache(cache: MutableMapping[Any, Any]) -> MutableMapping[Any, Any]:
    """Register ``cache`` (e.g. a ``cachetools.TTLCache``) as holding values read from the current
    database: it is emptied whenever a database is opened or closed."""
    _caches.append(cache)
    return cache


def clear_caches() -> None:
    """Forget everything the database caches keep (programs, rules, promotions, keys…): done when a
    database is opened or closed, and by whoever changed rows behind the kernel's back."""
    for cache in _caches:
        cache.clear()


def _uuid4_text() -> str:  # gen_random_uuid(), as early migrations call it
    return str(uuid.uuid4())


class InlineConnection:
    """A sqlite3 connection driven from the event loop, for the few awaits Piccolo makes of it.

    SQLite runs in-process and a statement takes microseconds, so statements run inline: no
    thread hand-off per statement (aiosqlite makes three or four, ~0.1 ms each, which dominated a
    purchase). The two operations that can wait run in a worker thread: ``BEGIN IMMEDIATE`` (waits
    for another process's write lock, up to the busy timeout: :meth:`_begin`) and ``COMMIT`` (waits
    for fsync).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.waited = False  # the last BEGIN found another process holding the write lock
        # held while a statement runs: closing waits for a COMMIT still running in a worker thread
        # (its task may have been cancelled meanwhile), as closing under it crashes the process
        self.running = threading.Lock()

    async def execute(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        """Run one statement and return its rows."""
        head = sql.lstrip()[:6].upper()
        if head.startswith("BEGIN"):
            return await asyncio.to_thread(self._begin, sql)
        if head.startswith(("COMMIT", "END")):
            return await asyncio.to_thread(self._run, sql, args)
        return self._run(sql, args)

    def _begin(self, sql: str) -> list[dict[str, Any]]:
        """Start a transaction, polling every millisecond while another process holds the write
        lock (up to the busy timeout). SQLite's own busy handler backs off to 100 ms sleeps, so a
        process that commits and begins again at once (a job's next chunk) would keep the lock
        from a till that waits; polling takes the lock in the moment between two chunks."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        self.connection.execute("PRAGMA busy_timeout = 0")
        self.waited = False
        try:
            while True:
                try:
                    return self._run(sql, ())
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                        raise
                self.waited = True
                time.sleep(0.001)
        finally:
            self.connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    def _run(self, sql: str, args: Any) -> list[dict[str, Any]]:
        with self.running:
            cursor = self.connection.execute(sql, args or ())
            try:
                return cursor.fetchall()
            finally:
                cursor.close()

    async def close(self) -> None:
        """Close the connection (once a statement running in a worker thread is done)."""
        if not self.running.acquire(blocking=False):
            await asyncio.to_thread(self.running.acquire)
        try:
            self.connection.close()
        finally:
            self.running.release()


class _Connections:
    """One event loop's persistent connections: the writer, and a small pool of readers."""

    def __init__(self) -> None:
        self.writer: InlineConnection | None = None
        self.idle: list[InlineConnection] = []
        self.readers: list[InlineConnection] = []
        self.opened = 0
        self.freed = asyncio.Condition()
        self.checkpointer: InlineConnection | None = None  # used by one worker thread at a time
        self.checkpoint_lock = threading.Lock()
        self.checkpointing = False
        self.wal_pages = 0  # in the WAL at the last checkpoint
        self.closed = False

    def all(self) -> list[InlineConnection]:
        return [c for c in (self.writer, *self.readers) if c is not None]


class _CommitGroup:
    """Use cases that share one SQLite transaction (and one fsync), each in its own savepoint."""

    def __init__(self, engine: MembershipSQLiteEngine, connection: InlineConnection, durable: bool = True) -> None:
        self.engine = engine
        self.connection = connection
        self.durable = durable  # False: a job's chunk alone, committed without waiting for the disk
        self.transaction = _PooledTransaction(engine=engine, transaction_type=TransactionType.immediate)
        self.transaction.connection = connection
        self.transaction.write = True
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.savepoints = 0
        self.members = 0
        self.failed = False  # a job's chunk (alone in the group, without a savepoint) failed: roll back

    async def finish(self) -> None:
        """Commit every member's work at once; on failure, none of it (and all of them hear why)."""
        try:
            if not self.failed:
                await self.connection.execute("COMMIT")
            elif self.connection.connection.in_transaction:
                await self.connection.execute("ROLLBACK")
        except BaseException as exc:
            try:
                await self.connection.execute("ROLLBACK")
            finally:
                await self.resume_full_sync()
                self.done.set_exception(exc)
                if not self.members:
                    self.done.exception()  # nobody waits for it: mark it seen
            return
        await self.resume_full_sync()
        self.done.set_result(None)
        self.engine.checkpoint_soon()

    async def resume_full_sync(self) -> None:
        if not self.durable:
            await self.connection.execute("PRAGMA synchronous = FULL")


class _Writes:
    """One event loop's write queue: the lock, the open commit group, how many wait."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.group: _CommitGroup | None = None
        self.waiting = 0


class _PooledTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on a pooled connection, given back instead of closed."""

    __slots__ = ("write",)

    async def get_connection(self) -> InlineConnection:
        self.write = self.transaction_type is TransactionType.immediate
        return await self.engine.acquire(write=self.write)

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        healthy = True
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            healthy = False
            raise
        finally:
            await self.engine.release(self.connection, write=self.write, healthy=healthy)
            self.engine.current_transaction.reset(self.context)
        return exception is None


class MembershipSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with the pragmas the ledger relies on and persistent connections.

    Every connection runs with ``synchronous=FULL`` (an acknowledged commit survives a power
    cut), a busy timeout, foreign keys, and ``uuid7()`` (and ``gen_random_uuid()``) SQL functions
    so set-based inserts read the same on SQLite and PostgreSQL; WAL checkpoints run beside the
    writer (:meth:`checkpoint_soon`). Connections are opened once and kept (Piccolo
    opens one, with an aiosqlite thread, per query or transaction) and run statements inline
    (:class:`InlineConnection`): write transactions share one writer connection, queued on an
    asyncio lock instead of SQLite's busy handler, with group commit (:meth:`write`); reads use
    reader connections (WAL lets them run beside the writer). Other processes are kept out by
    ``BEGIN IMMEDIATE`` and the busy timeout. Connections are kept per event loop;
    :meth:`close_connections` closes them.
    """

    READERS = 4
    MAX_GROUP = 64

    def __init__(self, path: str) -> None:
        super().__init__(path=path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        self._writes: dict[int, _Writes] = {}
        self._pools: dict[int, _Connections] = {}

    async def write(self, body: Callable[[], Awaitable[R]], durable: bool = True) -> R:
        """Run ``body`` as one write use case, with group commit.

        Use cases queue on an asyncio lock and run one at a time, each in a savepoint of a shared
        ``BEGIN IMMEDIATE`` transaction (a failing one rolls back to its savepoint alone). The
        last of a run of queued use cases (or the ``MAX_GROUP``-th) commits for all of them, in a
        thread, while new arrivals queue for the next group; each returns only after that commit,
        so nothing is acknowledged before it is durable, and one fsync serves many purchases.

        A job's chunk (``durable=False``) runs in a transaction of its own, which the next durable
        commit makes durable: ``synchronous=NORMAL`` commits to the WAL without waiting for the
        disk, and every later ``FULL`` commit syncs the WAL up to itself. A crash loses at most the
        last chunks, which the job does again on its next run.
        """
        loop_id = id(asyncio.get_running_loop())
        writes = self._writes.get(loop_id)
        if writes is None:
            writes = self._writes[loop_id] = _Writes()
        writes.waiting += 1
        try:
            await writes.lock.acquire()
        finally:
            writes.waiting -= 1
        try:
            group = writes.group
            if group is not None and not durable:  # the open group (of tills) commits first
                writes.group = None
                await group.finish()
                group = None
            if group is None:
                connection = await self.acquire(write=True)
                group = _CommitGroup(self, connection, durable)
                if not durable:
                    await connection.execute("PRAGMA synchronous = NORMAL")
                try:
                    await connection.execute("BEGIN IMMEDIATE")
                except BaseException:
                    await group.resume_full_sync()
                    raise
                writes.group = group
            # tills sharing a transaction each run in a savepoint; a job's chunk, alone in its own,
            # runs without: inside a savepoint SQLite copies every page before its first change
            # to a sub-journal, which made a big chunk's inserts three times slower
            savepoint = None
            if group.durable:
                group.savepoints += 1
                savepoint = f"use_case_{group.savepoints}"
                await group.connection.execute(f"SAVEPOINT {savepoint}")
            token = self.current_transaction.set(group.transaction)
            try:
                result = await body()
            except BaseException:
                if savepoint is None:
                    group.failed = True
                else:
                    await group.connection.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    await group.connection.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            finally:
                self.current_transaction.reset(token)
            if savepoint is not None:
                await group.connection.execute(f"RELEASE SAVEPOINT {savepoint}")
            group.members += 1
        finally:
            pending = writes.group
            if pending is not None and (
                writes.waiting == 0 or pending.members >= self.MAX_GROUP or not pending.durable
            ):
                writes.group = None
                await pending.finish()
            writes.lock.release()
        await group.done  # raises when the shared commit failed: then nothing of this use case is kept
        return result

    async def get_connection(self) -> InlineConnection:
        return self._connect()

    def _connect(self) -> InlineConnection:
        connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
        connection.row_factory = dict_factory
        connection.execute("PRAGMA foreign_keys = 1")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # the 2 MB default thrashes on big files
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoint_soon() does it beside the writer
        connection.create_function("gen_random_uuid", 0, _uuid4_text)
        connection.create_function("uuid7", 0, new_id_text)
        connection.create_function("percent_bucket", 1, percent_bucket, deterministic=True)
        return InlineConnection(connection)

    def contended(self) -> bool:
        """Whether other writers want the write lock: use cases of this process queue for it, or
        this process last had to wait for another's (a server's tills, when a job runs apart)."""
        writes = self._writes.get(id(asyncio.get_running_loop()))
        writer = self._pool().writer
        return bool(writes and writes.waiting) or bool(writer and writer.waited)

    def checkpoint_soon(self) -> None:
        """After a commit: copy the WAL back into the database file in a worker thread, on a
        connection of its own, unless a copy is under way. SQLite would otherwise checkpoint inside
        the commit that fills 1000 WAL pages, so the writer (and every till queued behind it)
        waited for the copy and its fsync. A passive checkpoint never blocks readers or the writer;
        the WAL is durable before the commit returns, so an interrupted copy loses nothing."""
        pool = self._pool()
        if not pool.checkpointing:
            pool.checkpointing = True
            asyncio.get_running_loop().run_in_executor(None, self._checkpoint, pool)

    async def drain_wal(self) -> None:
        """For a big job, between its chunks: once the WAL holds ``SQLITE_WAL_LIMIT_PAGES``, wait
        until a checkpoint copied all of it back, so the next write starts the WAL over. A writer
        that never pauses starves the checkpoints beside it (the WAL is started over only at a
        write that finds it all copied): the WAL would grow by gigabytes through a job, every
        page read would search it, and every page written would extend a file."""
        pool = self._pool()
        if pool.wal_pages >= SQLITE_WAL_LIMIT_PAGES:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpoint, pool)

    def _checkpoint(self, pool: _Connections) -> None:
        try:
            with pool.checkpoint_lock:
                if pool.closed:
                    return
                if pool.checkpointer is None:
                    pool.checkpointer = self._connect()
                done = pool.checkpointer.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                pool.wal_pages = done["log"]
        except Exception:  # e.g. another process checkpoints: the next commit tries again
            log.warning("WAL checkpoint skipped", exc_info=True)
        finally:
            pool.checkpointing = False

    def _pool(self) -> _Connections:
        loop_id = id(asyncio.get_running_loop())
        pool = self._pools.get(loop_id)
        if pool is None:
            pool = self._pools[loop_id] = _Connections()
        return pool

    async def acquire(self, write: bool) -> InlineConnection:
        """The writer connection (the caller holds the write lock) or an idle reader."""
        pool = self._pool()
        if write:
            if pool.writer is None:
                pool.writer = await self.get_connection()
            return pool.writer
        async with pool.freed:
            while not pool.idle and pool.opened >= self.READERS:
                await pool.freed.wait()
            if pool.idle:
                return pool.idle.pop()
            pool.opened += 1
        try:
            connection = await self.get_connection()
        except BaseException:
            pool.opened -= 1
            raise
        pool.readers.append(connection)
        return connection

    async def release(self, connection: InlineConnection, write: bool, healthy: bool = True) -> None:
        """Give a connection back; a broken one is closed and forgotten."""
        pool = self._pool()
        if not healthy:
            if write:
                pool.writer = None
            else:
                pool.readers.remove(connection)
                pool.opened -= 1
            await connection.close()
        elif not write:
            pool.idle.append(connection)
        if not write:
            async with pool.freed:
                pool.freed.notify()

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _PooledTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        connection = await self.acquire(write=False)
        try:
            return await connection.execute(query, args)
        finally:
            await self.release(connection, write=False)

    async def _run_in_existing_connection(self, connection, query, args=None, query_type="generic", table=None):
        return await connection.execute(query, args)

    async def batch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("membership does not use Piccolo's batch() on SQLite")

    async def close_connections(self) -> None:
        """Close every kept connection."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            with pool.checkpoint_lock:  # waits for a checkpoint under way
                pool.closed = True
                if pool.checkpointer is not None:
                    await pool.checkpointer.close()
            for connection in pool.all():
                await connection.close()


def make_engine(settings: Settings) -> Engine:
    """Build (but do not connect) the engine the settings name."""
    url = settings.database_url
    if settings.is_sqlite:
        if sqlite3.sqlite_version_info < (3, 35):
            raise NotConfigured(what="SQLite", hint=f"3.35 or newer needed, found {sqlite3.sqlite_version}")
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as connection:  # WAL is a property of the file: set it once
            connection.execute("PRAGMA journal_mode = WAL")
        return MembershipSQLiteEngine(path=str(path))
    if url.startswith(("postgresql://", "postgres://", "cockroachdb://")):
        try:
            from piccolo.engine.postgres import PostgresEngine
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise NotConfigured(
                what="PostgreSQL", hint="install the extra: pip install 'membership[postgres]'"
            ) from exc
        dsn = url.replace("cockroachdb://", "postgresql://", 1)
        return PostgresEngine(config={"dsn": dsn})
    raise NotConfigured(what="database_url", hint=f"unsupported URL {url!r} (sqlite:/// or postgresql://)")


async def _keep_session(connection: Any) -> None:
    """Return a PostgreSQL connection to the pool as it is. asyncpg's default reset sends one more
    round trip per release (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``, three
    of a purchase's statements); the kernel keeps no session state (only transaction-level advisory
    locks and ``SET LOCAL``) and asyncpg still rolls back a transaction left open."""


# The array types statements bind (``= ANY(…)``, ``unnest`` of rows): asyncpg knows only text[]
# and oid[] by heart and asks the catalog for any other, once per connection.
BOUND_ARRAYS = ("uuid", "int2", "int4", "int8", "bool", "date", "timestamptz", "numeric", "varchar", "name")


async def _citus_session(connection: Any) -> None:
    """A new connection's session on Citus (nothing on plain PostgreSQL but the check).

    A transaction's statements over many shards run on one connection per worker
    (``multi_shard_modify_mode = sequential``), so a transaction that read several programs' rows
    may still write a reference table (a program, a store) after it, which Citus refuses after a
    parallel read. Statements the kernel runs in a transaction name one program and reach one
    shard anyway.

    The connection also learns the array types statements bind, here, with Citus's shard hiding
    off: hiding filters every ``pg_class`` scan through a function call per row, which makes
    asyncpg's type query take about a second on a coordinator, and 32 tills opening connections
    at once waited 10 to 30 s for it (one lock manager for them all). Hiding is back on before
    the connection is used."""
    if not await connection.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'citus'"):
        return
    await connection.execute(
        "SET citus.multi_shard_modify_mode = sequential; SET citus.override_table_visibility = off"
    )
    casts = ", ".join(f"CAST(${n} AS {kind}[])" for n, kind in enumerate(BOUND_ARRAYS, 1))
    await connection.fetchrow(f"SELECT {casts}", *([None] * len(BOUND_ARRAYS)))
    await connection.execute("SET citus.override_table_visibility = on")


def bind_tables(engine: Engine) -> None:
    """Point every kernel and plugin table (and Piccolo's migration table) at ``engine``."""
    from membership.db.piccolo_conf import app_registry

    for app_config in app_registry().app_configs.values():
        for table in app_config.table_classes:
            table._meta.db = engine
    Migration._meta.db = engine


async def open_database(settings: Settings) -> Engine:
    """Connect to the database the settings name and make it the current engine."""
    await close_database()
    engine = make_engine(settings)
    if not isinstance(engine, SQLiteEngine):
        size = max(2, settings.pg_pool_size)
        await engine.start_connection_pool(
            min_size=min(2, size), max_size=size, reset=_keep_session, init=_citus_session
        )
    _state["engine"], _state["settings"] = engine, settings
    clear_caches()
    bind_tables(engine)
    return engine


async def close_database() -> None:
    """Close the current engine's connections (after the background event deliveries of this
    process are done: they use the database)."""
    from membership.outbox.service import wait_for_background

    if _state["engine"] is not None:
        await wait_for_background()
    engine = _state["engine"]
    _state["engine"] = None
    clear_caches()
    if isinstance(engine, MembershipSQLiteEngine):
        await engine.close_connections()
    elif engine is not None and not isinstance(engine, SQLiteEngine) and engine.pool:
        await engine.close_connection_pool()


def current_engine() -> Engine:
    """The engine :func:`open_database` opened."""
    engine = _state["engine"]
    if engine is None:
        raise NotConfigured(what="database", hint="open_database(settings) was not called")
    return engine


def current_settings() -> Settings:
    """The settings the current database was opened with."""
    settings = _state["settings"]
    if settings is None:
        raise NotConfigured(what="database", hint="open_database(settings) was not called")
    return settings


def is_sqlite() -> bool:
    """True when the current engine is SQLite (dialect differences are few and named)."""
    return isinstance(current_engine(), SQLiteEngine)
