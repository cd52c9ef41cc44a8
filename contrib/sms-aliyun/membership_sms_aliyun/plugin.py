"""The ``aliyun_sms`` channel: Dysmsapi ``SendSms`` (API version 2017-05-25) with an approved
template (``message.template``: its code, ``SMS_…``; ``message.params``: its variables) under the
program's signature name (签名). The message id goes as ``OutId``, so the provider's delivery
receipts name it. A number or template the provider refuses is a permanent failure; throttling
and a low balance are tried again later."""

from __future__ import annotations

import json
import urllib.parse
from typing import Annotated

import httpx
import msgspec

from membership.plugin import Channel, DeliveryReport, Message, hookimpl
from membership_sms_aliyun.signing import signed_headers

ACTION, VERSION = "SendSms", "2017-05-25"
PERMANENT = (
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT",
    "InvalidAccessKeyId.NotFound",
    "SignatureDoesNotMatch",
)


class AliyunSmsSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The AccessKey (a RAM user's, allowed ``dysms:SendSms``), the signature name shown in front
    of each message (【悦享咖啡】) and the endpoint."""

    access_key_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    access_key_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    sign_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    endpoint: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/]+/?$")] = "https://dysmsapi.aliyuncs.com"
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0


def phone_number(e164: str) -> str:
    """The number as Dysmsapi takes it: mainland numbers without +86, others with their country
    code (no +)."""
    digits = e164.removeprefix("+")
    return digits[2:] if e164.startswith("+86") else digits


class AliyunSms(Channel):
    """SMS through Alibaba Cloud."""

    name = "aliyun_sms"
    label_zh = "阿里云短信"
    label_en = "Alibaba Cloud SMS"
    address = "phone"
    settings_type = AliyunSmsSettings
    secrets = ("access_key_secret",)

    async def send(self, message: Message) -> DeliveryReport:
        """One ``SendSms`` call; the provider's ``BizId`` is the provider id."""
        config: AliyunSmsSettings = self.config
        if not message.template:
            return DeliveryReport(self.name, False, error="no SMS template code for this message", permanent=True)
        query = {
            "PhoneNumbers": phone_number(message.to),
            "SignName": config.sign_name,
            "TemplateCode": message.template,
            "TemplateParam": json.dumps(message.params, ensure_ascii=False, separators=(",", ":")),
        }
        if message.id:
            query["OutId"] = message.id[:256]
        host = urllib.parse.urlsplit(config.endpoint).netloc
        headers = signed_headers(
            "POST", host, "/", query, b"", ACTION, VERSION, config.access_key_id, config.access_key_secret
        )
        url = config.endpoint.rstrip("/") + "/?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        try:
            async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
                answer = await client.post(url, headers=headers)
            document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            return DeliveryReport(self.name, False, error=f"{type(exc).__name__}: {exc}"[:500])
        code = str(document.get("Code", ""))
        if code == "OK":
            return DeliveryReport(self.name, True, provider_id=str(document.get("BizId", "")))
        text = f"{code}: {document.get('Message', '')}"[:500]
        return DeliveryReport(self.name, False, error=text, permanent=code in PERMANENT)


@hookimpl
def membership_register_channels() -> list[type[Channel]]:
    """``aliyun_sms``."""
    return [AliyunSms]
