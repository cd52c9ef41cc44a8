"""The reader service: reads resolved and recorded, the serial pump over a real socket serial
server (unplug and reconnect), the live stream of reads, and the CLI around them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
from typing import ClassVar

import pytest

from membership.db import fetch
from membership.errors import ValidationError
from membership.hookspecs import hookimpl
from membership.members import service as members
from membership.readers.interface import CredentialRead, ReaderDriver, ReaderEvent, ReadFault
from membership.readers.listener import PortStatus, listen
from membership.readers.service import driver_class, prune_reads, recent_reads, record_read
from tests.helpers import make_shop


class LineDriver(ReaderDriver):
    """Test driver: ``kind:value`` per line, ``!reason`` is a fault; says HELLO on every connect."""

    name = "test-lines"
    description = "lines of kind:value"
    options: ClassVar[dict[str, str]] = {"greeting": "what to send after opening the port"}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.greeting = self.option("greeting", "HELLO").encode()
        self.reset()

    def reset(self) -> None:
        self._buffer, self._greeted = b"", False

    def output(self, now: float) -> bytes:
        if self._greeted:
            return b""
        self._greeted = True
        return self.greeting + b"\n"

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        events: list[ReaderEvent] = []
        for line in filter(None, (ln.decode() for ln in lines)):
            kind, _, value = line.partition(":")
            events.append(ReadFault(line[1:], line.encode()) if line.startswith("!") else CredentialRead(kind, value))
        return events


class LinePlugin:
    @hookimpl
    def membership_register_reader_drivers(self):
        return [LineDriver]


@pytest.fixture
def line_driver(register_plugin):
    register_plugin(LinePlugin(), "test-lines")
    return LineDriver


async def test_reads_resolve_to_member_unknown_refused_or_fault(db):
    shop = await make_shop()
    card = await members.issue_credential(shop.member_id, "card_uid", "0f:00:a1:b2:c3")
    lost = await members.issue_credential(shop.member_id, "card_uid", "AABBCCDDEE")
    await members.block_credential(lost["id"], "lost", reason="丢失")

    known = await record_read(
        shop.program.id, shop.store_id, "S1 till", "rdm6300", CredentialRead("card_uid", "0F00A1B2C3")
    )
    assert (known.outcome, known.member_id, known.hint, known.value) == ("member", shop.member_id, "B2C3", None)
    member_no = (await members.member_row(shop.member_id))["member_no"]
    assert known.member_no == member_no and known.member_name == "张伟"

    unknown = await record_read(
        shop.program.id, shop.store_id, "S1 till", "rdm6300", CredentialRead("card_uid", "01-02-03")
    )
    assert (unknown.outcome, unknown.member_id, unknown.value) == ("unknown", None, "010203")

    refused = await record_read(
        shop.program.id, shop.store_id, "S1 till", "rdm6300", CredentialRead("card_uid", "AABBCCDDEE")
    )
    assert (refused.outcome, refused.member_id, refused.message) == ("refused", None, "credential_blocked")

    fault = await record_read(
        shop.program.id, None, "S2 till", "rdm6300", ReadFault("checksum mismatch", b"\x02AB\x03")
    )
    assert (fault.outcome, fault.message, fault.detail) == ("fault", "checksum mismatch", "02 41 42 03")

    at_store = await recent_reads(shop.program.id, shop.store_id)
    assert [r.outcome for r in at_store] == ["member", "unknown", "refused"]
    assert [r.outcome for r in await recent_reads(shop.program.id, limit=2)] == ["refused", "fault"]
    stored = await fetch("SELECT value FROM reader_read WHERE outcome <> 'unknown'")
    assert [r["value"] for r in stored] == [None, None, None]  # a known card's value is not kept
    assert card["hint"] == "B2C3"

    assert await prune_reads(dt.datetime.now(dt.UTC) - dt.timedelta(days=7)) == 0
    assert await prune_reads(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 4
    assert await recent_reads(shop.program.id) == []


def test_drivers_are_found_by_name_and_options_are_checked(line_driver):
    assert driver_class("test-lines") is LineDriver
    with pytest.raises(ValidationError, match=r"unknown driver .nope.*test-lines"):
        driver_class("nope")
    with pytest.raises(ValidationError, match="does not take 'speed'"):
        LineDriver(speed="fast")
    assert LineDriver(greeting="HI").output(0.0) == b"HI\n"


class SerialServer:
    """A TCP serial server (like ser2net): one client at a time; ``drop()`` unplugs it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.received = bytearray()
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._receive, args=(conn,), daemon=True).start()

    def _receive(self, conn: socket.socket) -> None:
        while chunk := _recv(conn):
            self.received += chunk

    def wait_for_client(self, count: int, seconds: float = 10) -> socket.socket:
        for _ in range(int(seconds * 20)):
            if len(self.connections) >= count:
                return self.connections[count - 1]
            threading.Event().wait(0.05)
        raise AssertionError(f"no connection #{count}")

    def drop(self) -> None:
        self.connections[-1].shutdown(socket.SHUT_RDWR)  # wakes our blocked recv and sends FIN
        self.connections[-1].close()

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(1024)
    except OSError:
        return b""


