"""The reader-driver interface: bytes from a serial device in, credentials out.

A driver is a *sans-I/O* state machine. The reader service (:mod:`membership.readers.listener`)
owns the port; it hands the driver whatever bytes arrived with :meth:`ReaderDriver.feed` and
writes whatever :meth:`ReaderDriver.output` asks for (commands of readers that must be polled,
such as the PN532). Drivers therefore test without hardware: feed bytes, look at the results.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from membership.errors import Reason, ValidationError


@dataclasses.dataclass(frozen=True)
class CredentialRead:
    """One credential a reader saw.

    :param kind: a registered credential kind (``card_uid``… or a plugin's, see
        ``GET /api/v1/credential-kinds``); a kind nobody registered is recorded as refused.
    :param value: the value as the identity hook expects it (e.g. the card UID in hex).
    :param detail: what staff may read on the counter screen, e.g. ``"FC 123 · No 45678"``.
    """

    kind: str
    value: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class ReadFault:
    """A frame the driver received but refused (bad checksum, parity, swipe error, device error).

    It is reported to the operator ("please swipe again"), never turned into a member.

    :param reason: a short English reason, e.g. ``"checksum mismatch"``.
    :param raw: the refused bytes, for troubleshooting (hex-printed by the service).
    """

    reason: str
    raw: bytes = b""


ReaderEvent = CredentialRead | ReadFault


@dataclasses.dataclass(frozen=True)
class SerialSettings:
    """How to open the port (pyserial names)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


class ReaderDriver:
    """Base class of reader drivers; register subclasses with ``membership_register_reader_drivers``.

    :meth:`feed` receives whatever bytes arrived (partial frames, several frames, garbage) and
    returns the events completed so far. It never raises on bad input: it reports a
    :class:`ReadFault` for a frame it refuses, drops noise and resynchronises on the next frame
    start. ``now`` is a monotonic clock in seconds (``time.monotonic()``), passed in so drivers
    that merge repeats or time out commands stay deterministic under test.

    Options come from ``membership reader listen --option key=value`` as strings; a driver
    declares the ones it accepts in :attr:`options` (name → help) and reads them in
    ``__init__``. :meth:`option` parses and validates one.

    Example::

        class LineScanner(ReaderDriver):
            name = "line-scanner"
            serial = SerialSettings(baudrate=9600)
            options = {"kind": "credential kind of a scanned line (default qr_token)"}

            def __init__(self, **options: str) -> None:
                super().__init__(**options)
                self.kind = self.option("kind", "qr_token")
                self._buffer = b""

            def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
                self._buffer += data
                *lines, self._buffer = self._buffer.split(b"\\r")
                return [CredentialRead(self.kind, ln.decode("ascii", "replace")) for ln in lines if ln]
    """

    name: ClassVar[str] = ""
    serial: ClassVar[SerialSettings] = SerialSettings()
    description: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}

    def __init__(self, **options: str) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options))
            raise ValidationError(
                field="option",
                reason=Reason(
                    f"{self.name} does not take {unknown[0]!r} (options: {known or 'none'})",
                    f"{self.name} 不支持选项 {unknown[0]!r}（可用选项：{known or '无'}）",
                ),
            )
        self._options = options

    def option(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        """The option ``key`` as given, else ``default``; refused unless one of ``choices``."""
        value = self._options.get(key, default)
        if choices is not None and value not in choices:
            raise ValidationError(
                field=key, reason=Reason(f"one of {', '.join(choices)}", f"只能是 {', '.join(choices)} 之一")
            )
        return value

    def kind_option(self, key: str = "kind", default: str = "qr_token") -> str:
        """The option ``key`` as a registered credential kind issued to members (``card_uid``,
        ``barcode``… or a plugin's), else ``default``; refused with the kinds it may be."""
        from membership.members.credentials import issuable_kind

        return issuable_kind(self._options.get(key, default)).name

    def float_option(self, key: str, default: float, minimum: float = 0.0) -> float:
        """The option ``key`` as a number ≥ ``minimum``, else ``default``."""
        raw = self._options.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValidationError(field=key, reason=Reason("a number", "应为数字")) from None
        if value < minimum:
            raise ValidationError(field=key, reason=Reason(f"at least {minimum}", f"至少为 {minimum}"))
        return value

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """Parse ``data`` (received at ``now``) and return every event it completed."""
        raise NotImplementedError

    def output(self, now: float) -> bytes:
        """Bytes to write to the device now (commands of polled readers); empty for most."""
        return b""

    def reset(self) -> None:
        """Forget partial frames and protocol state (the port was reopened)."""


class RepeatFilter:
    """Merges repeats: a reader that resends a card while it lies on the antenna (RDM6300,
    PN532 polling) produces one read per presentation.

    The same credential seen again within ``window`` seconds of its *last* sighting is a repeat,
    so a card held still for a minute is one read; lifted and presented again after the window,
    it is a new read.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: tuple[str, str] | None = None
        self._seen_at = float("-inf")

    def fresh(self, read: CredentialRead, now: float) -> bool:
        """True when ``read`` at ``now`` is a new presentation (and remember it)."""
        key = (read.kind, read.value)
        repeat = key == self._last and now - self._seen_at < self.window
        self._last, self._seen_at = key, now
        return not repeat

    def reset(self) -> None:
        """Forget the last card."""
        self._last, self._seen_at = None, float("-inf")
