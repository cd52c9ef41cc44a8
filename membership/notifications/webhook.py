"""Webhooks signed per the Standard Webhooks convention: the built-in ``webhook`` channel.

Each message is POSTed as JSON (``{"type": "message", "timestamp": …, "data": {…}}``) with three
headers: ``webhook-id`` (the message's id: the same on every retry, so the receiver de-duplicates),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256
of ``"{id}.{timestamp}.{body}"`` under the secret (``whsec_`` and the key in base64). A 2xx answer
is delivered; 408, 429, 5xx and an unreachable endpoint are tried again later (the delivery
outbox retries with growing pauses); other 4xx answers are permanent failures.
:func:`verify` is what a receiver runs (any Standard Webhooks library does the same).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Annotated

import httpx
import msgspec

from membership.notifications.interface import Channel, DeliveryReport, Message

TOLERANCE_SECONDS = 5 * 60
RETRYABLE = {408, 425, 429}
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{16,}={0,2}$"


class WebhookSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Where to POST and the signing secret (``whsec_`` and at least 12 bytes in base64)."""

    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000, pattern=r"^https?://")]
    secret: Annotated[str, msgspec.Meta(max_length=200, pattern=SECRET_PATTERN)]
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` and 32 random bytes in base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """Whether a received webhook is genuine: one of its ``v1`` signatures matches and its
    timestamp is within five minutes of ``now``."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not message_id or not stamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, message_id, int(stamp), body).partition(",")[2]
    given = [part.partition(",") for part in headers.get("webhook-signature", "").split()]
    return any(version == "v1" and hmac.compare_digest(value, expected) for version, _, value in given)


def payload(message: Message, at: dt.datetime) -> bytes:
    """The JSON body of a message."""
    data = {
        "id": message.id,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "template": message.template,
        "params": message.params,
        "link": message.link,
        "purpose": message.purpose,
    }
    document = {"type": "message", "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class Webhook(Channel):
    """POST to the program's endpoint, signed."""

    name = "webhook"
    label_zh = "Webhook 推送"
    label_en = "Webhook"
    address = "endpoint"
    settings_type = WebhookSettings
    secrets = ("secret",)

    async def send(self, message: Message) -> DeliveryReport:
        """One attempt; the status says whether to try again."""
        config: WebhookSettings = self.config
        now = dt.datetime.now(dt.UTC)
        body = payload(message, now)
        stamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message.id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(config.secret, message.id, stamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
                answer = await client.post(config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryReport(self.name, False, error=f"{type(exc).__name__}: {exc}"[:500])
        if answer.is_success:
            return DeliveryReport(self.name, True, provider_id=message.id)
        permanent = 400 <= answer.status_code < 500 and answer.status_code not in RETRYABLE
        return DeliveryReport(
            self.name, False, error=f"HTTP {answer.status_code}: {answer.text[:300]}", permanent=permanent
        )
