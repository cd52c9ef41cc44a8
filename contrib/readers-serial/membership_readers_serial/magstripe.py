"""Magnetic-stripe readers (磁条卡读卡器): ISO 7813 tracks 1 and 2.

Two kinds of device send the tracks of a swiped card:

- ``magstripe``: readers with keyboard-wedge style serial output print each swipe as the track
  text, ended by CR, LF or CRLF::

      %B6200001234567890^DOE/JOHN^2712101000000000?;6200001234567890=27121010000000000?\\r

- ``msr605``: MSR605 / MSR206 style readers answer the read command ``ESC r`` with one reply per
  swipe::

      ESC s  ESC 01 <track 1>  ESC 02 <track 2>  ESC 03 <track 3>  ?  FS  ESC <status>

  (track numbers as bytes 01-03, or the digits "1"-"3" on some devices; ``ESC +`` for an empty
  track, ``ESC *`` for one the reader could not read; status "0" is a good read)

Track formats (``%``/``;`` start sentinel, ``?`` end sentinel)::

    track 1  %B<card number, up to 19 digits>^<NAME>^<YYMM><service code><discretionary>?
    track 2  ;<card number, up to 19 digits>=<YYMM><service code><discretionary>?
    track 3  ;…? or +…?   (framing only: its content is not used)

The credential value is the card number, from track 2 when it has a valid one, else from track 1
(option ``track``); ``detail`` names the track and the expiry, ``"track 2 · exp 2712"``. The
cardholder name on track 1 is personal data: it never leaves this module, and the bytes of a
fault are masked (:func:`redact`) down to digits and framing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, NamedTuple

from membership.plugin import CredentialRead, ReaderDriver, ReaderEvent, ReadFault, SerialSettings

TRACK_CHOICES = ("auto", "1", "2")
OPTIONS = {"track": "which track's card number to use: auto (track 2, else track 1; default), 1 or 2"}
ERROR = "E"  # the body of a track the reader could not read: %E?, ;E?, +E?
PAN_DIGITS = (12, 19)

TRACK1 = re.compile(r"B(\d*)\^[^^]*\^(\d{4})?.*", re.ASCII | re.DOTALL)
TRACK2 = re.compile(r"(\d*)(?:=(\d{4})?[0-9:<=>]*)?", re.ASCII)
KEEP = re.compile(rb"(%B|[%;+]E\?|\x1bs|[\x00-\x1f0-9%;+?=^])|.", re.DOTALL)

# keyboard-wedge output
SWIPE = re.compile(r"(?:[%;+][^?]*\?)+")
WEDGE_TRACK = re.compile(r"([%;+])([^?]*)\?")
LINE_END = re.compile(rb"[\r\n]")
MAX_SWIPE = 512  # bytes; a longer run without CR/LF is noise or a reader in another mode

# MSR605 protocol
READ_COMMAND = b"\x1br"
REPLY_START = b"\x1bs"
REPLY_END = b"\x1c\x1b"  # FS ESC, then the status byte
MAX_REPLY = 512
# ESC + track number (0x01-0x03 on most devices, "1"-"3" on some), then the data or ESC + "+"
# (empty track) / ESC + "*" (track not readable)
BLOCK = re.compile(rb"(?:\x1b[\x01-\x03123](?:\x1b[+*]|[^\x1b]*))*")
BLOCK_TRACK = re.compile(rb"\x1b([\x01-\x03123])(?:\x1b([+*])|([^\x1b]*))")
STATUS = {
    b"1": "read error, swipe again",
    b"2": "command format error",
    b"4": "invalid command",
    b"9": "invalid card swipe in write mode",
}


class Track(NamedTuple):
    """The card number and expiry (``YYMM``, empty when absent) found on one track."""

    pan: str
    expiry: str


class MagstripeDriver(ReaderDriver):
    """One card number per swipe from a reader that prints the tracks as text lines."""

    name = "magstripe"
    serial = SerialSettings(baudrate=9600)
    description = "magnetic-stripe readers, keyboard-wedge style serial output (ISO 7813)"
    options: ClassVar[dict[str, str]] = OPTIONS

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.track = self.option("track", "auto", TRACK_CHOICES)
        self._buffer = b""
        self._skipping = False  # the rest of an over-long line is dropped up to its CR/LF

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """One event per swipe ended by CR or LF; empty lines are skipped."""
        *lines, self._buffer = LINE_END.split(self._buffer + data)
        if lines and self._skipping:
            lines[0], self._skipping = b"", False
        events = [self._read(line.strip()) for line in lines if line.strip()]
        if len(self._buffer) > MAX_SWIPE:
            if not self._skipping:
                events.append(ReadFault("frame too long", redact(self._buffer[:MAX_SWIPE])))
            self._buffer, self._skipping = b"", True
        return events

    def _read(self, swipe: bytes) -> ReaderEvent:
        if len(swipe) > MAX_SWIPE:
            return ReadFault("frame too long", redact(swipe[:MAX_SWIPE]))
        try:
            tracks = parse_tracks(swipe.decode("ascii"))
        except UnicodeDecodeError:
            return ReadFault("not ASCII text: check the baud rate", redact(swipe))
        if tracks is None:
            return ReadFault("not a magnetic-stripe swipe", redact(swipe))
        return pan_from_tracks(tracks, self.track, swipe)

    def reset(self) -> None:
        """Drop the partial swipe."""
        self._buffer, self._skipping = b"", False


class Msr605Driver(ReaderDriver):
    """MSR605 / MSR206 readers: sends the read command, one card number per reply."""

    name = "msr605"
    serial = SerialSettings(baudrate=9600)
    description = "MSR605 / MSR206 magnetic-stripe readers (ESC protocol)"
    options: ClassVar[dict[str, str]] = OPTIONS

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.track = self.option("track", "auto", TRACK_CHOICES)
        self._buffer = bytearray()
        self._armed = True  # the read command is due

    def output(self, now: float) -> bytes:
        """``ESC r`` once when a read is due (at start, after a reply, after :meth:`reset`)."""
        if not self._armed:
            return b""
        self._armed = False
        return READ_COMMAND

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """One event per complete reply; bytes before ``ESC s`` are dropped."""
        self._buffer += data
        events: list[ReaderEvent] = []
        while (end := self._buffer.find(REPLY_END)) >= 0 and end + 2 < len(self._buffer):
            if self._buffer[end + 2] in REPLY_START:  # FS ESC ESC / FS ESC s: a stray FS, then the next reply
                del self._buffer[: end + 1]
                continue
            start = self._buffer.rfind(REPLY_START, 0, end)  # the last start: earlier ones were cut off
            if start >= 0:  # else noise ending in FS ESC: dropped
                events.append(parse_reply(bytes(self._buffer[start : end + 3]), self.track))
                self._armed = True
            del self._buffer[: end + 3]
        start = self._buffer.rfind(REPLY_START)
        if start < 0:  # noise; keep a trailing ESC that may begin ESC s
            keep = 1 if self._buffer.endswith(b"\x1b") else 0
            del self._buffer[: len(self._buffer) - keep]
        else:
            del self._buffer[:start]
            if len(self._buffer) > MAX_REPLY:
                events.append(ReadFault("frame too long", redact(bytes(self._buffer[:MAX_REPLY]))))
                self._buffer.clear()
                self._armed = True
        return events

    def reset(self) -> None:
        """Drop the partial reply; the read command is sent again."""
        self._buffer.clear()
        self._armed = True


def parse_tracks(text: str) -> dict[int, str] | None:
    """The tracks of a keyboard-wedge swipe by number, sentinels stripped, or None when ``text``
    is not a run of ``%…?``, ``;…?`` and ``+…?`` tracks. ``%`` starts track 1; the first ``;``
    track is track 2, a second one (or a ``+`` track) track 3."""
    if not SWIPE.fullmatch(text):
        return None
    tracks: dict[int, str] = {}
    for sentinel, body in WEDGE_TRACK.findall(text):
        number = 1 if sentinel == "%" else 3 if sentinel == "+" or 2 in tracks else 2
        tracks.setdefault(number, body)
    return tracks


def parse_reply(reply: bytes, track: str = "auto") -> ReaderEvent:
    """The read in one MSR605 reply ``ESC s <data block> ? FS ESC <status>``."""
    status = reply[-1:]
    if status != b"0":
        code = status.decode() if b"!" <= status <= b"~" else f"0x{status.hex().upper()}"
        return ReadFault(f"reader status {code}: {STATUS.get(status, 'unknown status')}", redact(reply))
    block = reply[len(REPLY_START) : -len(REPLY_END) - 1].removesuffix(b"?")
    if not BLOCK.fullmatch(block):
        return ReadFault("malformed reply: check the reader model", redact(reply))
    try:
        tracks = {
            number[0] & 0x0F: ERROR if mark == b"*" else strip_sentinels(data.decode("ascii"))
            for number, mark, data in BLOCK_TRACK.findall(block)
            if mark != b"+"
        }
    except UnicodeDecodeError:
        return ReadFault("not ASCII text: check the baud rate", redact(reply))
    return pan_from_tracks(tracks, track, reply)


def strip_sentinels(body: str) -> str:
    """``body`` without its start sentinel (``%``, ``;`` or ``+``) and end sentinel (``?``)."""
    if body[:1] in ("%", ";", "+"):
        body = body[1:]
    return body.removesuffix("?")


def parse_track(number: int, body: str) -> Track | str:
    """The card number and expiry on track ``number`` (1 or 2), or the reason there is none."""
    match = (TRACK1 if number == 1 else TRACK2).fullmatch(body)
    if match is None:
        return f"track {number} is not in ISO 7813 format"
    pan, expiry = match.group(1), match.group(2) or ""
    if not PAN_DIGITS[0] <= len(pan) <= PAN_DIGITS[1]:
        return f"track {number}: card number of {len(pan)} digits (12 to 19 expected)"
    return Track(pan, expiry)


def pan_from_tracks(tracks: Mapping[int, str], track: str = "auto", raw: bytes = b"") -> ReaderEvent:
    """The card number of a swipe whose track bodies are ``tracks`` (sentinels stripped, ``"E"``
    for an unreadable track): from track 2, else track 1 (``track="auto"``), or from the one
    track asked for. Without one, a fault carrying ``raw`` masked by :func:`redact`.

    A track the reader could not read does not spoil the swipe while the other has a card
    number (readers print ``%E?`` for a card with no track 1).
    """
    numbers = (2, 1) if track == "auto" else (int(track),)
    unreadable, reasons = False, list[str]()
    for number in numbers:
        body = tracks.get(number, "")
        if body == ERROR:
            unreadable = True
        elif body:
            found = parse_track(number, body)
            if isinstance(found, Track):
                detail = f"track {number} · exp {found.expiry}" if found.expiry else f"track {number}"
                return CredentialRead("magstripe", found.pan, detail=detail)
            reasons.append(found)
    if unreadable:
        reason = "swipe error, swipe again"
    elif reasons:
        reason = reasons[0]
    else:
        reason = f"no track {' or '.join(map(str, sorted(numbers)))} on the card"
    return ReadFault(reason, redact(raw))


def redact(raw: bytes) -> bytes:
    """``raw`` with everything but digits, framing (``% ; + ? = ^``, ``%B``, error markers,
    ``ESC s``) and control bytes masked as ``*``: no cardholder name reaches a fault."""
    return KEEP.sub(lambda match: match.group(1) or b"*", raw)
