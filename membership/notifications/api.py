"""REST routes of notification channels: the channels installed, a program's settings of each
(secrets never shown), a test message, and the inbox (站内信)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize
from membership.api.security import current_key, member_for, program_for
from membership.notifications import config, inbox
from membership.notifications.errors import InboxMessageNotFound
from membership.notifications.interface import Message
from membership.notifications.service import send_for_program
from membership.plugins import hooks

TAGS = ["notifications"]
ChannelName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]


class ChannelKindOut(msgspec.Struct):
    """An installed channel: its name, what staff call it, what it sends to (``phone``,
    ``email``, ``wechat_openid``, ``member``, ``endpoint``), its settings' JSON schema and which
    of them are secret."""

    name: str
    label_zh: str
    label_en: str
    address: str
    settings_schema: dict[str, Any]
    secrets: list[str]


class ChannelIn(msgspec.Struct, forbid_unknown_fields=True):
    """A program's settings of a channel, checked by its schema; a secret left empty (or
    ``********``) keeps the stored one."""

    settings: dict[str, Any]
    enabled: bool = True


class ChannelOut(msgspec.Struct):
    """A program's channel: on or off, its settings with secrets shown as ``********``."""

    channel: str
    enabled: bool
    settings: dict[str, Any]
    updated_at: dt.datetime


class TestMessageIn(msgspec.Struct, forbid_unknown_fields=True):
    """A test message to one address (a phone, an e-mail, an openid, a member id: what the
    channel sends to); SMS and WeChat need their provider ``template`` and ``params``."""

    to: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] = "测试消息 / test message"
    subject: Annotated[str, msgspec.Meta(max_length=200)] = "测试 / Test"
    template: Annotated[str, msgspec.Meta(max_length=100)] = ""
    params: dict[str, str] = {}


class DeliveryOut(msgspec.Struct):
    """How the attempt went: ``delivered``, the provider's id, or its error (``permanent``: no
    retry can mend it)."""

    delivered: bool
    provider_id: str
    error: str
    permanent: bool


class InboxItemOut(msgspec.Struct):
    """A message in an inbox (``read_at`` once the member's app showed it)."""

    id: uuid.UUID
    member_id: uuid.UUID
    subject: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxPageOut(msgspec.Struct):
    """One page of an inbox, newest first."""

    items: list[InboxItemOut]
    page: int
    page_size: int
    total: int


CHANNEL_EXAMPLE = {
    "channel": "email",
    "enabled": True,
    "settings": {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "crm",
        "password": "********",
        "sender": "crm@example.com",
        "sender_name": "悦享会员",
    },
    "updated_at": "2026-12-08T09:00:00Z",
}


def _schema(settings_type: type[msgspec.Struct]) -> dict[str, Any]:
    """The settings' JSON schema with the struct itself at the top (not behind a ``$ref``)."""
    schema = msgspec.json.schema(settings_type)
    definitions = schema.pop("$defs", {})
    name = schema.pop("$ref", "").rpartition("/")[2]
    top = definitions.pop(name, schema)
    return {**top, "$defs": definitions} if definitions else top


def _out(settings: config.ChannelSettings) -> ChannelOut:
    return ChannelOut(settings.channel, settings.enabled, settings.settings, settings.updated_at)


@get(
    "/channels",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The notification channels installed",
    responses=answers(
        200,
        list[ChannelKindOut],
        [
            {
                "name": "email",
                "label_zh": "电子邮件",
                "label_en": "E-mail",
                "address": "email",
                "settings_schema": {"type": "object"},
                "secrets": ["password"],
            }
        ],
        403,
    ),
)
async def list_channel_kinds() -> list[ChannelKindOut]:
    """Every registered channel (built in: ``email``, ``webhook``, ``inbox``; SMS and WeChat from
    their packages) with the schema of its settings."""
    found = []
    for name, cls in sorted(hooks().channels().items()):
        schema = _schema(cls.settings_type) if cls.settings_type else {"type": "object"}
        found.append(ChannelKindOut(name, cls.label_zh, cls.label_en, cls.address, schema, list(cls.secrets)))
    return found


@get(
    "/programs/{program_id:uuid}/channels",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="A program's channels and their settings",
    responses=answers(200, list[ChannelOut], [CHANNEL_EXAMPLE], 403, 404),
)
async def list_channels(request: Request, program_id: FromPath[uuid.UUID]) -> list[ChannelOut]:
    """The channels the program has set up, secrets shown as ``********``."""
    program = await program_for(current_key(request), program_id)
    return [_out(c) for c in await config.configured_channels(program.id)]


@put(
    "/programs/{program_id:uuid}/channels/{channel:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set up a channel for a program",
    responses=answers(200, ChannelOut, CHANNEL_EXAMPLE, 403, 404, 422),
)
async def configure_channel(
    request: Request,
    program_id: FromPath[uuid.UUID],
    channel: FromPath[ChannelName],
    data: Annotated[
        ChannelIn,
        body(
            {
                "settings": {
                    "host": "smtp.example.com",
                    "sender": "crm@example.com",
                    "username": "crm",
                    "password": "app-password",
                }
            }
        ),
    ],
) -> ChannelOut:
    """Checked by the channel's schema (a 422 names the field); secrets sealed, never answered;
    audited without them."""
    key = current_key(request)
    program = await program_for(key, program_id)
    return _out(await config.configure_channel(program.id, channel, data.settings, data.enabled, key.actor))


@post(
    "/programs/{program_id:uuid}/channels/{channel:str}/test",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=200,
    summary="Send a test message through a channel",
    responses=answers(
        200, DeliveryOut, {"delivered": True, "provider_id": "m-1", "error": "", "permanent": False}, 403, 404, 422
    ),
)
async def test_channel(
    request: Request,
    program_id: FromPath[uuid.UUID],
    channel: FromPath[ChannelName],
    data: Annotated[TestMessageIn, body({"to": "boss@example.com"})],
) -> DeliveryOut:
    """One attempt now, with the program's settings, answered as the provider answered."""
    program = await program_for(current_key(request), program_id)
    message = Message(
        data.to, data.body, data.subject, id=f"test-{uuid.uuid4().hex}", template=data.template, params=data.params
    )
    report = await send_for_program(program.id, channel, message)
    return DeliveryOut(report.delivered, report.provider_id, report.error, report.permanent)


@get(
    "/members/{member_id:uuid}/inbox",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's inbox (站内信)",
    responses=answers(200, InboxPageOut, {"items": [], "page": 1, "page_size": 20, "total": 0}, 403, 404),
)
async def member_inbox(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 20
) -> InboxPageOut:
    """Newest first: what an app shows the member."""
    await member_for(current_key(request), member_id)
    rows, total = await inbox.member_inbox(member_id, page, page_size)
    return InboxPageOut([InboxItemOut(member_id=member_id, **row) for row in rows], page, page_size, total)


@post(
    "/members/{member_id:uuid}/inbox/{message_id:uuid}/read",
    opt={"scope": Scope.POS},
    tags=TAGS,
    status_code=204,
    summary="Mark an inbox message read",
    responses=answers(204, None, None, 403, 404, description="Marked"),
)
async def read_inbox_message(request: Request, member_id: FromPath[uuid.UUID], message_id: FromPath[uuid.UUID]) -> None:
    """The member's app showed it."""
    await member_for(current_key(request), member_id)
    if not await inbox.mark_read(member_id, message_id):
        raise InboxMessageNotFound(message_id=message_id)


ROUTES = [list_channel_kinds, list_channels, configure_channel, test_channel, member_inbox, read_inbox_message]
