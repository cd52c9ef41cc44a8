"""The plugin: registers every driver of this package with ``membership_register_reader_drivers``."""

from __future__ import annotations

from membership.plugin import ReaderDriver, hookimpl
from membership_readers_serial.magstripe import MagstripeDriver, Msr605Driver
from membership_readers_serial.pn532 import Pn532Driver
from membership_readers_serial.rdm6300 import Rdm6300Driver
from membership_readers_serial.scanner import ScannerDriver
from membership_readers_serial.wiegand import Wiegand26Driver

DRIVERS: list[type[ReaderDriver]] = [
    Rdm6300Driver,
    ScannerDriver,
    MagstripeDriver,
    Msr605Driver,
    Pn532Driver,
    Wiegand26Driver,
]


@hookimpl
def membership_register_reader_drivers() -> list[type[ReaderDriver]]:
    """rdm6300, scanner, magstripe, msr605, pn532, wiegand26."""
    return DRIVERS
