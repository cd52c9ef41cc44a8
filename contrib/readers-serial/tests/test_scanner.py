"""Serial barcode / QR scanners: terminators, prefix/suffix, kinds, bad text."""

from __future__ import annotations

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from membership.errors import ValidationError
from membership.readers.interface import CredentialRead, ReadFault
from membership_readers_serial.scanner import ScannerDriver

TOKEN = "MQ7F3K9A2B"


def values(events):
    return [e.value for e in events]


def test_a_scan_ended_by_cr_is_a_member_code():
    (read,) = ScannerDriver().feed(TOKEN.encode() + b"\r", now=0.0)
    assert read == CredentialRead("qr_token", TOKEN, detail="10 characters")


@pytest.mark.parametrize(("terminator", "end"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n"), ("tab", b"\t")])
def test_each_terminator(terminator, end):
    driver = ScannerDriver(terminator=terminator)
    assert values(driver.feed(b"A1" + end + b"B2" + end + b"C3", now=0.0)) == ["A1", "B2"]
    assert values(driver.feed(end, now=0.0)) == ["C3"]


def test_a_cr_scanner_that_sends_crlf_still_reads_clean_values():
    assert values(ScannerDriver().feed(b"A1\r\nB2\r\n", now=0.0)) == ["A1", "B2"]


def test_prefix_and_suffix_are_stripped_and_required():
    driver = ScannerDriver(prefix="M:", suffix="#", kind="barcode")
    assert driver.feed(b"M:6901234567892#\r", now=0.0) == [CredentialRead("barcode", "6901234567892", "13 characters")]
    (fault,) = driver.feed(b"6901234567892\r", now=0.0)
    assert fault == ReadFault("scan without the configured prefix/suffix", b"6901234567892")
    (fault,) = driver.feed(b"M:#\r", now=0.0)  # nothing between them
    assert isinstance(fault, ReadFault)


def test_utf8_codes_and_refused_bytes():
    driver = ScannerDriver()
    assert values(driver.feed("会员码123\r".encode(), now=0.0)) == ["会员码123"]
    (fault,) = driver.feed(b"\xff\xfe\r", now=0.0)
    assert fault.reason.startswith("not UTF-8")


def test_a_run_without_terminator_is_cut_off():
    driver = ScannerDriver(terminator="tab")
    (fault,) = driver.feed(b"A" * 600, now=0.0)
    assert fault.reason.startswith("scan too long")
    assert values(driver.feed(b"B2\t", now=0.0)) == ["B2"]


def test_bad_options_are_refused_clearly():
    with pytest.raises(ValidationError, match="cr, lf, crlf, tab"):
        ScannerDriver(terminator="etx")
    with pytest.raises(ValidationError, match="qr_token"):
        ScannerDriver(kind="phone")


def test_scans_through_a_serial_port():
    port = serial.serial_for_url("loop://", timeout=0.5)
    try:
        port.write(b"A1\rB2\r")
        data = port.read(6)
    finally:
        port.close()
    assert values(ScannerDriver().feed(data, now=0.0)) == ["A1", "B2"]


@given(st.lists(st.binary(max_size=200), max_size=20), st.sampled_from(["cr", "lf", "crlf", "tab"]))
def test_any_bytes_never_raise(chunks, terminator):
    driver = ScannerDriver(terminator=terminator, prefix="M:")
    for chunk in chunks:
        for event in driver.feed(chunk, now=0.0):
            assert isinstance(event, CredentialRead | ReadFault)
            if isinstance(event, CredentialRead):
                assert event.value and len(event.value.encode()) <= 512


@given(st.binary(max_size=300), st.text(alphabet="ABCDEFGHJK0123456789", min_size=1, max_size=40))
def test_a_scan_after_noise_and_a_terminator_is_read(noise, code):
    driver = ScannerDriver()
    events = driver.feed(noise + b"\r", now=0.0) + driver.feed(code.encode() + b"\r", now=0.0)
    assert events[-1] == CredentialRead("qr_token", code, detail=f"{len(code)} characters")
