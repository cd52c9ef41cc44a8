"""RDM6300 / EM4100 frames: checksum, resync, repeats of a card held on the antenna."""

from __future__ import annotations

import serial
from hypothesis import given
from hypothesis import strategies as st

from membership.readers.interface import CredentialRead, ReadFault
from membership_readers_serial.rdm6300 import Rdm6300Driver

# A frame read off a real module: card 0F00A1B2C3, XOR 0F^00^A1^B2^C3 = DF.
FRAME = b"\x020F00A1B2C3DF\x03"
OTHER = b"\x021A2B3C4D5E1E\x03"  # 1A^2B^3C^4D^5E = 1E


def test_a_frame_is_the_card_uid_with_the_printed_number():
    (read,) = Rdm6300Driver().feed(FRAME, now=0.0)
    assert read == CredentialRead("card_uid", "0F00A1B2C3", detail="EM4100 · 0010597059")


def test_a_wrong_checksum_is_a_fault_never_a_card():
    bad = FRAME.replace(b"DF", b"DE")
    (fault,) = Rdm6300Driver().feed(bad, now=0.0)
    assert fault == ReadFault("checksum mismatch", bad)


def test_frames_split_byte_by_byte_and_noise_between_them():
    driver = Rdm6300Driver()
    stream = b"\xff\x00noise" + FRAME + b"\x02\x02garbage" + OTHER
    events = [event for i, byte in enumerate(stream) for event in driver.feed(bytes([byte]), now=i * 10.0)]
    assert [e.value for e in events] == ["0F00A1B2C3", "1A2B3C4D5E"]


def test_a_card_held_on_the_antenna_is_one_read_until_lifted():
    driver = Rdm6300Driver()
    held = [driver.feed(FRAME, now=t / 10) for t in range(30)]  # resent every 0.1 s for 3 s
    assert sum(len(events) for events in held) == 1
    assert [e.value for e in driver.feed(FRAME, now=2.9 + 1.0)] == ["0F00A1B2C3"]  # lifted for the window, back
    assert len(driver.feed(OTHER, now=4.0)) == 1  # another card at once is a new read


def test_the_repeat_window_is_an_option():
    driver = Rdm6300Driver(repeat_window="0")
    assert len(driver.feed(FRAME + FRAME, now=0.0)) == 2


def test_reset_drops_the_partial_frame():
    driver = Rdm6300Driver()
    driver.feed(FRAME[:7], now=0.0)
    driver.reset()
    assert driver.feed(FRAME[7:], now=0.1) == []
    assert len(driver.feed(FRAME, now=0.2)) == 1


def test_frames_through_a_serial_port():
    port = serial.serial_for_url("loop://", timeout=0.5)
    try:
        port.write(FRAME + OTHER)
        data = port.read(len(FRAME + OTHER))
    finally:
        port.close()
    assert [e.value for e in Rdm6300Driver().feed(data, now=0.0)] == ["0F00A1B2C3", "1A2B3C4D5E"]


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_any_bytes_never_raise(chunks):
    driver = Rdm6300Driver()
    for chunk in chunks:
        for event in driver.feed(chunk, now=0.0):
            assert isinstance(event, CredentialRead | ReadFault)
            if isinstance(event, CredentialRead):
                assert len(event.value) == 10


@given(st.binary(max_size=60), st.integers(min_value=1, max_value=14))
def test_a_frame_after_noise_is_still_read(noise, split):
    driver = Rdm6300Driver(repeat_window="0")
    events = driver.feed(noise, now=0.0)
    events += driver.feed(FRAME[:split], now=0.0) + driver.feed(FRAME[split:], now=0.0)
    assert events[-1] == CredentialRead("card_uid", "0F00A1B2C3", detail="EM4100 · 0010597059")
