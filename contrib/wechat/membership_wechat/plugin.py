"""Two channels to a member's WeChat openid (the credential kind ``wechat_openid``):

* ``wechat_subscribe`` — a mini-program's subscription message (小程序订阅消息,
  ``/cgi-bin/message/subscribe/send``): the member ticked "allow" for the template in the
  mini-program; ``message.link`` is the page it opens;
* ``wechat_template`` — an official account's template message (公众号模板消息,
  ``/cgi-bin/message/template/send``) to a follower; ``message.link`` is the URL it opens.

``message.template`` is the template id, ``message.params`` its fields (``thing1``, ``time2``…
→ ``{"value": …}``). Both fetch an access token with the app's AppID and AppSecret
(``/cgi-bin/token``), keep it until shortly before it expires, and fetch a fresh one once when
WeChat says it is invalid or expired. A member who refused or unfollowed, or an openid or
template WeChat does not know, is a permanent failure; "system busy" and API limits are tried
again later.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, ClassVar, Literal

import httpx
import msgspec

from membership.plugin import Channel, DeliveryReport, Message, hookimpl

TOKEN_EXPIRED = {40001, 40014, 42001}
PERMANENT = {40003, 40037, 43004, 43101, 43107, 47003, 40013, 40125, 48001}
SAFETY_SECONDS = 300
_tokens: dict[tuple[str, str], tuple[str, float]] = {}


class WechatSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The app's AppID and AppSecret (mini-program or official account), and the API's base."""

    app_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    app_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    api_base: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/]+/?$")] = "https://api.weixin.qq.com"
    miniprogram_state: Literal["formal", "trial", "developer"] = "formal"
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0


class _WechatChannel(Channel):
    """What both channels share: the access token and the call."""

    address = "wechat_openid"
    settings_type = WechatSettings
    secrets = ("app_secret",)
    path: ClassVar[str] = ""

    def body(self, message: Message, config: WechatSettings) -> dict[str, Any]:
        """The JSON this channel posts."""
        raise NotImplementedError

    async def _token(self, client: httpx.AsyncClient, config: WechatSettings, fresh: bool) -> str:
        key = (config.api_base, config.app_id)
        cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
        answer = await client.get(
            config.api_base.rstrip("/") + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": config.app_id, "secret": config.app_secret},
        )
        document = answer.json()
        if "access_token" not in document:
            raise PermissionError(f"{document.get('errcode')}: {document.get('errmsg', '')}")
        expires = time.monotonic() + max(60, int(document.get("expires_in", 7200)) - SAFETY_SECONDS)
        _tokens[key] = (document["access_token"], expires)
        return document["access_token"]

    async def send(self, message: Message) -> DeliveryReport:
        """Post the message with a token; once more with a fresh token if WeChat refused it."""
        config: WechatSettings = self.config
        if not message.template:
            return DeliveryReport(self.name, False, error="no WeChat template id for this message", permanent=True)
        url = config.api_base.rstrip("/") + self.path
        try:
            async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
                for fresh in (False, True):
                    token = await self._token(client, config, fresh)
                    answer = await client.post(url, params={"access_token": token}, json=self.body(message, config))
                    document = answer.json()
                    code = int(document.get("errcode", 0))
                    if code not in TOKEN_EXPIRED:
                        break
        except PermissionError as exc:
            return DeliveryReport(self.name, False, error=f"access token refused: {exc}"[:500], permanent=True)
        except (httpx.HTTPError, ValueError) as exc:
            return DeliveryReport(self.name, False, error=f"{type(exc).__name__}: {exc}"[:500])
        if code == 0:
            return DeliveryReport(self.name, True, provider_id=str(document.get("msgid", "")))
        text = f"{code}: {document.get('errmsg', '')}"[:500]
        return DeliveryReport(self.name, False, error=text, permanent=code in PERMANENT)


def _data(message: Message) -> dict[str, dict[str, str]]:
    return {field: {"value": value} for field, value in message.params.items()}


class WechatSubscribe(_WechatChannel):
    """A mini-program subscription message."""

    name = "wechat_subscribe"
    label_zh = "小程序订阅消息"
    label_en = "Mini-program subscription message"
    path = "/cgi-bin/message/subscribe/send"

    def body(self, message: Message, config: WechatSettings) -> dict[str, Any]:
        """``touser``, ``template_id``, ``page``, ``data``, ``miniprogram_state``, ``lang``."""
        found = {"touser": message.to, "template_id": message.template, "data": _data(message)}
        if message.link:
            found["page"] = message.link
        return {**found, "miniprogram_state": config.miniprogram_state, "lang": "zh_CN"}


class WechatTemplate(_WechatChannel):
    """An official account's template message."""

    name = "wechat_template"
    label_zh = "公众号模板消息"
    label_en = "Official account template message"
    path = "/cgi-bin/message/template/send"

    def body(self, message: Message, config: WechatSettings) -> dict[str, Any]:
        """``touser``, ``template_id``, ``url``, ``data`` (``client_msg_id``: the message id, so
        WeChat sends a repeat once)."""
        found = {"touser": message.to, "template_id": message.template, "data": _data(message)}
        if message.link:
            found["url"] = message.link
        if message.id:
            found["client_msg_id"] = message.id[:64]
        return found


@hookimpl
def membership_register_channels() -> list[type[Channel]]:
    """``wechat_subscribe`` and ``wechat_template``."""
    return [WechatSubscribe, WechatTemplate]
