"""The reader service: owns a serial port, runs a driver over it, survives unplugging.

A thread does the port I/O with blocking pyserial calls (``serial.serial_for_url``, so device
paths, ``loop://``, ``socket://host:port`` serial servers and ptys all work); it feeds the driver
and writes what the driver asks for. Events go to the asyncio side through a queue, where they
are resolved and recorded one by one, in order. When the device goes away (unplugged USB
adapter, closed socket) the thread closes the port, reports it, and reopens it with a backoff of
up to ``max_backoff`` seconds, with the driver reset.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable

import serial

from membership.readers.interface import ReaderDriver, ReaderEvent, SerialSettings

READ_TIMEOUT = 0.1


@dataclasses.dataclass(frozen=True)
class PortStatus:
    """The port opened (``connected``) or went away (``disconnected``, with the reason)."""

    state: str
    reason: str = ""


class SerialPump(threading.Thread):
    """Reads the port into the driver until :meth:`stop`; reconnects after errors."""

    def __init__(
        self,
        url: str,
        settings: SerialSettings,
        driver: ReaderDriver,
        deliver: Callable[[ReaderEvent | PortStatus], None],
        max_backoff: float = 5.0,
    ) -> None:
        super().__init__(name=f"reader {url}", daemon=True)
        self.url, self.settings, self.driver, self.deliver = url, settings, driver, deliver
        self.max_backoff = max_backoff
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the thread to close the port and end (within about ``READ_TIMEOUT``)."""
        self._stopping.set()

    def run(self) -> None:
        """Open, pump, and on failure wait and reopen, until stopped."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                port = serial.serial_for_url(
                    self.url,
                    baudrate=self.settings.baudrate,
                    bytesize=self.settings.bytesize,
                    parity=self.settings.parity,
                    stopbits=self.settings.stopbits,
                    timeout=READ_TIMEOUT,
                    write_timeout=1.0,
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                self.deliver(PortStatus("disconnected", str(exc)))
            else:
                backoff = 0.5
                self.deliver(PortStatus("connected"))
                try:
                    self._pump(port)
                except (serial.SerialException, OSError) as exc:
                    self.deliver(PortStatus("disconnected", str(exc) or type(exc).__name__))
                finally:
                    port.close()
                if self._stopping.is_set():
                    return
            self.driver.reset()
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _pump(self, port: serial.SerialBase) -> None:
        while not self._stopping.is_set():
            outgoing = self.driver.output(time.monotonic())
            if outgoing:
                port.write(outgoing)
            data = port.read(max(1, port.in_waiting))
            if data:
                for event in self.driver.feed(data, time.monotonic()):
                    self.deliver(event)


async def listen(
    url: str,
    driver: ReaderDriver,
    handle: Callable[[ReaderEvent | PortStatus], Awaitable[None]],
    stop: asyncio.Event,
    settings: SerialSettings | None = None,
    max_backoff: float = 5.0,
) -> None:
    """Run ``driver`` on the port at ``url`` until ``stop`` is set, awaiting ``handle`` for every
    event and port status in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ReaderEvent | PortStatus] = asyncio.Queue()
    pump = SerialPump(
        url,
        settings or driver.serial,
        driver,
        lambda event: loop.call_soon_threadsafe(queue.put_nowait, event),
        max_backoff,
    )
    pump.start()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            getting = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if getting not in done:
                getting.cancel()
                break
            await handle(getting.result())
    finally:
        stopping.cancel()
        pump.stop()
        await asyncio.to_thread(pump.join)
