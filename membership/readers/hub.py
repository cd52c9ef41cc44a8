"""Fan-out of recorded reads to the counter screens of this process.

``membership reader listen`` may run in another process or on another machine; it writes each
read to the database. A server process keeps one poller (while anyone listens) that fetches new
reads every ``interval`` seconds in one indexed query and hands each subscriber the reads of its
program and store. Polling looks back ``overlap`` seconds, and remembers what it delivered, so a
read committed a moment after a later one is still delivered, once (stations' clocks are assumed
synchronised by NTP to well within ``overlap``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator

from cachetools import TTLCache

from membership.db.engine import database_cache
from membership.readers.service import ReadOutcome, recent_reads

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class _Subscriber:
    program_id: uuid.UUID
    store_id: uuid.UUID | None
    queue: asyncio.Queue[ReadOutcome]

    def wants(self, read: ReadOutcome) -> bool:
        return read.program_id == self.program_id and self.store_id in (None, read.store_id)


class ReadHub:
    """Subscribers of one process and the poller that feeds them."""

    def __init__(self, interval: float = 0.25, overlap: float = 5.0) -> None:
        self.interval = interval
        self.overlap = dt.timedelta(seconds=overlap)
        self._subscribers: set[_Subscriber] = set()
        self._poller: asyncio.Task[None] | None = None
        self._delivered: TTLCache[uuid.UUID, bool] = TTLCache(maxsize=100_000, ttl=overlap * 4)

    @contextlib.asynccontextmanager
    async def subscribe(self, program_id: uuid.UUID, store_id: uuid.UUID | None) -> AsyncIterator[asyncio.Queue]:
        """A queue that receives every read of the program (and store, if given) from now on."""
        subscriber = _Subscriber(program_id, store_id, asyncio.Queue(maxsize=1000))
        self._subscribers.add(subscriber)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(dt.datetime.now(dt.UTC) - self.overlap))
        try:
            yield subscriber.queue
        finally:
            self._subscribers.discard(subscriber)
            if not self._subscribers and self._poller is not None:
                self._poller.cancel()
                self._poller = None

    async def _poll(self, since: dt.datetime) -> None:
        while self._subscribers:
            try:
                reads = await recent_reads(since=since, limit=500)
            except Exception:  # a database hiccup must not end every counter's stream
                log.exception("polling reader reads failed; retrying")
                reads = []
            for read in reads:
                if read.id in self._delivered:
                    continue
                self._delivered[read.id] = True
                for subscriber in list(self._subscribers):
                    if subscriber.wants(read) and not subscriber.queue.full():
                        subscriber.queue.put_nowait(read)
            if reads:
                since = max(since, reads[-1].occurred_at - self.overlap)
            await asyncio.sleep(self.interval)


_hubs: dict[str, ReadHub] = database_cache({})  # type: ignore[assignment]


def read_hub() -> ReadHub:
    """The hub of the open database (one per process and database)."""
    if "hub" not in _hubs:
        _hubs["hub"] = ReadHub()
    return _hubs["hub"]
