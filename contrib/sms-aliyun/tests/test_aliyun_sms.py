"""The ACS3-HMAC-SHA256 signature against Alibaba Cloud's documented example, and the channel
against a fake Dysmsapi on 127.0.0.1 that verifies each request's signature with its own code."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from membership.plugin import Message
from membership_sms_aliyun.plugin import AliyunSms, phone_number
from membership_sms_aliyun.signing import signed_headers

KEY_ID, SECRET = "LTAI5tTestKeyId", "test-secret-值"
UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def test_the_signature_reproduces_the_documentation_s_fixed_parameter_example():
    """阿里云 "V3版本请求体&签名机制", 固定参数示例: RunInstances with YourAccessKeyId /
    YourAccessKeySecret, 2023-10-26T10:22:32Z, nonce 3156853299f313e23d1673dc12e1703d."""
    headers = signed_headers(
        "POST",
        "ecs.cn-shanghai.aliyuncs.com",
        "/",
        {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"},
        b"",
        "RunInstances",
        "2014-05-26",
        "YourAccessKeyId",
        "YourAccessKeySecret",
        now=dt.datetime(2023, 10, 26, 10, 22, 32, tzinfo=dt.UTC),
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    assert headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )
    assert headers["x-acs-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def encode(text: str) -> str:
    """RFC 3986 percent-encoding, byte by byte (written apart from the package's)."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode())


def expected_authorization(method: str, path: str, query: list[tuple[str, str]], headers: dict, secret: str) -> str:
    names = ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"]
    canonical = (
        f"{method}\n{path}\n"
        + "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(query))
        + "\n"
        + "".join(f"{n}:{headers[n]}\n" for n in names)
        + "\n"
        + ";".join(names)
        + "\n"
        + headers["x-acs-content-sha256"]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), f"ACS3-HMAC-SHA256\n{digest}".encode(), hashlib.sha256).hexdigest()
    return f"ACS3-HMAC-SHA256 Credential={KEY_ID},SignedHeaders={';'.join(names)},Signature={signature}"


class FakeDysmsapi:
    """SendSms on 127.0.0.1: checks the signature, then answers by number (10… illegal, 139…
    throttled, else OK)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                split = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = self.rfile.read(int(headers.get("content-length", "0") or 0))
                genuine = (
                    headers.get("x-acs-action") == "SendSms"
                    and headers.get("x-acs-version") == "2017-05-25"
                    and headers.get("x-acs-content-sha256") == hashlib.sha256(body).hexdigest()
                    and headers.get("authorization")
                    == expected_authorization("POST", split.path, query, headers, SECRET)
                )
                params = dict(query)
                fake.calls.append({"params": params, "genuine": genuine})
                if not genuine:
                    answer, status = (
                        {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"},
                        400,
                    )
                elif params["PhoneNumbers"].startswith("10"):
                    answer, status = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}, 200
                elif params["PhoneNumbers"].startswith("139"):
                    answer, status = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}, 200
                else:
                    answer, status = {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}, 200
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def dysmsapi():
    fake = FakeDysmsapi()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def channel(endpoint: str, secret: str = SECRET) -> AliyunSms:
    return AliyunSms(
        {"access_key_id": KEY_ID, "access_key_secret": secret, "sign_name": "悦享咖啡", "endpoint": endpoint}
    )


async def test_an_sms_goes_out_signed_with_its_template_and_out_id(dysmsapi):
    message = Message(
        "+8613812345678",
        "【悦享咖啡】王芳，您的 1200 积分将于 12 月 31 日到期。回T退订",
        id="msg 1/å",
        template="SMS_154950909",
        params={"name": "王芳", "points": "1200"},
    )
    report = await channel(dysmsapi.endpoint).send(message)
    assert report.delivered, report.error
    assert report.provider_id == "900619746936498440^0"
    call = dysmsapi.calls[0]
    assert call["genuine"]
    assert call["params"] == {
        "PhoneNumbers": "13812345678",
        "SignName": "悦享咖啡",
        "TemplateCode": "SMS_154950909",
        "TemplateParam": '{"name":"王芳","points":"1200"}',
        "OutId": "msg 1/å",
    }


async def test_refusals_say_whether_a_retry_can_help(dysmsapi):
    illegal = await channel(dysmsapi.endpoint).send(Message("+8610000000000", "x", template="SMS_1"))
    assert (illegal.delivered, illegal.permanent) == (False, True) and "MOBILE_NUMBER_ILLEGAL" in illegal.error
    throttled = await channel(dysmsapi.endpoint).send(Message("+8613900000000", "x", template="SMS_1"))
    assert (throttled.delivered, throttled.permanent) == (False, False)
    wrong = await channel(dysmsapi.endpoint, secret="not-the-secret").send(
        Message("+8613812345678", "x", template="SMS_1")
    )
    assert (wrong.delivered, wrong.permanent) == (False, True) and "SignatureDoesNotMatch" in wrong.error
    assert [c["genuine"] for c in dysmsapi.calls] == [True, True, False]
    untemplated = await channel(dysmsapi.endpoint).send(Message("+8613812345678", "x"))
    assert (untemplated.delivered, untemplated.permanent) == (False, True)
    assert phone_number("+85291234567") == "85291234567"
