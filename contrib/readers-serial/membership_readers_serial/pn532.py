"""PN532 NFC boards in HSU (UART) mode, reading ISO 14443A card UIDs (Mifare, NTAG, CPU cards).

The PN532 answers commands; the driver polls it. Every exchange is framed (NXP UM0701-02 §6.2)::

    00 00 FF  LEN  LCS  TFI  PD0 … PDn  DCS  00
    preamble, start code; LEN = bytes of TFI + PD; LCS = -LEN; TFI = D4 host→PN532, D5 back;
    DCS = -(TFI + PD0 + … + PDn); postamble.
    ACK 00 00 FF 00 FF 00 · NACK 00 00 FF FF 00 00 · error frame 00 00 FF 01 FF 7F 81 00

At start (and after the port is reopened) the driver wakes the chip from low-power mode
(``55 55 00 …``) and sends SAMConfiguration (``D4 14 01 14 01``: normal mode, no IRQ). Then it
polls InListPassiveTarget (``D4 4A 01 00``: one target, 106 kbps type A); the reply
``D5 4B NbTg Tg SENS_RES SEL_RES NFCIDLength NFCID1…`` names the card. A command the PN532 does
not acknowledge within ``ack_timeout`` is sent again (with a wake-up); a poll still unanswered
after ``response_timeout`` (no card: the chip waits for one) is sent again too.
"""

from __future__ import annotations

from typing import ClassVar

from membership.plugin import (
    CredentialRead,
    ReaderDriver,
    ReaderEvent,
    ReadFault,
    RepeatFilter,
    SerialSettings,
)

START = b"\x00\xff"
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
WAKE_UP = b"\x55\x55" + bytes(14)
HOST, CHIP = 0xD4, 0xD5
SAM_CONFIGURATION = bytes([HOST, 0x14, 0x01, 0x14, 0x01])
IN_LIST_PASSIVE_TARGET = bytes([HOST, 0x4A, 0x01, 0x00])
ERROR_FRAME_BODY = b"\x7f"
MAX_BUFFER = 512


def frame(payload: bytes) -> bytes:
    """A normal information frame around ``payload`` (TFI and data), with both checksums."""
    length = len(payload)
    return b"\x00\x00\xff" + bytes([length, -length & 0xFF]) + payload + bytes([-sum(payload) & 0xFF, 0x00])


class Pn532Driver(ReaderDriver):
    """Polls a PN532 over HSU and reads the UID of the ISO 14443A card on its antenna."""

    name = "pn532"
    serial = SerialSettings(baudrate=115200)
    description = "PN532 NFC boards in HSU (UART) mode, ISO 14443A card UIDs"
    options: ClassVar[dict[str, str]] = {
        "poll_interval": "seconds between polls after an answer (default 0.3)",
        "ack_timeout": "seconds to wait for the ACK of a command before sending it again (default 1.0)",
        "response_timeout": "seconds to wait for a card before polling again (default 5.0)",
        "repeat_window": "seconds in which the same card again is the same presentation (default 1.5)",
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.poll_interval = self.float_option("poll_interval", 0.3, minimum=0.05)
        self.ack_timeout = self.float_option("ack_timeout", 1.0, minimum=0.1)
        self.response_timeout = self.float_option("response_timeout", 5.0, minimum=0.5)
        self._repeats = RepeatFilter(self.float_option("repeat_window", 1.5))
        self.reset()

    def reset(self) -> None:
        """Start over: wake the chip and configure it again."""
        self._buffer = bytearray()
        self._command = SAM_CONFIGURATION
        self._state = "send"  # send → ack → response → idle (until the next poll) → send …
        self._since = float("-inf")
        self._wake = True
        self._repeats.reset()

    def output(self, now: float) -> bytes:
        """The command due now: the pending one, or one whose ACK or answer did not come in time."""
        overdue = (self._state == "ack" and now - self._since >= self.ack_timeout) or (
            self._state == "response" and now - self._since >= self.response_timeout
        )
        if self._state == "idle" and now - self._since >= self.poll_interval:
            self._command, self._state = IN_LIST_PASSIVE_TARGET, "send"
        if overdue:
            self._wake = self._wake or self._state == "ack"  # no ACK: the chip may be asleep
            self._state = "send"
        if self._state != "send":
            return b""
        data = (WAKE_UP if self._wake else b"") + frame(self._command)
        self._wake, self._state, self._since = False, "ack", now
        return data

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """Handle the ACKs and answers in ``data``; a card read or a fault for each answer that names one."""
        self._buffer += data
        events: list[ReaderEvent] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                del self._buffer[: max(0, len(self._buffer) - 1)]  # keep a trailing 00: half a start code
                return events
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return events
            length, check = self._buffer[2], self._buffer[3]
            if (length, check) == (0x00, 0xFF):  # ACK
                del self._buffer[:4]
                if self._state == "ack":
                    self._state, self._since = "response", now
                continue
            if (length, check) == (0xFF, 0x00):  # NACK: send the command again
                del self._buffer[:4]
                self._state = "send"
                continue
            if (length + check) & 0xFF:
                if length == 0xFF and check == 0xFF:  # an extended frame: never an answer to our commands
                    del self._buffer[:2]
                    continue
                events.append(ReadFault("checksum mismatch (LCS)", bytes(self._buffer[:4])))
                del self._buffer[:2]
                continue
            if len(self._buffer) < 4 + length + 1:
                if len(self._buffer) > MAX_BUFFER:
                    self._buffer.clear()
                return events
            body = bytes(self._buffer[4 : 4 + length])
            dcs = self._buffer[4 + length]
            raw = bytes(self._buffer[: 4 + length + 1])
            del self._buffer[: 4 + length + 1]
            if (sum(body) + dcs) & 0xFF:
                events.append(ReadFault("checksum mismatch (DCS)", raw))
                continue
            events.extend(self._answer(body, raw, now))

    def _answer(self, body: bytes, raw: bytes, now: float) -> list[ReaderEvent]:
        if body == ERROR_FRAME_BODY:  # the chip refused the command: poll again later, configure again now
            self._state, self._since = ("idle" if self._command == IN_LIST_PASSIVE_TARGET else "send"), now
            return [ReadFault("PN532 error frame", raw)]
        if len(body) < 2 or body[0] != CHIP or body[1] != self._command[1] + 1:
            return []  # not the answer to the command in flight: ignore it
        self._state, self._since = "idle", now
        if body[1] != IN_LIST_PASSIVE_TARGET[1] + 1:
            return []  # SAMConfiguration done: polling starts
        read = parse_target(body, raw)
        if isinstance(read, CredentialRead) and not self._repeats.fresh(read, now):
            return []
        return [] if read is None else [read]


def parse_target(body: bytes, raw: bytes = b"") -> ReaderEvent | None:
    """The card in an InListPassiveTarget answer (``D5 4B NbTg Tg SENS_RES SEL_RES NFCIDLength
    NFCID1…``); None when no card answered, a fault when the target data is cut short."""
    if len(body) < 3 or body[2] == 0:
        return None
    if len(body) < 8 or body[7] not in (4, 7, 10) or len(body) < 8 + body[7]:
        return ReadFault("malformed target data", raw)
    uid = body[8 : 8 + body[7]]
    return CredentialRead("card_uid", uid.hex().upper(), detail=f"ISO 14443A · {len(uid)}-byte UID · SAK {body[6]:02X}")
