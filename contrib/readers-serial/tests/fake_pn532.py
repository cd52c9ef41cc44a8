"""A fake PN532 on a pty, for tests: it parses host frames, ACKs them and answers
SAMConfiguration and InListPassiveTarget like the chip (an InListPassiveTarget waits until a card
is put on the antenna). Built from the protocol (UM0701-02), not from the driver."""

from __future__ import annotations

import os
import select
import threading
import tty

ACK = bytes.fromhex("0000ff00ff00")


def information_frame(payload: bytes) -> bytes:
    return (
        b"\x00\x00\xff"
        + bytes([len(payload), (0x100 - len(payload)) & 0xFF])
        + payload
        + bytes([(0x100 - sum(payload) % 256) % 256, 0])
    )


class FakePn532:
    """The chip's side of the conversation, byte level."""

    def __init__(self) -> None:
        self.card: bytes | None = None
        self.commands: list[int] = []
        self._pending_poll = False
        self._incoming = bytearray()

    def receive(self, data: bytes) -> bytes:
        """Bytes from the host in, the chip's replies out."""
        self._incoming += data
        out = b""
        while True:
            start = self._incoming.find(b"\x00\xff")
            if start < 0 or len(self._incoming) < start + 4:
                return out + self.answer_poll()
            length = self._incoming[start + 2]
            end = start + 5 + length
            if len(self._incoming) < end:
                return out + self.answer_poll()
            payload = bytes(self._incoming[start + 4 : end - 1])
            del self._incoming[:end]
            if length == 0 or payload[0] != 0xD4:
                continue
            self.commands.append(payload[1])
            out += ACK
            if payload[1] == 0x14:
                out += information_frame(b"\xd5\x15")
            elif payload[1] == 0x4A:
                self._pending_poll = True

    def answer_poll(self) -> bytes:
        """The answer to a pending InListPassiveTarget once a card is there."""
        if not (self._pending_poll and self.card):
            return b""
        self._pending_poll = False
        target = b"\x01\x00\x44\x00" + bytes([len(self.card)]) + self.card
        return information_frame(b"\xd5\x4b\x01" + target)


class PtyPn532:
    """:class:`FakePn532` serving the slave side of a pty; open :attr:`path` with pyserial."""

    def __init__(self) -> None:
        self.chip = FakePn532()
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> PtyPn532:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._master)
        os.close(self._slave)

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            data = os.read(self._master, 1024) if ready else b""
            reply = self.chip.receive(data)
            if reply:
                os.write(self._master, reply)
