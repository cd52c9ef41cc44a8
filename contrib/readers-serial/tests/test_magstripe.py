"""Magnetic stripe: keyboard-wedge swipes (ISO 7813 tracks) and the MSR605 ESC protocol."""

from __future__ import annotations

import re

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from membership.errors import ValidationError
from membership.readers.interface import CredentialRead, ReadFault
from membership_readers_serial.magstripe import MagstripeDriver, Msr605Driver, parse_tracks, redact

PAN = "6200001234567890"
NAME = "DOE/JOHN"
TRACK1 = f"%B{PAN}^{NAME}^2712101000000000?".encode()
TRACK2 = f";{PAN}=27121010000000000?".encode()
TRACK3 = b";011234567890123456789=1234?"
SWIPE = TRACK1 + TRACK2 + TRACK3 + b"\r\n"
READ = CredentialRead("magstripe", PAN, detail="track 2 · exp 2712")

# An MSR605 reply: ESC s, ESC 01/02/03 + track, "?", FS, ESC, status.
REPLY = b"\x1bs\x1b\x01" + TRACK1 + b"\x1b\x02" + TRACK2 + b"\x1b\x03\x1b+" + b"?\x1c\x1b0"
ESC_R = b"\x1br"


def feed_bytewise(driver, stream):
    return [event for byte in stream for event in driver.feed(bytes([byte]), now=0.0)]


def no_personal_data(event):
    """The event shows no name: reads carry digits and a fixed detail, faults no two letters in a row."""
    assert NAME not in repr(event) and "DOE" not in repr(event) and "JOHN" not in repr(event)
    if isinstance(event, CredentialRead):
        assert event.value.isdigit() and 12 <= len(event.value) <= 19
        assert re.fullmatch(r"track [12]( · exp \d{4})?", event.detail)
    else:
        assert isinstance(event, ReadFault)
        assert not re.search(rb"[A-Za-z]{2}", event.raw)
    return True


# keyboard-wedge swipes


def test_a_swipe_with_both_tracks_reads_the_card_number_from_track_2():
    assert MagstripeDriver().feed(SWIPE, now=0.0) == [READ]


def test_a_track_2_only_card():
    events = MagstripeDriver().feed(TRACK2 + b"\r", now=0.0)
    assert events == [READ]


def test_a_track_2_with_only_a_number():
    (read,) = MagstripeDriver().feed(b";8800012345678?\r", now=0.0)
    assert read == CredentialRead("magstripe", "8800012345678", detail="track 2")


def test_a_track_1_only_card():
    (read,) = MagstripeDriver().feed(TRACK1 + b"\n", now=0.0)
    assert read == CredentialRead("magstripe", PAN, detail="track 1 · exp 2712")


def test_an_unreadable_track_1_does_not_spoil_track_2():
    assert MagstripeDriver().feed(b"%E?" + TRACK2 + b"\r", now=0.0) == [READ]


def test_an_invalid_track_2_falls_back_to_track_1():
    (read,) = MagstripeDriver().feed(TRACK1 + b";123=2712?\r", now=0.0)
    assert read.detail == "track 1 · exp 2712"


def test_the_track_option():
    track1 = TRACK1.replace(PAN.encode(), b"6200009999999999")
    assert MagstripeDriver(track="1").feed(track1 + TRACK2 + b"\r", now=0.0)[0].value == "6200009999999999"
    assert MagstripeDriver(track="2").feed(track1 + TRACK2 + b"\r", now=0.0)[0].value == PAN
    (fault,) = MagstripeDriver(track="2").feed(TRACK1 + b"\r", now=0.0)
    assert fault.reason == "no track 2 on the card"
    with pytest.raises(ValidationError):
        MagstripeDriver(track="3")
    with pytest.raises(ValidationError):
        MagstripeDriver(lrc="yes")


def test_a_swipe_split_byte_by_byte():
    assert feed_bytewise(MagstripeDriver(), SWIPE) == [READ]


