"""Sending a message through a named channel."""

from __future__ import annotations

from membership.errors import Reason, ValidationError
from membership.notifications.interface import DeliveryReport, Message
from membership.plugins import hooks


async def send(channel: str, message: Message, settings: dict | None = None) -> DeliveryReport:
    """Deliver ``message`` through the channel registered as ``channel``."""
    channels = hooks().channels()
    if channel not in channels:
        raise ValidationError(
            field="channel",
            reason=Reason(
                f"unknown channel {channel!r}; known: {sorted(channels)}",
                f"未知的通知渠道 {channel!r}；可用：{sorted(channels)}",
            ),
        )
    return await channels[channel](settings).send(message)
