"""End to end, as a shop runs it: a pty fed with RDM6300 frames makes ``membership reader listen``
identify the member, the console's counter page (in a real Chromium) opens them, and an API
client following the live stream receives the read.

Everything is a real process: ``membership init``, ``staff create``, ``serve`` (uvicorn),
``api-key create`` and ``reader listen`` on the pty's device path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import operator
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from membership.config import load_settings
from membership.db import close_database, open_database
from membership.members import service as members
from membership.org import service as org

CARD = "0F00A1B2C3"
STRANGER = "1A2B3C4D5E"
PASSWORD = "counter-2026"
SHOTS = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).parents[3] / "test-output")) / "screenshots"


def rdm6300_frame(uid: str, corrupt: bool = False) -> bytes:
    """STX, ten hex digits, the XOR of the five data bytes as two hex digits, ETX (built here
    from the protocol, independently of the driver)."""
    checksum = functools.reduce(operator.xor, bytes.fromhex(uid)) ^ (0x01 if corrupt else 0)
    return b"\x02" + uid.encode() + f"{checksum:02X}".encode() + b"\x03"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}


def cli(folder: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


class Child:
    """A ``membership`` command running in the background, its output lines arriving in queues."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "membership.cli", *args],
            cwd=folder,
            env={**_env(), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    def stop(self) -> None:
        """Terminate it (SIGTERM, as systemd does), collect the rest of its output, close the pipes."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        for reader in self._readers:
            reader.join(10)
        self.process.stdout.close()
        self.process.stderr.close()


def next_line(lines: queue.Queue[str], containing: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(line)
        if containing in line:
            return line
    raise AssertionError(f"no line with {containing!r}; got {seen}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shop(tmp_path):
    """``membership init`` in a folder, then a store SH01, a member holding card CARD and a clerk."""
    cli(tmp_path, "init")

    async def enrol() -> str:
        await open_database(load_settings(tmp_path / "membership.toml"))
        try:
            merchant = await org.create_merchant("湖畔咖啡")
            store = await org.create_store(merchant, "SH01", "南京西路店", "上海")
            program = await org.create_program(merchant, "咖啡会员")
            member = await members.enrol(program.id, {"name": "王芳", "phone": "13912345678"}, store_id=store)
            await members.issue_credential(member.id, "card_uid", CARD)
        finally:
            await close_database()
        return member.member_no

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        member_no = pool.submit(asyncio.run, enrol()).result()
    cli(tmp_path, "staff", "create", "clerk1", "--role", "clerk", "--store", "SH01", "--password", PASSWORD)
    return tmp_path, member_no


@pytest.fixture
def server(shop):
    """``membership serve`` on a free port; its base URL."""
    folder, _ = shop
    port = free_port()
    child = Child(folder, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        child.stop()


def follow_stream(url: str, key: str, events: list[dict], connected: threading.Event) -> None:
    """A counter screen through the API: follow the live stream, collecting ``read`` events."""
    headers = {"Authorization": f"Bearer {key}"}
    with contextlib.suppress(httpx.HTTPError):  # the server stops at the end of the test
        with httpx.stream("GET", url, params={"duration": 30}, headers=headers, timeout=40) as response:
            assert response.status_code == 200
            connected.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))


def test_a_swipe_on_the_pty_opens_the_member_on_the_counter_page(shop, server, chromium):
    folder, member_no = shop
    key = cli(folder, "api-key", "create", "--name", "counter-1", "--scopes", "read", "--store", "SH01")
    secret = key.stdout.splitlines()[1].strip()
    events: list[dict] = []
    connected = threading.Event()
    threading.Thread(
        target=follow_stream, args=(f"{server}/api/v1/reader-reads/stream", secret, events, connected), daemon=True
    ).start()
    assert connected.wait(20)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(f"{server}/console/login")
    page.fill("input[name=username]", "clerk1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#reader-state")).to_have_text("在线", timeout=15_000)

    master, slave = os.openpty()
    tty.setraw(master)
    listener = Child(folder, "reader", "listen", "--driver", "rdm6300", "--port", os.ttyname(slave), "--store", "SH01")
    try:
        next_line(listener.err, "reader connected")
        for _ in range(3):  # the module repeats the frame while the card lies on it: one read
            os.write(master, rdm6300_frame(CARD))
            time.sleep(0.1)
        assert next_line(listener.out, f"card_uid {CARD}").endswith(f"card_uid {CARD} {member_no}")
        expect(page.locator("#member .member-no")).to_have_text(member_no, timeout=15_000)  # the swipe opened them
        expect(page.locator("#member h2")).to_have_text("王芳")

        os.write(master, rdm6300_frame(STRANGER, corrupt=True))
        assert " fault checksum" in next_line(listener.out, "fault")
        os.write(master, b"\x00noise" + rdm6300_frame(STRANGER))
        assert next_line(listener.out, STRANGER).endswith(f"card_uid {STRANGER} unknown")
        expect(page.locator("#member .unknown")).to_contain_text(STRANGER, timeout=15_000)
        expect(page.locator("#member .unknown button")).to_have_text("将此卡发给会员")
        expect(page.locator("#reads li")).to_have_count(3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "counter-reader.png")

        for _ in range(100):
            if len(events) >= 3:
                break
            time.sleep(0.1)
        assert [(e["outcome"], e["member_no"], e["value"]) for e in events] == [
            ("member", member_no, None),
            ("fault", None, None),
            ("unknown", None, STRANGER),
        ]
        assert events[0]["member_name"] == "王芳" and events[0]["station"] == f"SH01 {os.ttyname(slave)}"
        time.sleep(0.3)
        assert listener.out.empty()  # the repeats were merged
    finally:
        listener.stop()
        context.close()
        os.close(master)
        os.close(slave)


def test_reader_list_and_clear_errors(tmp_path):
    cli(tmp_path, "init")
    listing = cli(tmp_path, "reader", "list").stdout
    for name in ("rdm6300", "scanner", "magstripe", "msr605", "pn532", "wiegand26"):
        assert name in listing
    unknown = cli(tmp_path, "reader", "listen", "--driver", "nfc9000", "--port", "loop://", ok=False)
    assert (
        unknown.returncode == 1 and "未知的读卡器驱动 'nfc9000'" in unknown.stderr and "Traceback" not in unknown.stderr
    )
    bad = cli(
        tmp_path, "reader", "listen", "--driver", "scanner", "--port", "loop://", "-o", "terminator=pipe", ok=False
    )
    assert bad.returncode == 1 and "terminator" in bad.stderr and "Traceback" not in bad.stderr
