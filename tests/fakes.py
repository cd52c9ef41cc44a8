"""Protocol fakes on 127.0.0.1 that tests of channels and delivery share: an SMTP server
(aiosmtpd, with AUTH) and a webhook receiver that checks the Standard Webhooks signature with its
own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from membership.db.throwaway import free_port

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Mailbox:
    """An aiosmtpd handler keeping what it accepted; refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued as Q1"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"crm" and auth_data.password == b"s3cret")


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def smtp_settings(port: int, password: str = "s3cret") -> dict:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "crm",
        "password": password,
        "sender": "crm@yuexiang.example",
        "sender_name": "悦享会员",
    }


def spec_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature, written here from the specification."""
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Receiver:
    """A webhook endpoint on 127.0.0.1 that checks each request's signature and answers
    ``status`` (a list consumed one per request, the last one repeated)."""

    def __init__(self, secret: str, statuses: list[int]) -> None:
        self.secret, self.statuses = secret, statuses
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                expected = spec_signature(
                    receiver.secret, headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""), body
                )
                fresh = abs(time.time() - int(headers.get("webhook-timestamp", "0"))) < 300
                genuine = headers.get("webhook-signature") == expected and fresh
                receiver.received.append({"headers": headers, "body": body, "genuine": genuine})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status if genuine else 401)
                self.end_headers()
                self.wfile.write(b"ok" if genuine else b"bad signature")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(secret: str = SPEC_SECRET, statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(secret, statuses or [204]))
        return made[-1]

    yield make
    for r in made:
        r.close()