async def test_the_pump_reads_writes_and_reconnects_after_the_device_goes_away(line_driver):
    server = SerialServer()
    events: list[ReaderEvent | PortStatus] = []
    stop = asyncio.Event()

    async def handle(event):
        events.append(event)

    async def until(predicate, seconds=10.0):
        for _ in range(int(seconds * 50)):
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out; events: {events}")

    task = asyncio.create_task(listen(f"socket://127.0.0.1:{server.port}", LineDriver(), handle, stop, max_backoff=0.2))
    try:
        first = await asyncio.to_thread(server.wait_for_client, 1)
        first.sendall(b"card_uid:0F00A1B2C3\nqr_to")  # a frame split across two chunks
        first.sendall(b"ken:abc\n!checksum mismatch\n")
        await until(lambda: len(events) == 4)
        assert events[0] == PortStatus("connected")
        assert events[1:] == [
            CredentialRead("card_uid", "0F00A1B2C3"),
            CredentialRead("qr_token", "abc"),
            ReadFault("checksum mismatch", b"!checksum mismatch"),
        ]
        server.drop()  # unplugged
        second = await asyncio.to_thread(server.wait_for_client, 2)
        await until(lambda: any(e == PortStatus("connected") for e in events[5:]))
        assert events[4].state == "disconnected"
        second.sendall(b"card_uid:01\n")
        await until(lambda: events[-1] == CredentialRead("card_uid", "01"))
        await until(lambda: bytes(server.received) == b"HELLO\nHELLO\n")  # the driver was reset: greeted again
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        server.close()


async def test_an_unreachable_port_is_retried_not_fatal(line_driver):
    events: list[PortStatus] = []
    stop = asyncio.Event()

    async def handle(event):
        events.append(event)
        if len(events) == 2:
            stop.set()

    await asyncio.wait_for(listen("/dev/does-not-exist", LineDriver(), handle, stop, max_backoff=0.1), 10)
    assert [e.state for e in events] == ["disconnected", "disconnected"]
    assert "does-not-exist" in events[0].reason


async def _read_stream(api, seconds: int, **headers: str) -> list[dict]:
    response = await api.call("GET", "/reader-reads/stream", "read", params={"duration": seconds}, **headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\r\n\r\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if fields.get("event") == "read":
            events.append({"id": fields["id"], **json.loads(fields["data"])})
    return events


async def test_the_stream_delivers_new_reads_and_replays_after_last_event_id(api):
    card = "0F00A1B2C3"
    await members.issue_credential(api.shop.member_id, "card_uid", card)
    old = await record_read(api.shop.program.id, api.shop.store_id, "till", "rdm6300", CredentialRead("card_uid", "99"))
    await fetch(
        "UPDATE reader_read SET occurred_at = {} WHERE id = {}", old.occurred_at - dt.timedelta(minutes=5), old.id
    )

    async def swipe_later():
        await asyncio.sleep(0.6)
        await record_read(api.shop.program.id, api.shop.store_id, "till", "rdm6300", CredentialRead("card_uid", card))
        await record_read(
            api.shop.program.id, api.shop.other_store_id, "till 2", "scanner", CredentialRead("qr_token", "x")
        )

    swiping = asyncio.create_task(swipe_later())
    events = await _read_stream(api, 2)
    await swiping
    assert [(e["outcome"], e["member_no"], e["store_id"]) for e in events] == [
        ("member", (await members.member_row(api.shop.member_id))["member_no"], str(api.shop.store_id)),
        ("unknown", None, str(api.shop.other_store_id)),
    ]  # the 5-minute-old read is history, not news; a merchant-wide key sees both stores
    assert events[0]["hint"] == "B2C3" and events[0]["value"] is None and events[1]["value"] == "x"

    replayed = await _read_stream(api, 1, **{"Last-Event-ID": str(old.id)})
    assert [e["id"] for e in replayed] == [e["id"] for e in events]

    listed = await api.call("GET", "/reader-reads", "read", params={"store_id": str(api.shop.store_id)})
    assert [r["outcome"] for r in listed.json()] == ["unknown", "member"]


async def test_a_store_bound_key_follows_only_its_store(api):
    async def swipe_later():
        await asyncio.sleep(0.5)
        for store in (api.shop.other_store_id, api.shop.store_id):
            await record_read(api.shop.program.id, store, "till", "scanner", CredentialRead("qr_token", str(store)))

    swiping = asyncio.create_task(swipe_later())
    response = await api.call("GET", "/reader-reads/stream", "store", params={"duration": 2})
    await swiping
    assert response.text.count("event: read") == 1 and str(api.shop.store_id) in response.text
    other = await api.call("GET", "/reader-reads", "store", params={"store_id": str(api.shop.other_store_id)})
    assert other.status_code == 403
