"""The WeChat channels against a fake api.weixin.qq.com on 127.0.0.1: access tokens fetched with
the AppID and AppSecret, kept, and fetched again once WeChat says one expired; subscription and
template messages as WeChat reads them; refusals that a retry cannot mend."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from membership.plugin import Message
from membership_wechat import plugin
from membership_wechat.plugin import WechatSubscribe, WechatTemplate

APP_ID, APP_SECRET = "wx1234567890abcdef", "app-secret"


class FakeWechat:
    def __init__(self) -> None:
        self.tokens_issued = 0
        self.valid_token = ""
        self.sent: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, document: dict) -> None:
                data = json.dumps(document, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                split = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(split.query))
                if split.path != "/cgi-bin/token" or query.get("grant_type") != "client_credential":
                    return self.answer({"errcode": 40013, "errmsg": "invalid appid"})
                if (query.get("appid"), query.get("secret")) != (APP_ID, APP_SECRET):
                    return self.answer({"errcode": 40125, "errmsg": "invalid appsecret"})
                fake.tokens_issued += 1
                fake.valid_token = f"TOKEN-{fake.tokens_issued}"
                return self.answer({"access_token": fake.valid_token, "expires_in": 7200})

            def do_POST(self):
                split = urllib.parse.urlsplit(self.path)
                token = dict(urllib.parse.parse_qsl(split.query)).get("access_token")
                document = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if token != fake.valid_token:
                    return self.answer({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
                fake.sent.append((split.path, document))
                openid = document["touser"]
                if openid == "o-refused":
                    return self.answer({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
                if openid == "o-busy":
                    return self.answer({"errcode": -1, "errmsg": "system error"})
                return self.answer({"errcode": 0, "errmsg": "ok", "msgid": 2_000_000 + len(fake.sent)})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def wechat():
    plugin._tokens.clear()
    fake = FakeWechat()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def settings(base: str, secret: str = APP_SECRET) -> dict:
    return {"app_id": APP_ID, "app_secret": secret, "api_base": base}


MESSAGE = Message(
    "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    "生日快乐！送您一张 20 元券。",
    id="birthday-2026-1",
    template="TPL-BIRTHDAY",
    params={"thing1": "生日礼券", "time2": "2026-12-31"},
    link="pages/coupons/index",
)


async def test_a_subscription_message_reaches_wechat_with_a_token_kept_between_messages(wechat):
    channel = WechatSubscribe(settings(wechat.base))
    first = await channel.send(MESSAGE)
    second = await WechatSubscribe(settings(wechat.base)).send(MESSAGE)
    assert first.delivered and second.delivered, first.error
    assert (first.provider_id, second.provider_id) == ("2000001", "2000002")
    assert wechat.tokens_issued == 1
    path, document = wechat.sent[0]
    assert path == "/cgi-bin/message/subscribe/send"
    assert document == {
        "touser": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        "template_id": "TPL-BIRTHDAY",
        "data": {"thing1": {"value": "生日礼券"}, "time2": {"value": "2026-12-31"}},
        "page": "pages/coupons/index",
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }


async def test_an_expired_token_is_fetched_again_once(wechat):
    assert (await WechatTemplate(settings(wechat.base)).send(MESSAGE)).delivered
    wechat.valid_token = "rotated-by-wechat"  # the kept token no longer works
    report = await WechatTemplate(settings(wechat.base)).send(MESSAGE)
    assert report.delivered, report.error
    assert wechat.tokens_issued == 2
    path, document = wechat.sent[-1]
    assert path == "/cgi-bin/message/template/send"
    assert document["url"] == "pages/coupons/index" and document["client_msg_id"] == "birthday-2026-1"


async def test_refusals_say_whether_a_retry_can_help(wechat):
    refused = await WechatSubscribe(settings(wechat.base)).send(Message("o-refused", "x", template="T"))
    assert (refused.delivered, refused.permanent) == (False, True) and "43101" in refused.error
    busy = await WechatSubscribe(settings(wechat.base)).send(Message("o-busy", "x", template="T"))
    assert (busy.delivered, busy.permanent) == (False, False)
    plugin._tokens.clear()
    wrong = await WechatSubscribe(settings(wechat.base, secret="wrong")).send(MESSAGE)
    assert (wrong.delivered, wrong.permanent) == (False, True) and "40125" in wrong.error
