"""Wiegand 26 to RS-232 converters (韦根转串口): access-control readers at gates and turnstiles.

A Wiegand-26 reader sends 26 bits per card; the converter prints them as one line of text,
either seven hex digits (``hex``) or a decimal number (``decimal``), ended by CR, LF or CRLF::

    bit 25        bits 24..17        bits 16..1           bit 0
    even parity   facility code (8)  card number (16)     odd parity
    over 24..13                                           over 12..1

The credential value is the 24 data bits as six hex digits (``7BB18D`` for FC 123, No 45453),
the form most card printers and the identity hooks use; ``detail`` carries "FC 123 · No 45453",
the numbers printed on access cards.
"""

from __future__ import annotations

import re
from typing import ClassVar

from membership.plugin import CredentialRead, ReaderDriver, ReaderEvent, ReadFault, SerialSettings

FORMATS = {"hex": re.compile(rb"[0-9A-Fa-f]{1,7}"), "decimal": re.compile(rb"[0-9]{1,8}")}
LINE_END = re.compile(rb"[\r\n]")
MAX_LINE = 64


class Wiegand26Driver(ReaderDriver):
    """One card per line; parity-checked."""

    name = "wiegand26"
    serial = SerialSettings(baudrate=9600)
    description = "Wiegand 26 to RS-232 converters"
    options: ClassVar[dict[str, str]] = {"format": "how the converter prints the 26 bits: hex (default) or decimal"}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.format = self.option("format", "hex", tuple(FORMATS))
        self._buffer = b""

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """One event per complete line; blank lines are skipped."""
        *lines, self._buffer = LINE_END.split(self._buffer + data)
        events = [self._read(line.strip()) for line in lines if line.strip()]
        if len(self._buffer) > MAX_LINE:
            events.append(ReadFault("line too long: check the converter's output format", self._buffer))
            self._buffer = b""
        return events

    def _read(self, line: bytes) -> ReaderEvent:
        if not FORMATS[self.format].fullmatch(line):
            return ReadFault(f"not a Wiegand 26 frame in {self.format}", line)
        bits = int(line, 16 if self.format == "hex" else 10)
        if bits >> 26:
            return ReadFault("more than 26 bits", line)
        return decode_frame(bits, line)

    def reset(self) -> None:
        """Drop the partial line."""
        self._buffer = b""


def decode_frame(bits: int, raw: bytes = b"") -> ReaderEvent:
    """The card in a 26-bit Wiegand frame, or a fault when a parity bit is wrong."""
    even_half = (bits >> 13) & 0x1FFF  # bits 25..13: parity bit and the twelve it covers
    odd_half = bits & 0x1FFF  # bits 12..0
    if even_half.bit_count() % 2 != 0 or odd_half.bit_count() % 2 != 1:
        return ReadFault("parity error", raw)
    data = (bits >> 1) & 0xFFFFFF
    facility, number = data >> 16, data & 0xFFFF
    return CredentialRead("card_uid", f"{data:06X}", detail=f"FC {facility} · No {number}")
