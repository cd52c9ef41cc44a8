"""One-step opt-out (一键退订): a link in each marketing e-mail, and a reply to an SMS.

**E-mail**: a marketing e-mail carries ``List-Unsubscribe: <{public_url}/u/{token}>`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058): a mail client's unsubscribe
button POSTs to it and the member's consent to that purpose on e-mail becomes ``false`` at once.
Opening the link in a browser shows a page with one button (a GET never unsubscribes: mail
scanners open links). The token names the member, the purpose and the channel kind, and is
signed with a key derived from the master key: it cannot be made for another member.

**SMS**: marketing SMS end with 回T退订. The SMS provider posts members' replies (上行短信) to
``/hooks/sms-replies/{program_id}/{token}`` (the address ``GET /programs/{id}/notification-policy``
shows, to paste into the provider's console); a reply of T, TD, N, 0000, 退订 or STOP withdraws
the consent ``marketing_sms`` of the member with that phone number. Alibaba Cloud's (``phone_number``,
``content``) and Tencent Cloud's (``mobile``, ``text``) shapes are read.

Each opt-out is a consent change with its history (``member_consent``, source ``unsubscribe`` or
``sms_reply``).
"""

from __future__ import annotations

import base64
import hmac
import html
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from membership.api.input_checks import check_input
from membership.db import fetch
from membership.errors import InvalidPhone, MembershipError
from membership.members import personal_data as pd
from membership.members.rights import set_consent
from membership.notifications.policy import KINDS, PURPOSES

OPT_OUT_WORDS = {"T", "TD", "N", "0000", "退订", "STOP", "UNSUBSCRIBE"}
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _mac(payload: str, vault: pd.Vault | None = None) -> str:
    return (vault or pd.vault()).lookup_hash("unsubscribe", payload)[:32]


def unsubscribe_token(member_id: uuid.UUID, purpose: str, address: str) -> str:
    """A signed token for the member's opt-out of ``purpose`` on the channel kind of ``address``."""
    payload = f"{member_id}:{purpose}:{KINDS.get(address, address)}"
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "." + _mac(payload)


def unsubscribe_url(public_url: str, member_id: uuid.UUID, purpose: str, address: str) -> str:
    """The opt-out link of a message ("" when the program has no public address)."""
    if not public_url:
        return ""
    return f"{public_url.rstrip('/')}/u/{unsubscribe_token(member_id, purpose, address)}"


def read_token(token: str) -> tuple[uuid.UUID, str] | None:
    """(member id, consent purpose such as ``marketing_email``) of a genuine token, else None."""
    encoded, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        member, purpose, kind = payload.split(":")
        member_id = uuid.UUID(member)
    except (ValueError, UnicodeDecodeError):
        return None
    if purpose not in PURPOSES or kind not in KINDS.values():
        return None
    if not any(hmac.compare_digest(mac, _mac(payload, vault)) for vault in pd.vaults()):
        return None
    return member_id, f"{purpose}_{kind}"


def _page(title: str, text: str, form: str = "", status: int = 200) -> Response:
    body = PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return Response(body, media_type="text/html; charset=utf-8", status_code=status)


GONE = ("链接无效 / Invalid link", "这个退订链接无效或已失效。This unsubscribe link is not valid.")


@get("/u/{token:str}", include_in_schema=False, guards=[check_input])
async def unsubscribe_page(token: FromPath[str]) -> Response:
    """A page with one button: browsers and mail scanners that open the link change nothing."""
    if read_token(token) is None:
        return _page(*GONE, status=404)
    form = '<form method="post"><button type="submit">退订 / Unsubscribe</button></form>'
    return _page("退订 / Unsubscribe", "不再接收此类营销消息？Stop receiving these marketing messages?", form)


@post("/u/{token:str}", include_in_schema=False, guards=[check_input], status_code=200)
async def unsubscribe(token: FromPath[str]) -> Response:
    """One-click opt-out (RFC 8058, and the page's button): the consent becomes false."""
    found = read_token(token)
    if found is None:
        return _page(*GONE, status=404)
    member_id, purpose = found
    try:
        await set_consent(member_id, purpose, False, actor="member", source="unsubscribe")
    except MembershipError:  # an erased member: nothing is sent to them anyway
        pass
    return _page("已退订 / Unsubscribed", "您将不再收到此类营销消息。You will not receive these messages any more.")


def reply_token(program_id: uuid.UUID) -> str:
    """The secret part of the program's SMS-reply address."""
    return pd.vault().lookup_hash("sms-replies", str(program_id))[:32]


def _replies(document: Any) -> list[tuple[str, str]]:
    """(phone, text) of each reply in an Alibaba Cloud or Tencent Cloud push."""
    items = document if isinstance(document, list) else [document]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        phone = str(item.get("phone_number") or item.get("mobile") or item.get("PhoneNumber") or "")
        text = str(item.get("content") or item.get("text") or item.get("Content") or "")
        country = str(item.get("nationcode") or "")
        if phone:
            found.append((f"+{country}{phone}" if country and not phone.startswith("+") else phone, text))
    return found


async def opt_out_by_reply(program_id: uuid.UUID, phone: str, text: str) -> bool:
    """Withdraw ``marketing_sms`` of the program's member with this phone when ``text`` is an
    opt-out word; whether it did."""
    if text.strip().upper() not in OPT_OUT_WORDS:
        return False
    try:
        e164 = pd.normalize_phone(phone)
    except InvalidPhone:
        return False
    hashes = pd.lookup_hashes("phone", e164)
    rows = await fetch(
        f"SELECT id FROM member WHERE program_id = {{}} AND status = 'active'"
        f" AND phone_hash IN ({', '.join('{}' for _ in hashes)})",
        program_id,
        *hashes,
    )
    for row in rows:
        await set_consent(uuid.UUID(str(row["id"])), "marketing_sms", False, actor="member", source="sms_reply")
    return bool(rows)


@post(
    "/hooks/sms-replies/{program_id:uuid}/{token:str}", include_in_schema=False, guards=[check_input], status_code=200
)
async def sms_replies(request: Request, program_id: FromPath[uuid.UUID], token: FromPath[str]) -> Response:
    """Members' SMS replies pushed by the provider; 回T退订 answers opt out."""
    if not any(hmac.compare_digest(token, v.lookup_hash("sms-replies", str(program_id))[:32]) for v in pd.vaults()):
        return Response({"code": 1, "msg": "unknown address"}, status_code=404)
    try:
        document = await request.json()
    except Exception:  # a body that is not JSON: nothing to read
        document = []
    opted = 0
    for phone, text in _replies(document):
        opted += await opt_out_by_reply(program_id, phone, text)
    return Response({"code": 0, "msg": "成功", "opted_out": opted})


ROUTES = [unsubscribe_page, unsubscribe, sms_replies]
