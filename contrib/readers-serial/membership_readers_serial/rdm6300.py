"""RDM6300 and other EM4100 125 kHz ID-card modules (ID卡读头).

The module sends one 14-byte ASCII frame per sighting, and keeps resending it while the card
lies on the antenna::

    STX  D0 D1 … D9  C0 C1  ETX
    02   ten hex digits: version byte + 4-byte card number    03
         C0 C1: XOR of the five data bytes, two hex digits

The card UID is the ten hex digits (``0F00A1B2C3``). The number printed on most EM4100 cards
is the last four bytes in decimal, ten digits (``0010597059``); it goes into ``detail`` so staff
can match the card in hand.
"""

from __future__ import annotations

import functools
import operator
from typing import ClassVar

from membership.plugin import (
    CredentialRead,
    ReaderDriver,
    ReaderEvent,
    ReadFault,
    RepeatFilter,
    SerialSettings,
)

STX, ETX = 0x02, 0x03
FRAME_LENGTH = 14  # STX + 10 data digits + 2 checksum digits + ETX
HEX_DIGITS = frozenset(b"0123456789ABCDEFabcdef")


class Rdm6300Driver(ReaderDriver):
    """EM4100 frames from an RDM6300-style module; repeats of a card held still merge."""

    name = "rdm6300"
    serial = SerialSettings(baudrate=9600)
    description = "RDM6300 / EM4100 125 kHz ID-card modules"
    options: ClassVar[dict[str, str]] = {
        "repeat_window": "seconds in which the same card again is the same presentation (default 1.0)"
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self._repeats = RepeatFilter(self.float_option("repeat_window", 1.0))
        self._buffer = bytearray()

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """Frames completed by ``data``; noise before an STX is dropped."""
        self._buffer += data
        events: list[ReaderEvent] = []
        while True:
            start = self._buffer.find(STX)
            if start < 0:
                self._buffer.clear()
                return events
            del self._buffer[:start]
            if len(self._buffer) < FRAME_LENGTH:
                return events
            frame = bytes(self._buffer[:FRAME_LENGTH])
            event = parse_frame(frame)
            if event is None:  # not a frame after all: resynchronise on the next STX
                del self._buffer[:1]
                continue
            del self._buffer[:FRAME_LENGTH]
            if isinstance(event, ReadFault) or self._repeats.fresh(event, now):
                events.append(event)

    def reset(self) -> None:
        """Drop the partial frame and forget the last card."""
        self._buffer.clear()
        self._repeats.reset()


def parse_frame(frame: bytes) -> ReaderEvent | None:
    """The read in a 14-byte ``frame``: a card, a fault (checksum mismatch), or None when it is
    not framed like an RDM6300 frame (no ETX, non-hex digits)."""
    body = frame[1:13]
    if frame[0] != STX or frame[13] != ETX or not HEX_DIGITS.issuperset(body):
        return None
    data = bytes.fromhex(body[:10].decode())
    if functools.reduce(operator.xor, data) != int(body[10:], 16):
        return ReadFault("checksum mismatch", frame)
    uid = data.hex().upper()
    return CredentialRead("card_uid", uid, detail=f"EM4100 · {int.from_bytes(data[1:]):010d}")
