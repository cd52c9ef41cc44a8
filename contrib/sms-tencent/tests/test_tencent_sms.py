"""The TC3-HMAC-SHA256 signature against Tencent Cloud's documented example, and the channel
against a fake SMS endpoint on 127.0.0.1 that verifies each request's signature with its own code."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from membership.plugin import Message
from membership_sms_tencent.plugin import TencentSms
from membership_sms_tencent.signing import authorization

SECRET_ID, SECRET_KEY = "AKIDtest0123456789", "test-secret-key"


def test_the_signature_reproduces_the_documentation_s_worked_example():
    """腾讯云 "签名方法 v3": DescribeInstances on cvm.tencentcloudapi.com at 1551113065 with the
    documentation's example key."""
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    header = authorization(
        "AKID**********************0123456789EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "cvm",
        "cvm.tencentcloudapi.com",
        payload,
        1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request,"
        " SignedHeaders=content-type;host,"
        " Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def expected(headers: dict, body: bytes) -> str:
    """The signature the fake expects, written from the documentation's steps."""
    stamp = int(headers["x-tc-timestamp"])
    date = dt.datetime.fromtimestamp(stamp, dt.UTC).date().isoformat()
    canonical = (
        "POST\n/\n\n"
        f"content-type:{headers['content-type']}\nhost:{headers['host']}\n\n"
        "content-type;host\n" + hashlib.sha256(body).hexdigest()
    )
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(stamp), f"{date}/sms/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"TC3{SECRET_KEY}".encode()
    for part in (date, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    scope = f"{SECRET_ID}/{date}/sms/tc3_request"
    return f"TC3-HMAC-SHA256 Credential={scope}, SignedHeaders=content-type;host, Signature={signature}"


class FakeSms:
    """SendSms on 127.0.0.1: checks the signature, then answers by number."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = self.rfile.read(int(headers["content-length"]))
                genuine = (
                    headers.get("x-tc-action") == "SendSms"
                    and headers.get("x-tc-version") == "2021-01-11"
                    and headers.get("authorization") == expected(headers, body)
                )
                document = json.loads(body)
                fake.calls.append({"document": document, "genuine": genuine, "region": headers.get("x-tc-region")})
                number = document["PhoneNumberSet"][0]
                if not genuine:
                    response = {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"}}
                elif number.startswith("+8610"):
                    status = {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"}
                    response = {"SendStatusSet": [{"PhoneNumber": number, "SerialNo": "", **status}]}
                elif number.startswith("+86139"):
                    status = {"Code": "LimitExceeded.PhoneNumberThirtySecondLimit", "Message": "30 秒内频率超限"}
                    response = {"SendStatusSet": [{"PhoneNumber": number, "SerialNo": "", **status}]}
                else:
                    ok = {"Code": "Ok", "Message": "send success", "SerialNo": "2645:104000016535734111"}
                    response = {"SendStatusSet": [{"PhoneNumber": number, **ok}]}
                data = json.dumps({"Response": {**response, "RequestId": "a0aabda6"}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def sms():
    fake = FakeSms()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def channel(endpoint: str, key: str = SECRET_KEY) -> TencentSms:
    return TencentSms(
        {
            "secret_id": SECRET_ID,
            "secret_key": key,
            "sdk_app_id": "1400006666",
            "sign_name": "悦享咖啡",
            "endpoint": endpoint,
        }
    )


async def test_an_sms_goes_out_signed_with_its_template_values_in_order(sms):
    message = Message(
        "+8613812345678",
        "王芳，您的 1200 积分即将到期。回T退订",
        id="msg-9",
        template="1110",
        params={"name": "王芳", "points": "1200"},
    )
    report = await channel(sms.endpoint).send(message)
    assert report.delivered, report.error
    assert report.provider_id == "2645:104000016535734111"
    call = sms.calls[0]
    assert call["genuine"] and call["region"] == "ap-guangzhou"
    assert call["document"] == {
        "PhoneNumberSet": ["+8613812345678"],
        "SmsSdkAppId": "1400006666",
        "SignName": "悦享咖啡",
        "TemplateId": "1110",
        "TemplateParamSet": ["王芳", "1200"],
        "SessionContext": "msg-9",
    }


async def test_refusals_say_whether_a_retry_can_help(sms):
    bad = await channel(sms.endpoint).send(Message("+8610000000000", "x", template="1110"))
    assert (bad.delivered, bad.permanent) == (False, True) and "IncorrectPhoneNumber" in bad.error
    limited = await channel(sms.endpoint).send(Message("+8613900000000", "x", template="1110"))
    assert (limited.delivered, limited.permanent) == (False, False)
    forged = await channel(sms.endpoint, key="another-key").send(Message("+8613812345678", "x", template="1110"))
    assert (forged.delivered, forged.permanent) == (False, True) and "SignatureFailure" in forged.error
    assert [c["genuine"] for c in sms.calls] == [True, True, False]
