"""The reader-driver interface: bytes from a serial device in, credentials out."""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True)
class CredentialRead:
    """One credential a reader saw: ``kind`` as in :mod:`membership.members.credentials`."""

    kind: str
    value: str


@dataclasses.dataclass(frozen=True)
class SerialSettings:
    """How to open the port (pyserial names)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


class ReaderDriver:
    """Base class of reader drivers; register subclasses with ``membership_register_reader_drivers``.

    A driver is a stateful parser: :meth:`feed` receives whatever bytes arrived (partial frames,
    several frames, garbage) and returns the credentials completed so far. It never raises on
    bad input; it drops what it cannot parse and resynchronises on the next frame start.

    Example::

        class LineScanner(ReaderDriver):
            name = "line-scanner"
            serial = SerialSettings(baudrate=9600)

            def __init__(self):
                self._buffer = b""

            def feed(self, data: bytes) -> list[CredentialRead]:
                self._buffer += data
                *lines, self._buffer = self._buffer.split(b"\\r")
                return [CredentialRead("qr_token", ln.decode()) for ln in lines if ln]
    """

    name: ClassVar[str] = ""
    serial: ClassVar[SerialSettings] = SerialSettings()
    description: ClassVar[str] = ""

    def feed(self, data: bytes) -> list[CredentialRead]:
        """Parse ``data`` and return every complete credential it finished."""
        raise NotImplementedError

    def wake_up(self) -> bytes:
        """Bytes to write after opening the port (PN532-style readers need a command)."""
        return b""