def test_two_swipes_in_one_chunk_and_empty_lines_skipped():
    other = b";6200009876543210=2801?\r"
    events = MagstripeDriver().feed(b"\r\n\n" + SWIPE + other + b"\r\n", now=0.0)
    assert [e.value for e in events] == [PAN, "6200009876543210"]


def test_a_swipe_error_is_a_fault():
    (fault,) = MagstripeDriver().feed(b"%E?;E?\r", now=0.0)
    assert fault == ReadFault("swipe error, swipe again", b"%E?;E?")
    (fault,) = MagstripeDriver().feed(b"%E?;E?+E?\r", now=0.0)
    assert fault.reason == "swipe error, swipe again"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b";1234=2712?", "track 2: card number of 4 digits (12 to 19 expected)"),
        (b";12345678901234567890=2712?", "track 2: card number of 20 digits (12 to 19 expected)"),
        (b";62000012AB34567890=2712?", "track 2 is not in ISO 7813 format"),
        (b"%A6200001234567890^DOE/JOHN^2712?", "track 1 is not in ISO 7813 format"),
        (b";6200001234567890=2712", "not a magnetic-stripe swipe"),
        (b"hello", "not a magnetic-stripe swipe"),
        ("；6200001234567890?".encode(), "not ASCII text: check the baud rate"),
    ],
)
def test_malformed_swipes_are_faults(line, reason):
    (fault,) = MagstripeDriver().feed(line + b"\r", now=0.0)
    assert isinstance(fault, ReadFault)
    assert fault.reason.startswith(reason)


def test_a_track_3_alone_has_no_card_number():
    (fault,) = MagstripeDriver().feed(b"+0112345678901234?\r", now=0.0)
    assert fault.reason == "no track 1 or 2 on the card"


def test_garbage_then_a_valid_swipe():
    driver = MagstripeDriver()
    events = driver.feed(b"\x00\xff\x13garbage%B12^", now=0.0)
    events += driver.feed(b"\r" + SWIPE, now=0.1)
    assert events[-1] == READ
    assert [type(e) for e in events] == [ReadFault, CredentialRead]


def test_a_line_without_terminator_is_cut_once_and_the_next_swipe_reads():
    driver = MagstripeDriver()
    events = driver.feed(b"7" * 600, now=0.0) + driver.feed(b"7" * 600, now=0.1)
    assert events == [ReadFault("frame too long", b"7" * 512)]
    assert driver.feed(b"\r" + SWIPE, now=0.2) == [READ]


def test_reset_drops_the_partial_swipe():
    driver = MagstripeDriver()
    driver.feed(SWIPE[:20], now=0.0)
    driver.reset()
    (fault,) = driver.feed(SWIPE[20:], now=0.1)  # the rest alone is no swipe
    assert fault.reason == "not a magnetic-stripe swipe"
    assert driver.feed(SWIPE, now=0.2) == [READ]


def test_the_cardholder_name_never_appears():
    broken = [
        SWIPE,
        TRACK1 + b"\r",
        TRACK1[:30] + b"\r",  # cut in the middle of the name
        TRACK1.replace(b"%B", b"%X") + b"\r",
        b"%E?" + TRACK1[2:] + b"\r",
        b"\xff" + TRACK1 + b"\r",
        b"%B1^DOE/JOHN^2712?\r",
    ]
    for stream in broken:
        for event in MagstripeDriver().feed(stream, now=0.0) + MagstripeDriver(track="2").feed(stream, now=0.0):
            assert no_personal_data(event)


def test_redact_keeps_digits_and_framing_only():
    assert redact(TRACK1 + TRACK2) == f"%B{PAN}^********^2712101000000000?".encode() + TRACK2
    assert redact(b"%E?;E?+E?") == b"%E?;E?+E?"


