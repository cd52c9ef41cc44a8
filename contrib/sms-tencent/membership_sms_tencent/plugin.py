"""The ``tencent_sms`` channel: ``SendSms`` (API version 2021-01-11) with an approved template
(``message.template``: its id; ``message.params``: its values, in order) under the program's
signature (签名) and SMS application (``SmsSdkAppId``). The message id goes as ``SessionContext``,
which the provider's delivery receipts carry back. A number or template the provider refuses is a
permanent failure; limits and a low balance are tried again later."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Annotated, Any

import httpx
import msgspec

from membership.plugin import Channel, DeliveryReport, Message, hookimpl
from membership_sms_tencent.signing import CONTENT_TYPE, authorization

SERVICE, ACTION, VERSION = "sms", "SendSms", "2021-01-11"
PERMANENT = (
    "InvalidParameterValue.IncorrectPhoneNumber",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.MissingTemplateToModify",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "AuthFailure.SignatureFailure",
    "AuthFailure.SecretIdNotFound",
)


class TencentSmsSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The API key (SecretId / SecretKey of a sub-user allowed ``sms:SendSms``), the SMS
    application's ``SmsSdkAppId``, the signature name and the region and endpoint."""

    secret_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    secret_key: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    sdk_app_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^\d+$")]
    sign_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] = "ap-guangzhou"
    endpoint: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/]+/?$")] = "https://sms.tencentcloudapi.com"
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0


def _failure(name: str, code: str, text: str) -> DeliveryReport:
    return DeliveryReport(name, False, error=f"{code}: {text}"[:500], permanent=code in PERMANENT)


class TencentSms(Channel):
    """SMS through Tencent Cloud."""

    name = "tencent_sms"
    label_zh = "腾讯云短信"
    label_en = "Tencent Cloud SMS"
    address = "phone"
    settings_type = TencentSmsSettings
    secrets = ("secret_key",)

    async def send(self, message: Message) -> DeliveryReport:
        """One ``SendSms`` call for one number; its ``SerialNo`` is the provider id."""
        config: TencentSmsSettings = self.config
        if not message.template:
            return DeliveryReport(self.name, False, error="no SMS template id for this message", permanent=True)
        document: dict[str, Any] = {
            "PhoneNumberSet": [message.to],
            "SmsSdkAppId": config.sdk_app_id,
            "SignName": config.sign_name,
            "TemplateId": message.template,
            "TemplateParamSet": list(message.params.values()),
        }
        if message.id:
            document["SessionContext"] = message.id[:512]
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        host = urllib.parse.urlsplit(config.endpoint).netloc
        stamp = int(time.time())
        headers = {
            "Authorization": authorization(config.secret_id, config.secret_key, SERVICE, host, payload, stamp),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(stamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": config.region,
        }
        try:
            async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
                answer = await client.post(config.endpoint.rstrip("/") + "/", content=payload, headers=headers)
            response = answer.json().get("Response", {})
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return DeliveryReport(self.name, False, error=f"{type(exc).__name__}: {exc}"[:500])
        if "Error" in response:
            error = response["Error"]
            return _failure(self.name, str(error.get("Code", "")), str(error.get("Message", "")))
        statuses = response.get("SendStatusSet") or [{}]
        status = statuses[0]
        if status.get("Code") == "Ok":
            return DeliveryReport(self.name, True, provider_id=str(status.get("SerialNo", "")))
        return _failure(self.name, str(status.get("Code", "")), str(status.get("Message", "")))


@hookimpl
def membership_register_channels() -> list[type[Channel]]:
    """``tencent_sms``."""
    return [TencentSms]
