"""REST routes for card readers: recent reads and a live stream (server-sent events) of reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Request, get
from litestar.params import FromQuery, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from membership.access.service import Scope
from membership.api.docs import answers
from membership.api.security import current_key, program_for, store_for
from membership.readers.hub import read_hub
from membership.readers.service import ReadOutcome, recent_reads

TAGS = ["readers"]
HEARTBEAT_SECONDS = 15.0
REPLAY_SECONDS = 10
READ_EXAMPLE = {
    "id": "3f1e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "program_id": "5f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "station": "SH01 /dev/ttyUSB0",
    "driver": "rdm6300",
    "outcome": "member",
    "kind": "card_uid",
    "hint": "B2C3",
    "value": None,
    "member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "member_no": "620000123457",
    "member_name": "王芳",
    "member_tier": "silver",
    "detail": "EM4100 · 0010597059",
    "message": "",
    "occurred_at": "2026-11-24T06:30:00+00:00",
}


@get(
    "/reader-reads",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Recent card reads (刷卡记录)",
    responses=answers(200, list[ReadOutcome], [READ_EXAMPLE], 403, 404),
)
async def list_reads(
    request: Request,
    program_id: FromQuery[uuid.UUID | None] = None,
    store_id: FromQuery[uuid.UUID | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200, description="How many, newest last")] = 20,
) -> list[ReadOutcome]:
    """The latest reads of the program, at the key's store (or the one named), oldest first."""
    key = current_key(request)
    program = await program_for(key, program_id)
    store = await store_for(key, program, store_id, open_only=False)
    return await recent_reads(program.id, store, limit=limit)


@get(
    "/reader-reads/stream",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Live card reads (server-sent events)",
    description=(
        "A `text/event-stream`: one `read` event per card presented at the store's readers, its `data` a"
        " ReadOutcome as JSON and its `id` the read's id. Reconnecting with `Last-Event-ID` replays what was"
        " missed (up to 50 reads). The stream ends after `duration` seconds; EventSource clients reconnect."
    ),
    responses=answers(
        200,
        str,
        "event: read\nid: 3f1e…\ndata: {…}\n\n",
        403,
        404,
        description="An event stream",
        media_type="text/event-stream",
    ),
)
async def stream_reads(
    request: Request,
    program_id: FromQuery[uuid.UUID | None] = None,
    store_id: FromQuery[uuid.UUID | None] = None,
    duration: Annotated[int, QueryParameter(ge=1, le=3600, description="Seconds before the stream ends")] = 300,
    last_event_id: Annotated[uuid.UUID | None, HeaderParameter(name="Last-Event-ID", required=False)] = None,
) -> ServerSentEvent:
    """Follow the card readers of a store: the counter page opens the member a swipe names."""
    key = current_key(request)
    program = await program_for(key, program_id)
    store = await store_for(key, program, store_id, open_only=False)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=REPLAY_SECONDS)
    if last_event_id is not None:
        earlier = await recent_reads(program.id, read_ids=[last_event_id])
        since = earlier[0].occurred_at if earlier else since
    return ServerSentEvent(read_events(program.id, store, since, last_event_id, duration), retry_duration=1000)


async def read_events(
    program_id: uuid.UUID, store_id: uuid.UUID | None, since: dt.datetime, last: uuid.UUID | None, duration: int
) -> AsyncIterator[ServerSentEventMessage]:
    """``read`` events of the program's (and store's) reads from ``since`` on, live, for
    ``duration`` seconds, skipping ``last`` (already delivered); keep-alive comments between."""
    sent = {last}
    deadline = asyncio.get_running_loop().time() + duration
    async with read_hub().subscribe(program_id, store_id) as queue:
        backlog = await recent_reads(program_id, store_id, since=since)
        while True:
            for read in backlog:
                if read.id not in sent:
                    sent.add(read.id)
                    yield ServerSentEventMessage(data=read.as_json(), event="read", id=str(read.id))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            try:
                backlog = [await asyncio.wait_for(queue.get(), min(remaining, HEARTBEAT_SECONDS))]
            except TimeoutError:
                backlog = []
                yield ServerSentEventMessage(data=None, comment="keep-alive")


ROUTES = [list_reads, stream_reads]
