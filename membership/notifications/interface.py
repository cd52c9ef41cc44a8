"""The notification-channel interface."""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True)
class Message:
    """What to deliver: an address the channel understands, a subject and a text body."""

    to: str
    body: str
    subject: str = ""


@dataclasses.dataclass(frozen=True)
class DeliveryReport:
    """What the channel knows after trying: ``delivered`` and the provider's id or error."""

    channel: str
    delivered: bool
    provider_id: str = ""
    error: str = ""


class Channel:
    """Base class of channels; register subclasses with ``membership_register_channels``.

    ``settings`` is the channel's own configuration (URLs, credentials). :meth:`send` must not
    raise for a delivery failure: it reports it.

    Example::

        class Webhook(Channel):
            name = "webhook"

            async def send(self, message: Message) -> DeliveryReport:
                async with httpx.AsyncClient() as client:
                    r = await client.post(self.settings["url"], json={"to": message.to,
                                                                      "body": message.body})
                return DeliveryReport(self.name, r.is_success, error=r.text[:200])
    """

    name: ClassVar[str] = ""

    def __init__(self, settings: dict | None = None) -> None:
        self.settings = settings or {}

    async def send(self, message: Message) -> DeliveryReport:
        """Deliver ``message`` and report how it went."""
        raise NotImplementedError
