"""The notification-channel interface."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import msgspec

Address = Literal["phone", "email", "wechat_openid", "member", "endpoint"]


@dataclasses.dataclass(frozen=True)
class Message:
    """What to deliver: an address the channel understands (``to``), a subject and a text body.

    ``id`` names the message: it stays the same on every retry, so a receiver de-duplicates on it
    (a webhook's ``webhook-id``, an SMS provider's ``OutId``). Providers that send only approved
    templates (SMS, WeChat) take ``template`` (their template code or id) and ``params`` (its
    values, in order); ``body`` is then the text as the member reads it. ``html`` is an e-mail's
    HTML part, ``link`` where a tap leads (a WeChat page), ``unsubscribe`` the one-step opt-out
    address (an e-mail's ``List-Unsubscribe``) and ``purpose`` ``marketing`` or ``service``."""

    to: str
    body: str
    subject: str = ""
    id: str = ""
    template: str = ""
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    html: str = ""
    link: str = ""
    unsubscribe: str = ""
    purpose: str = "service"


@dataclasses.dataclass(frozen=True)
class DeliveryReport:
    """What the channel knows after trying: ``delivered`` and the provider's id or error.
    ``permanent`` marks a failure no retry can mend (an invalid number, a member who refused
    the channel): the message is not tried again."""

    channel: str
    delivered: bool
    provider_id: str = ""
    error: str = ""
    permanent: bool = False


class Channel:
    """Base class of channels; register subclasses with ``membership_register_channels``.

    ``settings`` is the channel's own configuration (URLs, credentials) for one program, as a
    dict; ``config`` is it checked against ``settings_type`` (a ``msgspec.Struct``: the schema
    the API and console show), whose fields named in ``secrets`` are kept sealed and never shown.
    ``address`` says what the channel sends to: the member's ``phone``, ``email`` or
    ``wechat_openid``, the ``member`` themselves (an inbox), or an ``endpoint`` of its settings
    (a webhook). :meth:`send` must not raise for a delivery failure: it reports it.

    Example::

        class Webhook(Channel):
            name = "webhook"
            address = "endpoint"

            async def send(self, message: Message) -> DeliveryReport:
                async with httpx.AsyncClient() as client:
                    r = await client.post(self.settings["url"], json={"to": message.to,
                                                                      "body": message.body})
                return DeliveryReport(self.name, r.is_success, error=r.text[:200])
    """

    name: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    label_en: ClassVar[str] = ""
    address: ClassVar[Address] = "phone"
    settings_type: ClassVar[type[msgspec.Struct] | None] = None
    secrets: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: dict | None = None) -> None:
        self.settings = settings or {}

    @property
    def config(self) -> Any:
        """``settings`` checked against ``settings_type`` (the dict itself when there is none)."""
        if self.settings_type is None:
            return self.settings
        return msgspec.convert(self.settings, self.settings_type)

    async def send(self, message: Message) -> DeliveryReport:
        """Deliver ``message`` and report how it went."""
        raise NotImplementedError
