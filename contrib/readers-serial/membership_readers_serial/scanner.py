"""Serial barcode / QR scanners (扫码枪, 扫码盒) in serial (virtual COM) mode.

A scanner sends each code it decodes as text followed by a terminator, usually CR. Many can be
configured to add a prefix or suffix; the driver strips the configured ones and refuses a scan
without them (a scan meant for another system, or a code typed into the wrong window).
"""

from __future__ import annotations

from typing import ClassVar

from membership.plugin import CredentialRead, ReaderDriver, ReaderEvent, ReadFault, SerialSettings

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}
MAX_SCAN = 512  # bytes; a longer run without a terminator is noise or a wrong terminator setting


class ScannerDriver(ReaderDriver):
    """One credential per scanned line."""

    name = "scanner"
    serial = SerialSettings(baudrate=9600)
    description = "serial barcode / QR scanners"
    options: ClassVar[dict[str, str]] = {
        "terminator": "what ends a scan: cr (default), lf, crlf or tab",
        "kind": "credential kind of a scan: qr_token (default), barcode, card_uid, magstripe or a plugin's",
        "prefix": "text the scanner puts before each code, stripped (default none)",
        "suffix": "text the scanner puts after each code, stripped (default none)",
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.terminator = TERMINATORS[self.option("terminator", "cr", tuple(TERMINATORS))]
        self.kind = self.kind_option("kind", "qr_token")
        self.prefix = self.option("prefix", "")
        self.suffix = self.option("suffix", "")
        self._buffer = b""

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """One event per terminated scan; empty lines are skipped."""
        self._buffer += data
        *scans, self._buffer = self._buffer.split(self.terminator)
        events = [self._read(scan) for scan in scans if scan.strip()]
        if len(self._buffer) > MAX_SCAN:
            events.append(ReadFault("scan too long: check the terminator setting", self._buffer[:MAX_SCAN]))
            self._buffer = b""
        return events

    def _read(self, scan: bytes) -> ReaderEvent:
        if len(scan) > MAX_SCAN:
            return ReadFault("scan too long", scan[:MAX_SCAN])
        try:
            text = scan.decode("utf-8").strip()
        except UnicodeDecodeError:
            return ReadFault("not UTF-8 text: check the scanner's code page", scan)
        if not (text.startswith(self.prefix) and text.endswith(self.suffix)) or len(text) <= len(
            self.prefix + self.suffix
        ):
            return ReadFault("scan without the configured prefix/suffix", scan)
        value = text[len(self.prefix) : len(text) - len(self.suffix)].strip()
        return CredentialRead(self.kind, value, detail=f"{len(value)} characters")

    def reset(self) -> None:
        """Drop the partial scan."""
        self._buffer = b""
