"""PN532 over HSU: frames and checksums, the wake-up / configure / poll conversation, ACK
timeouts, repeats of a card left on the antenna, and the real serial pump against a fake chip."""

from __future__ import annotations

import asyncio

from fake_pn532 import ACK, FakePn532, PtyPn532, information_frame
from hypothesis import given
from hypothesis import strategies as st

from membership.readers.interface import CredentialRead, ReadFault
from membership.readers.listener import PortStatus, listen
from membership_readers_serial.pn532 import Pn532Driver, frame

SAM = bytes.fromhex("0000ff05fbd414011401 0200".replace(" ", ""))
POLL = information_frame(bytes.fromhex("d44a0100"))
SAM_OK = information_frame(b"\xd5\x15")
UID7 = bytes.fromhex("04A1B2C3D4E5F6")
ERROR_FRAME = bytes.fromhex("0000ff01ff7f8100")


def answer(uid: bytes) -> bytes:
    return information_frame(b"\xd5\x4b\x01\x01\x00\x44\x00" + bytes([len(uid)]) + uid)


def configured(now: float = 0.0) -> Pn532Driver:
    """A driver that woke the chip, configured it and sent its first poll."""
    driver = Pn532Driver()
    assert driver.output(now).endswith(SAM)
    assert driver.feed(ACK + SAM_OK, now) == []
    assert driver.output(now + 0.3) == POLL
    assert driver.feed(ACK, now + 0.3) == []
    return driver


def test_frame_checksums_known_answer():
    assert frame(bytes.fromhex("d414011401")) == SAM
    assert frame(b"\xd4\x4a\x01\x00") == POLL


def test_start_up_wakes_the_chip_then_configures_it():
    driver = Pn532Driver()
    first = driver.output(0.0)
    assert first.startswith(b"\x55\x55\x00\x00") and first.endswith(SAM)
    assert driver.output(0.1) == b""  # waiting for the ACK


def test_a_card_answer_is_its_uid():
    driver = configured()
    (read,) = driver.feed(answer(UID7), 0.5)
    assert read == CredentialRead("card_uid", "04A1B2C3D4E5F6", detail="ISO 14443A · 7-byte UID · SAK 00")
    (short,) = configured().feed(answer(bytes.fromhex("DEADBEEF")), 0.5)
    assert short.value == "DEADBEEF" and "4-byte UID" in short.detail


def test_no_card_means_no_read_and_another_poll_after_the_interval():
    driver = configured()
    assert driver.feed(information_frame(b"\xd5\x4b\x00"), 0.5) == []
    assert driver.output(0.6) == b""
    assert driver.output(0.8) == POLL


def test_bad_checksums_are_faults_never_cards():
    bad_dcs = bytearray(answer(UID7))
    bad_dcs[-2] ^= 0x01
    (fault,) = configured().feed(bytes(bad_dcs), 0.5)
    assert isinstance(fault, ReadFault) and fault.reason == "checksum mismatch (DCS)"
    bad_lcs = bytearray(answer(UID7))
    bad_lcs[4] ^= 0x01
    events = configured().feed(bytes(bad_lcs), 0.5)
    assert [e.reason for e in events] == ["checksum mismatch (LCS)"] and not any(
        isinstance(e, CredentialRead) for e in events
    )


def test_an_error_frame_is_reported_and_polling_goes_on():
    driver = configured()
    (fault,) = driver.feed(ERROR_FRAME, 0.5)
    assert fault == ReadFault("PN532 error frame", ERROR_FRAME[1:-1])
    assert driver.output(0.9) == POLL


def test_a_missing_ack_resends_the_command_with_a_wake_up():
    driver = Pn532Driver()
    driver.output(0.0)
    assert driver.output(0.5) == b""
    again = driver.output(1.0)
    assert again.startswith(b"\x55\x55") and again.endswith(SAM)


def test_a_nack_resends_at_once_and_an_unanswered_poll_is_repeated():
    driver = configured()
    driver.feed(bytes.fromhex("0000ffff0000"), 0.4)
    assert driver.output(0.4) == POLL
    driver.feed(ACK, 0.4)
    assert driver.output(5.0) == b""
    assert driver.output(5.5) == POLL  # no card for response_timeout: poll again


def test_a_card_left_on_the_antenna_is_one_read_and_a_new_presentation_is_another():
    driver = configured()
    reads = []
    now = 0.5
    for _ in range(10):  # answered every 0.35 s while the card lies there
        reads += driver.feed(answer(UID7), now)
        now += 0.35
        assert driver.output(now) == POLL
        driver.feed(ACK, now)
    assert len(reads) == 1
    assert len(driver.feed(answer(UID7), now + 2.0)) == 1  # lifted for longer than the window, back


def test_bytes_one_at_a_time():
    driver = configured()
    stream = b"\xff\x00\x13" + answer(UID7)
    events = [e for byte in stream for e in driver.feed(bytes([byte]), 0.5)]
    assert [e.value for e in events if isinstance(e, CredentialRead)] == ["04A1B2C3D4E5F6"]


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_any_bytes_never_raise(chunks):
    driver = configured()
    now = 1.0
    for chunk in chunks:
        for event in driver.feed(chunk, now):
            assert isinstance(event, CredentialRead | ReadFault)
        driver.output(now)
        now += 0.1


@given(st.binary(max_size=60))
def test_an_answer_after_noise_is_still_read(noise):
    driver = configured()
    events = driver.feed(noise.replace(b"\x00\xff", b"") + b"\x00", 0.5)
    events += driver.feed(answer(UID7), 0.6)
    assert events[-1].value == "04A1B2C3D4E5F6"


def test_the_fake_chip_answers_like_the_datasheet():
    chip = FakePn532()
    assert chip.receive(b"\x55\x55" + bytes(14) + SAM) == ACK + SAM_OK
    assert chip.receive(POLL) == ACK
    chip.card = UID7
    assert chip.receive(b"") == answer(UID7)


async def test_the_serial_pump_reads_each_presentation_once_from_a_fake_chip_on_a_pty():
    events: list = []
    stop = asyncio.Event()

    async def handle(event):
        events.append(event)

    with PtyPn532() as device:
        task = asyncio.create_task(listen(device.path, Pn532Driver(poll_interval="0.1"), handle, stop))
        device.chip.card = UID7
        await _until(lambda: any(isinstance(e, CredentialRead) for e in events))
        await asyncio.sleep(1.0)  # polled about ten more times with the card still there
        device.chip.card = None
        await asyncio.sleep(2.0)  # lifted for longer than the repeat window
        device.chip.card = bytes.fromhex("DEADBEEF")
        await _until(lambda: sum(isinstance(e, CredentialRead) for e in events) == 2)
        stop.set()
        await asyncio.wait_for(task, 5)
    reads = [e.value for e in events if isinstance(e, CredentialRead)]
    assert reads == ["04A1B2C3D4E5F6", "DEADBEEF"]
    assert events[0] == PortStatus("connected")
    assert device.chip.commands.count(0x4A) > 5 and device.chip.commands[0] == 0x14


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")