def test_parse_tracks_numbers_the_tracks():
    assert parse_tracks("%B1^N^?;2=?;3?") == {1: "B1^N^", 2: "2=", 3: "3"}
    assert parse_tracks("%E?+3?") == {1: "E", 3: "3"}
    assert parse_tracks("%B1^N^") is None


def test_a_swipe_through_a_serial_port():
    port = serial.serial_for_url("loop://", timeout=0.5)
    try:
        port.write(SWIPE + b"%E?;E?\r")
        data = port.read(len(SWIPE) + 7)
    finally:
        port.close()
    events = MagstripeDriver().feed(data, now=0.0)
    assert events == [READ, ReadFault("swipe error, swipe again", b"%E?;E?")]


# MSR605


def test_msr605_sends_the_read_command_once_until_a_reply():
    driver = Msr605Driver()
    assert driver.output(now=0.0) == ESC_R
    assert driver.output(now=1.0) == b""
    assert driver.feed(REPLY[:10], now=2.0) == []
    assert driver.output(now=2.0) == b""
    assert driver.feed(REPLY[10:], now=3.0) == [READ]
    assert driver.output(now=3.0) == ESC_R
    assert driver.output(now=3.1) == b""


def test_msr605_reply_byte_by_byte():
    driver = Msr605Driver()
    driver.output(now=0.0)
    assert feed_bytewise(driver, REPLY) == [READ]


def test_msr605_tracks_without_sentinels_and_digit_track_numbers():
    reply = b"\x1bs\x1b1" + TRACK1[1:-1] + b"\x1b2" + TRACK2[1:-1] + b"\x1b3?\x1c\x1b0"
    assert Msr605Driver().feed(reply, now=0.0) == [READ]


def test_msr605_track_1_only_and_unreadable_track_2():
    reply = b"\x1bs\x1b\x01" + TRACK1 + b"\x1b\x02\x1b*\x1b\x03\x1b+?\x1c\x1b0"
    (read,) = Msr605Driver().feed(reply, now=0.0)
    assert read == CredentialRead("magstripe", PAN, detail="track 1 · exp 2712")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (b"1", "reader status 1: read error, swipe again"),
        (b"2", "reader status 2: command format error"),
        (b"4", "reader status 4: invalid command"),
        (b"9", "reader status 9: invalid card swipe in write mode"),
        (b"7", "reader status 7: unknown status"),
        (b"\x00", "reader status 0x00: unknown status"),
    ],
)
def test_msr605_error_status_is_a_fault_and_rearms(status, reason):
    driver = Msr605Driver()
    assert driver.output(now=0.0) == ESC_R
    reply = REPLY[:-1] + status
    (fault,) = driver.feed(reply, now=1.0)
    assert fault.reason == reason
    assert NAME.encode() not in fault.raw and fault.raw.startswith(b"\x1bs\x1b\x01%B" + PAN.encode() + b"^*")
    assert driver.output(now=1.0) == ESC_R


def test_msr605_swipe_error_on_both_tracks():
    reply = b"\x1bs\x1b\x01\x1b*\x1b\x02\x1b*\x1b\x03\x1b+?\x1c\x1b0"
    (fault,) = Msr605Driver().feed(reply, now=0.0)
    assert fault.reason == "swipe error, swipe again"


def test_msr605_malformed_reply():
    (fault,) = Msr605Driver().feed(b"\x1bsJUNK?\x1c\x1b0", now=0.0)
    assert fault.reason == "malformed reply: check the reader model"
    assert fault.raw == b"\x1bs****?\x1c\x1b0"


def test_msr605_garbage_before_the_reply_is_dropped():
    driver = Msr605Driver()
    driver.output(now=0.0)
    events = driver.feed(b"\xff\x00\x1c\x1bjunk\x1bs\x1b\x01half", now=1.0)
    assert events == []
    assert driver.output(now=1.0) == b""
    assert driver.feed(b"\x1c" + REPLY, now=2.0) == [READ]
    assert driver.output(now=2.0) == ESC_R
    assert driver.feed(b"\x1bs\x1c\x1b" + REPLY, now=3.0) == [READ]  # a cut reply ending in FS ESC


