"""Opens and clicks (打开、点击) of the messages a campaign sends, where the channel can tell.

A message with a ``link`` (a campaign's landing page) that goes out while the program has a
``public_url`` carries instead a tracked link, ``{public_url}/m/{token}``: following it records
the click (and the open it implies) and redirects to the link as it was queued — never to an
address the request names, so it is no open redirect. A marketing e-mail also gets an HTML part
with a 1×1 image, ``{public_url}/m/{token}/o.gif``: a mail client that loads images records the
open. An inbox message read in the member's app (``POST /members/{id}/inbox/{message}/read``)
is opened too. SMS and WeChat report no opens; their clicks count.

The token names the message and is signed with a key derived from the master key (as the opt-out
links are): it cannot be made for another message. Only the first open and the first click are
kept (``opened_at``, ``clicked_at``); campaign results count them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import html
import uuid

from litestar import Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from membership.api.input_checks import check_input
from membership.db import fetch, fetch_one, use_case
from membership.members import personal_data as pd

# a transparent 1×1 GIF
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _mac(payload: str, vault: pd.Vault | None = None) -> str:
    return (vault or pd.vault()).lookup_hash("tracking", payload)[:32]


def tracking_token(message_id: uuid.UUID | str) -> str:
    """The signed token of one message."""
    message = uuid.UUID(str(message_id))
    return base64.urlsafe_b64encode(message.bytes).decode().rstrip("=") + "." + _mac(str(message))


def read_tracking_token(token: str) -> uuid.UUID | None:
    """The message a genuine token names, else None."""
    encoded, _, mac = token.partition(".")
    try:
        message_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    if not any(hmac.compare_digest(mac, _mac(str(message_id), vault)) for vault in pd.vaults()):
        return None
    return message_id


def tracked_link(public_url: str, message_id: uuid.UUID | str) -> str:
    """Where a message's link leads through (its click recorded on the way)."""
    return f"{public_url.rstrip('/')}/m/{tracking_token(message_id)}"


def open_pixel(public_url: str, message_id: uuid.UUID | str) -> str:
    """The image whose loading records a message's open."""
    return f"{tracked_link(public_url, message_id)}/o.gif"


def email_html(body: str, pixel: str) -> str:
    """A plain message's HTML part: its text, line by line, and the open pixel."""
    lines = "<br>".join(html.escape(line) for line in body.splitlines())
    image = f'<img src="{html.escape(pixel)}" width="1" height="1" alt="">'
    return f"<div>{lines}</div>{image}"


async def mark_opened(program_id: uuid.UUID, message_id: uuid.UUID, clicked: bool = False) -> str | None:
    """Note the first open (and ``clicked``: the first click) of the program's message, in the
    caller's transaction; its link, or None when there is no such message."""
    now = dt.datetime.now(dt.UTC)
    click = ", clicked_at = COALESCE(clicked_at, {})" if clicked else ""
    rows = await fetch(
        f"UPDATE notification SET opened_at = COALESCE(opened_at, {{}}){click}"
        " WHERE program_id = {} AND id = {} RETURNING link",
        now,
        *([now] if clicked else []),
        program_id,
        message_id,
    )
    return rows[0]["link"] if rows else None


@use_case
async def _record(message_id: uuid.UUID, clicked: bool) -> str | None:
    """Record the first open (and click) of a message; its link, or None when there is no such message."""
    message = await fetch_one("SELECT program_id FROM notification WHERE id = {}", message_id)
    if message is None:
        return None
    return await mark_opened(message["program_id"], message_id, clicked)


async def record_open(message_id: uuid.UUID) -> None:
    """A message was seen (an inbox message read, an e-mail's image loaded)."""
    await _record(message_id, clicked=False)


GONE = "<!doctype html><meta charset=utf-8><title>链接无效 / Invalid link</title><p>链接无效 / This link is not valid."


@get("/m/{token:str}", include_in_schema=False, guards=[check_input])
async def follow(token: FromPath[str]) -> Response | Redirect:
    """A tracked link: the click recorded, then on to the message's own link."""
    message_id = read_tracking_token(token)
    link = None if message_id is None else await _record(message_id, clicked=True)
    if not link:
        return Response(GONE, media_type="text/html; charset=utf-8", status_code=404)
    return Redirect(link, status_code=302)


@get("/m/{token:str}/o.gif", include_in_schema=False, guards=[check_input])
async def pixel(token: FromPath[str]) -> Response:
    """The open pixel: always the image (a wrong token records nothing)."""
    message_id = read_tracking_token(token)
    if message_id is not None:
        await record_open(message_id)
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


ROUTES = [follow, pixel]
