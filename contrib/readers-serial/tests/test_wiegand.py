"""Wiegand 26 converters: parity, facility code and card number, hex and decimal output."""

from __future__ import annotations

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from membership.readers.interface import CredentialRead, ReadFault
from membership_readers_serial.wiegand import Wiegand26Driver, decode_frame


def wiegand26(facility: int, number: int) -> int:
    """A frame built bit by bit from the specification, independently of the driver."""
    data = [int(b) for b in f"{facility:08b}{number:016b}"]
    even = sum(data[:12]) % 2  # makes bits 25..13 even
    odd = 1 - sum(data[12:]) % 2  # makes bits 12..0 odd
    return int("".join(map(str, [even, *data, odd])), 2)


def test_a_hex_line_is_the_card_with_its_facility_code_and_number():
    frame = wiegand26(123, 45453)
    (read,) = Wiegand26Driver().feed(f"{frame:07X}\r\n".encode(), now=0.0)
    assert read == CredentialRead("card_uid", "7BB18D", detail="FC 123 · No 45453")


def test_decimal_output():
    frame = wiegand26(1, 1)
    (read,) = Wiegand26Driver(format="decimal").feed(f"{frame}\n".encode(), now=0.0)
    assert read == CredentialRead("card_uid", "010001", detail="FC 1 · No 1")


@pytest.mark.parametrize("bit", range(26))
def test_any_flipped_bit_is_a_parity_error(bit):
    assert isinstance(decode_frame(wiegand26(200, 1234) ^ (1 << bit)), ReadFault)


def test_lines_that_are_not_frames_are_faults():
    driver = Wiegand26Driver()
    events = driver.feed(b"ZZZ\r\n" + b"7FFFFFF\r\n" + b"\r\n", now=0.0)
    assert [e.reason for e in events] == ["not a Wiegand 26 frame in hex", "more than 26 bits"]


def test_split_lines_and_a_runaway_line():
    driver = Wiegand26Driver()
    line = f"{wiegand26(7, 65535):07X}\r".encode()
    assert driver.feed(line[:3], now=0.0) == []
    assert [e.detail for e in driver.feed(line[3:], now=0.0)] == ["FC 7 · No 65535"]
    (fault,) = driver.feed(b"1" * 100, now=0.0)
    assert fault.reason.startswith("line too long")


def test_frames_through_a_serial_port():
    port = serial.serial_for_url("loop://", timeout=0.5)
    line = f"{wiegand26(10, 20):07X}\r\n".encode()
    try:
        port.write(line)
        data = port.read(len(line))
    finally:
        port.close()
    assert [e.detail for e in Wiegand26Driver().feed(data, now=0.0)] == ["FC 10 · No 20"]


@given(st.integers(0, 255), st.integers(0, 65535), st.sampled_from(["hex", "decimal"]))
def test_every_card_round_trips(facility, number, format):
    frame = wiegand26(facility, number)
    text = f"{frame:X}" if format == "hex" else str(frame)
    (read,) = Wiegand26Driver(format=format).feed(text.encode() + b"\r\n", now=0.0)
    assert read.detail == f"FC {facility} · No {number}"
    assert read.value == f"{facility:02X}{number:04X}"


@given(st.lists(st.binary(max_size=80), max_size=20))
def test_any_bytes_never_raise(chunks):
    driver = Wiegand26Driver()
    for chunk in chunks:
        assert all(isinstance(e, CredentialRead | ReadFault) for e in driver.feed(chunk, now=0.0))
