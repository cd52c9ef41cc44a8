"""Sending a message through a named channel, with a program's settings of it."""

from __future__ import annotations

import uuid

from membership.errors import Reason, ValidationError
from membership.notifications.config import channel_class, channel_settings
from membership.notifications.interface import DeliveryReport, Message


async def send(channel: str, message: Message, settings: dict | None = None) -> DeliveryReport:
    """Deliver ``message`` through the channel registered as ``channel``."""
    return await channel_class(channel)(settings).send(message)


async def send_for_program(program_id: uuid.UUID, channel: str, message: Message) -> DeliveryReport:
    """Deliver ``message`` through ``channel`` with the program's settings of it; a channel the
    program has not set up, or switched off, is refused."""
    configured = await channel_settings(program_id, channel, reveal=True)
    if configured is None or not configured.enabled:
        raise ValidationError(
            field="channel",
            reason=Reason(
                f"channel {channel!r} is not set up for this program", f"本方案尚未设置或已停用通知渠道 {channel!r}"
            ),
        )
    return await send(channel, message, configured.settings)
