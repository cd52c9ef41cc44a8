"""Writing events to the outbox with their change, and delivering them after the commit.

A use case's events are written in its own transaction (:func:`write`), with one delivery row
per listener enabled for the program: a change that rolls back leaves no event, and a committed
one always has its events. After the commit the process tries them at once in the background
(:func:`deliver_soon`), so a slow listener never holds a till up; the ``deliver-events`` job
retries what failed with growing pauses (5 s, 10 s, 20 s … up to :data:`MAX_ATTEMPTS`, then
``dead``, shown on the plugins page) and catches what a crash left behind. Each listener is
called on its own: one that raises or hangs neither stops nor slows the others.

Delivery is at least once: a listener uses ``event.id`` to ignore a repeat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import inspect
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from membership.db import fetch, fetch_one, is_sqlite, placeholders, use_case
from membership.db.ids import new_id
from membership.events import Event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_PAUSE = dt.timedelta(seconds=5)
LEASE = dt.timedelta(seconds=60)  # a claimed delivery is someone else's to retry after this
LISTENER_TIMEOUT_SECONDS = 30.0
BATCH = 200
PURGE_CHUNK = 1000  # old events looked at per transaction when forgetting them
_background: set[asyncio.Task[Any]] = set()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _listeners(program_id: uuid.UUID, programs: dict[uuid.UUID, Any]) -> list[str]:
    from membership.plugins import hooks

    return hooks().event_listener_names(programs[program_id])


async def write(events: list[Event]) -> list[uuid.UUID]:
    """Inside the use case's transaction: store ``events`` and a pending delivery per listener
    enabled for each event's program (none: nothing stored). Two statements however many."""
    from membership.org.service import get_program

    programs = {pid: await get_program(pid) for pid in {event.program_id for event in events}}
    rows, deliveries, now = [], [], _now()
    for event in events:
        listeners = _listeners(event.program_id, programs)
        if not listeners:
            continue
        data = msgspec.json.encode(event.data).decode()
        rows += [event.id, event.program_id, event.member_id, event.name, data, event.occurred_at]
        for listener in listeners:
            deliveries += [new_id(), event.id, listener, now]
    if not rows:
        return []
    count = len(rows) // 6
    await fetch(
        "INSERT INTO event_outbox (id, program_id, member_id, name, data, occurred_at) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {})" for _ in range(count)),
        *rows,
    )
    await fetch(
        "INSERT INTO event_delivery (id, event_id, listener, state, attempts, next_attempt_at, last_error) VALUES "
        + ", ".join("({}, {}, {}, 'pending', 0, {}, '')" for _ in range(len(deliveries) // 4)),
        *deliveries,
    )
    return [rows[i] for i in range(0, len(rows), 6)]


def deliver_soon(event_ids: list[uuid.UUID]) -> None:
    """After the commit: try these events' deliveries in the background, now."""
    if not event_ids:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a synchronous caller): the job delivers them
        return
    task = loop.create_task(_deliver_quietly(event_ids))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _deliver_quietly(event_ids: list[uuid.UUID]) -> None:
    try:
        await deliver(event_ids=event_ids)
    except Exception:  # the job retries; a background failure must not surface anywhere
        log.exception("delivering events failed; the deliver-events job will retry")


async def wait_for_background() -> None:
    """Let the background deliveries started in this process finish (before closing the
    database, and in tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


@dataclasses.dataclass(frozen=True)
class Delivered:
    """What one delivery round did."""

    delivered: int
    failed: int
    dead: int


@use_case
async def _claim(now: dt.datetime, event_ids: list[uuid.UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries (of ``event_ids`` when given) for :data:`LEASE`."""
    only, args = "", []
    if event_ids:
        only = f" AND event_id IN ({placeholders(event_ids)})"
        args = list(event_ids)
    skip = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    due = await fetch(
        f"SELECT id FROM event_delivery WHERE state = 'pending' AND next_attempt_at <= {{}}{only}"
        f" ORDER BY next_attempt_at LIMIT {{}}{skip}",
        now,
        *args,
        limit,
    )
    if not due:
        return []
    ids = [row["id"] for row in due]
    return await fetch(
        f"UPDATE event_delivery SET next_attempt_at = {{}}, attempts = attempts + 1 WHERE id IN ({placeholders(ids)})"
        " RETURNING id, event_id, listener, attempts",
        now + LEASE,
        *ids,
    )


async def _events(ids: Iterable[uuid.UUID]) -> dict[Any, Event]:
    ids = list(dict.fromkeys(ids))
    rows = await fetch(
        "SELECT id, program_id, member_id, name, data, occurred_at FROM event_outbox"
        f" WHERE id IN ({placeholders(ids)})",
        *ids,
    )
    return {
        row["id"]: Event(
            row["name"],
            uuid.UUID(str(row["program_id"])),
            uuid.UUID(str(row["member_id"])) if row["member_id"] else None,
            msgspec.json.decode(row["data"]),
            row["occurred_at"],
            id=uuid.UUID(str(row["id"])),
        )
        for row in rows
    }


async def _call(listener: str, event: Event) -> None:
    """Call one listener with one event: a coroutine with a time limit, a plain function in a
    worker thread (so a blocking one holds up nothing)."""
    from membership.plugins import hooks

    impl = hooks().event_listener(listener)
    if impl is None:
        raise LookupError(f"listener {listener!r} is no longer installed")
    function, kwargs = impl.function, ({"event": event} if "event" in impl.argnames else {})
    if inspect.iscoroutinefunction(function):
        await asyncio.wait_for(function(**kwargs), LISTENER_TIMEOUT_SECONDS)
        return
    result = await asyncio.wait_for(asyncio.to_thread(function, **kwargs), LISTENER_TIMEOUT_SECONDS)
    if inspect.isawaitable(result):
        await asyncio.wait_for(result, LISTENER_TIMEOUT_SECONDS)


@use_case
async def _record(outcomes: list[tuple[Any, int, str | None]], now: dt.datetime) -> None:
    """Mark each claimed delivery delivered, due again after a pause, or dead."""
    for delivery_id, attempts, error in outcomes:
        if error is None:
            await fetch(
                "UPDATE event_delivery SET state = 'delivered', delivered_at = {}, last_error = '' WHERE id = {}",
                now,
                delivery_id,
            )
        elif attempts >= MAX_ATTEMPTS:
            await fetch("UPDATE event_delivery SET state = 'dead', last_error = {} WHERE id = {}", error, delivery_id)
        else:
            pause = FIRST_PAUSE * 2 ** (attempts - 1)
            await fetch(
                "UPDATE event_delivery SET next_attempt_at = {}, last_error = {} WHERE id = {}",
                now + pause,
                error,
                delivery_id,
            )


async def deliver(
    now: dt.datetime | None = None, event_ids: list[uuid.UUID] | None = None, limit: int = BATCH
) -> Delivered:
    """Deliver what is due (of ``event_ids`` when given), each listener on its own, at once."""
    claimed = await _claim(now or _now(), event_ids, limit)
    if not claimed:
        return Delivered(0, 0, 0)
    events = await _events(row["event_id"] for row in claimed)

    async def one(row: dict[str, Any]) -> tuple[Any, int, str | None]:
        event = events.get(row["event_id"])
        try:
            if event is None:
                raise LookupError("the event is gone")
            await _call(row["listener"], event)
        except Exception as exc:  # a listener's failure is recorded, never raised
            text = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("listener %s failed on %s: %s", row["listener"], event and event.name, text)
            return row["id"], row["attempts"], text
        return row["id"], row["attempts"], None

    outcomes = await asyncio.gather(*(one(row) for row in claimed))
    await _record(outcomes, _now())
    failed = [o for o in outcomes if o[2] is not None]
    dead = [o for o in failed if o[1] >= MAX_ATTEMPTS]
    return Delivered(len(outcomes) - len(failed), len(failed) - len(dead), len(dead))


async def deliver_all(now: dt.datetime | None = None) -> Delivered:
    """Deliver everything due now, round after round (the job; tests)."""
    total = Delivered(0, 0, 0)
    while True:
        done = await deliver(now)
        if done == Delivered(0, 0, 0):
            return total
        total = Delivered(total.delivered + done.delivered, total.failed + done.failed, total.dead + done.dead)
        if done.delivered == 0 and done.dead == 0:
            return total  # what is left failed and waits for its pause


async def failed_deliveries(limit: int = 50) -> list[dict[str, Any]]:
    """Dead deliveries and ones failing now, newest first, with their event and error."""
    return await fetch(
        "SELECT d.id, d.listener, d.state, d.attempts, d.last_error, d.next_attempt_at, e.name, e.occurred_at"
        " FROM event_delivery d JOIN event_outbox e ON e.id = d.event_id"
        " WHERE d.state = 'dead' OR (d.state = 'pending' AND d.last_error <> '')"
        " ORDER BY e.occurred_at DESC LIMIT {}",
        limit,
    )


@use_case
async def retry_dead(listener: str | None = None) -> int:
    """Give dead deliveries (of one listener, or all) a fresh set of attempts; how many."""
    only, args = (" AND listener = {}", [listener]) if listener else ("", [])
    rows = await fetch(
        f"UPDATE event_delivery SET state = 'pending', attempts = 0, next_attempt_at = {{}}"
        f" WHERE state = 'dead'{only} RETURNING id",
        _now(),
        *args,
    )
    return len(rows)


async def purge_delivered(before: dt.datetime) -> int:
    """Forget events older than ``before`` whose every delivery is done, with their deliveries;
    how many (a chunk of :data:`PURGE_CHUNK` events at a time)."""
    purged, after = 0, None
    while True:
        forgotten, after = await _purge_chunk(before, after)
        purged += forgotten
        if after is None:
            return purged


@use_case
async def _purge_chunk(before: dt.datetime, after: tuple[dt.datetime, uuid.UUID] | None) -> tuple[int, Any]:
    """The next chunk of old events (past ``after``, an ``(occurred_at, id)``): those delivered
    everywhere forgotten. Two statements rather than one ``DELETE … NOT EXISTS``: on Citus the
    events are distributed and their deliveries are not, and a statement cannot mix them."""
    past, args = (
        (" AND (occurred_at > {} OR (occurred_at = {} AND id > {}))", [after[0], *after]) if after else ("", [])
    )
    events = await fetch(
        f"SELECT id, occurred_at FROM event_outbox WHERE occurred_at < {{}}{past} ORDER BY occurred_at, id LIMIT {{}}",
        before,
        *args,
        PURGE_CHUNK,
    )
    if not events:
        return 0, None
    ids = [row["id"] for row in events]
    waiting = await fetch(
        f"SELECT DISTINCT event_id FROM event_delivery WHERE event_id IN ({placeholders(ids)}) AND state <>"
        " 'delivered'",
        *ids,
    )
    done = sorted(set(ids) - {row["event_id"] for row in waiting})
    if done:
        await fetch(f"DELETE FROM event_delivery WHERE event_id IN ({placeholders(done)})", *done)
        # every program: a retention purge of delivered events by date
        await fetch(f"DELETE FROM event_outbox WHERE id IN ({placeholders(done)})", *done)
    last = events[-1]
    return len(done), (last["occurred_at"], last["id"]) if len(events) == PURGE_CHUNK else None


async def pending_count() -> int:
    """Deliveries still to make (the plugins page and health)."""
    row = await fetch_one("SELECT COUNT(*) AS n FROM event_delivery WHERE state = 'pending'")
    return int(row["n"])