def test_msr605_reset_rearms_and_drops_the_partial_reply():
    driver = Msr605Driver()
    assert driver.output(now=0.0) == ESC_R
    driver.feed(REPLY[:30], now=1.0)
    driver.reset()
    assert driver.output(now=2.0) == ESC_R
    assert driver.output(now=2.1) == b""
    assert driver.feed(REPLY[30:], now=3.0) == []
    assert driver.feed(REPLY, now=4.0) == [READ]


def test_msr605_a_reply_without_end_is_cut():
    driver = Msr605Driver()
    driver.output(now=0.0)
    (fault,) = driver.feed(b"\x1bs\x1b\x01" + b"1" * 600, now=1.0)
    assert fault.reason == "frame too long"
    assert driver.output(now=1.0) == ESC_R
    assert driver.feed(REPLY, now=2.0) == [READ]


# fuzzing


@given(st.lists(st.binary(max_size=80), max_size=20))
def test_magstripe_any_bytes_never_raise(chunks):
    driver = MagstripeDriver()
    for chunk in chunks:
        for event in driver.feed(chunk, now=0.0):
            assert isinstance(event, CredentialRead | ReadFault)
            if isinstance(event, CredentialRead):
                assert event.value.isdigit() and 12 <= len(event.value) <= 19


@given(st.lists(st.binary(max_size=80), max_size=20))
def test_msr605_any_bytes_never_raise(chunks):
    driver = Msr605Driver()
    for chunk in chunks:
        assert driver.output(now=0.0) in (ESC_R, b"")
        for event in driver.feed(chunk, now=0.0):
            assert isinstance(event, CredentialRead | ReadFault)
            if isinstance(event, CredentialRead):
                assert event.value.isdigit() and 12 <= len(event.value) <= 19


@given(st.binary(max_size=700), st.integers(min_value=0, max_value=len(SWIPE)), st.sampled_from([b"\r", b"\n"]))
def test_magstripe_a_swipe_after_noise_is_still_read(noise, split, end):
    driver = MagstripeDriver()
    events = driver.feed(noise + end, now=0.0)
    events += driver.feed(SWIPE[:split], now=0.0) + driver.feed(SWIPE[split:], now=0.0)
    assert events[-1] == READ


@given(st.binary(max_size=700), st.integers(min_value=0, max_value=len(REPLY)))
def test_msr605_a_reply_after_noise_is_still_read(noise, split):
    driver = Msr605Driver()
    events = driver.feed(noise, now=0.0)
    events += driver.feed(REPLY[:split], now=0.0) + driver.feed(REPLY[split:], now=0.0)
    assert events[-1] == READ
    assert driver.output(now=0.0) == ESC_R


@given(
    st.from_regex(r"[A-Z]{2,12}/[A-Z]{2,12}", fullmatch=True),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([b"", b"%E?", b";E?", b";1?"]),
)
def test_no_cardholder_name_in_any_event(name, cut, extra):
    track1 = f"%B{PAN}^{name}^2712101000000000?".encode()
    for stream in (track1 + extra + b"\r", track1[:cut] + b"\r", extra + track1[:cut] + b"\r"):
        for driver in (MagstripeDriver(), MagstripeDriver(track="2")):
            for event in driver.feed(stream, now=0.0):
                assert name not in repr(event)
                assert not isinstance(event, ReadFault) or not re.search(rb"[A-Za-z]{2}", event.raw)
    for status in (b"0", b"1"):
        reply = b"\x1bs\x1b\x01" + track1[:cut] + b"\x1b\x02" + extra + b"\x1b\x03?\x1c\x1b" + status
        (event,) = Msr605Driver().feed(reply, now=0.0)
        assert name not in repr(event)
