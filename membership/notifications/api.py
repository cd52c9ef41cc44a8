"""REST routes of notification channels: the channels installed, a program's settings of each
(secrets never shown), a test message, and the inbox (站内信)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, patch, post, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize, check_body_code
from membership.api.security import current_key, member_for, program_for
from membership.errors import Reason as ErrorReason
from membership.errors import ValidationError
from membership.notifications import config, delivery, inbox, templates
from membership.notifications import policy as policy_module
from membership.notifications.errors import InboxMessageNotFound
from membership.notifications.interface import Message
from membership.notifications.optout import reply_token
from membership.notifications.policy import NotificationPolicy, policy_of
from membership.notifications.service import send_for_program
from membership.notifications.templates import Code, TemplateTerms
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
    rate_per_minute: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None


class ChannelOut(msgspec.Struct):
    """A program's channel: on or off, its settings with secrets shown as ``********``, and the
    most messages a minute it sends (None: no limit)."""

    channel: str
    enabled: bool
    settings: dict[str, Any]
    updated_at: dt.datetime
    rate_per_minute: int | None = None


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
    return ChannelOut(
        settings.channel, settings.enabled, settings.settings, settings.updated_at, settings.rate_per_minute
    )


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
    configured = await config.configure_channel(
        program.id, channel, data.settings, data.enabled, key.actor, data.rate_per_minute
    )
    return _out(configured)


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
    member = await member_for(current_key(request), member_id)
    if not await inbox.mark_read(member["program_id"], member_id, message_id):
        raise InboxMessageNotFound(message_id=message_id)


class PolicyOut(msgspec.Struct):
    """The program's delivery policy, and the address to give the SMS provider for members'
    replies (回T退订): a full URL when ``public_url`` is set, else its path."""

    policy: NotificationPolicy
    sms_reply_url: str


class PolicyPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Policy settings to change; the others keep their values."""

    quiet_start: str | msgspec.UnsetType = msgspec.UNSET
    quiet_end: str | msgspec.UnsetType = msgspec.UNSET
    quiet_service: bool | msgspec.UnsetType = msgspec.UNSET
    marketing_per_day: int | msgspec.UnsetType = msgspec.UNSET
    marketing_per_week: int | msgspec.UnsetType = msgspec.UNSET
    public_url: str | msgspec.UnsetType = msgspec.UNSET


POLICY_EXAMPLE = {
    "policy": {
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "quiet_service": False,
        "marketing_per_day": 2,
        "marketing_per_week": 5,
        "public_url": "https://crm.example.com",
    },
    "sms_reply_url": "https://crm.example.com/hooks/sms-replies/5f0e2d1c-…/3b1f…",
}


def _policy_out(program_id: uuid.UUID, policy: NotificationPolicy) -> PolicyOut:
    path = f"/hooks/sms-replies/{program_id}/{reply_token(program_id)}"
    return PolicyOut(policy, f"{policy.public_url.rstrip('/')}{path}")


@get(
    "/programs/{program_id:uuid}/notification-policy",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Quiet hours, frequency caps and opt-out addresses",
    responses=answers(200, PolicyOut, POLICY_EXAMPLE, 403, 404),
)
async def get_policy(request: Request, program_id: FromPath[uuid.UUID]) -> PolicyOut:
    """What the next delivery applies."""
    program = await program_for(current_key(request), program_id)
    return _policy_out(program.id, policy_of(program))


@patch(
    "/programs/{program_id:uuid}/notification-policy",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change quiet hours, frequency caps or the public address",
    responses=answers(200, PolicyOut, POLICY_EXAMPLE, 403, 404, 422),
)
async def change_policy(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[PolicyPatch, body({"quiet_start": "22:00", "marketing_per_week": 3})],
) -> PolicyOut:
    """Checked together (times as HH:MM in the member's zone); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return _policy_out(program.id, await policy_module.change_policy(program.id, changes, key.actor))


class TemplateIn(TemplateTerms, frozen=True, kw_only=True):
    """A message template: ``code`` (new templates), what it is for, its words in Chinese (required)
    and English (Jinja2: ``{{ member.name }}``, ``{{ points }}``…), and by SMS or WeChat channel
    the provider's approved template with its values."""

    code: Code | None = None


class TemplateOut(msgspec.Struct):
    """A message template as stored."""

    code: str
    name: str
    purpose: str
    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str
    providers: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplatePageOut(msgspec.Struct):
    """One page of message templates by code."""

    items: list[TemplateOut]
    page: int
    page_size: int
    total: int


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """A preview: for a member of the program (or a sample member), in a language, with the
    values the cause would give."""

    language: Literal["zh", "en"] = "zh"
    member_id: uuid.UUID | None = None
    values: dict[str, Any] = {}


class PreviewOut(msgspec.Struct):
    """The message as the member would read it, and per provider channel what the provider gets."""

    language: str
    subject: str
    body: str
    providers: dict[str, Any]


class SendIn(msgspec.Struct, forbid_unknown_fields=True):
    """Send a template to the member through ``channels``; ``dedup_key`` makes a retried request
    send once (default: a fresh one)."""

    template: Code
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=10)]
    values: dict[str, Any] = {}
    dedup_key: Annotated[str, msgspec.Meta(min_length=1, max_length=150)] | None = None
    link: Annotated[str, msgspec.Meta(max_length=500)] = ""


class SendOut(msgspec.Struct):
    """The messages queued (none when ``dedup_key`` was queued before)."""

    queued: list[uuid.UUID]


class MessageOut(msgspec.Struct):
    """A message to a member and how its delivery goes: ``state`` ``pending`` (waiting: retry,
    quiet hours, rate), ``sending``, ``sent`` (``provider_id``), ``failed`` (``last_error``) or
    ``suppressed`` (``reason``: no_consent, frequency_cap, no_address, no_unsubscribe_address,
    member_gone, channel_off)."""

    id: uuid.UUID
    channel: str
    purpose: str
    template_code: str
    cause: str
    language: str
    subject: str
    body: str
    state: str
    reason: str
    attempts: int
    last_error: str
    provider_id: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime


class MessagePageOut(msgspec.Struct):
    """One page of a member's messages, newest first."""

    items: list[MessageOut]
    page: int
    page_size: int
    total: int


TEMPLATE_EXAMPLE = {
    "code": "points-expiring",
    "name": "积分到期提醒",
    "purpose": "service",
    "subject_zh": "积分到期提醒",
    "body_zh": "{{ member.name }}，您有 {{ points }} 积分将于 {{ expires_on }} 到期。",
    "subject_en": "Points expiring",
    "body_en": "{{ member.name }}, {{ points }} points expire on {{ expires_on }}.",
    "providers": {"aliyun_sms": {"template": "SMS_154950909", "params": {"points": "{{ points }}"}}},
}
TEMPLATE_OUT_EXAMPLE = {**TEMPLATE_EXAMPLE, "created_at": "2026-12-08T09:00:00Z", "updated_at": "2026-12-08T09:00:00Z"}


def _template_out(row: dict[str, Any]) -> TemplateOut:
    terms = templates.terms_of(row)
    return TemplateOut(
        row["code"],
        terms.name,
        terms.purpose,
        terms.subject_zh,
        terms.body_zh,
        terms.subject_en,
        terms.body_en,
        msgspec.to_builtins(terms.providers),
        row["created_at"],
        row["updated_at"],
    )


def _terms(data: TemplateIn) -> templates.TemplateTerms:
    return msgspec.convert({k: v for k, v in msgspec.to_builtins(data).items() if k != "code"}, templates.TemplateTerms)


@get(
    "/programs/{program_id:uuid}/message-templates",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Message templates (消息模板)",
    responses=answers(
        200, TemplatePageOut, {"items": [TEMPLATE_OUT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_templates(
    request: Request, program_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> TemplatePageOut:
    """By code."""
    program = await program_for(current_key(request), program_id)
    rows, total = await templates.list_templates(program.id, page, page_size)
    return TemplatePageOut([_template_out(row) for row in rows], page, page_size, total)


@post(
    "/programs/{program_id:uuid}/message-templates",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a message template",
    responses=answers(201, TemplateOut, TEMPLATE_OUT_EXAMPLE, 403, 404, 409, 422, description="Created"),
)
async def add_template(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[TemplateIn, body(TEMPLATE_EXAMPLE)]
) -> TemplateOut:
    """Every text must compile (a 422 names the field and line); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    if data.code is None:
        raise ValidationError(field="code", reason=ErrorReason("required for a new template", "新建模板时必填"))
    return _template_out(await templates.save_template(program.id, data.code, _terms(data), key.actor, new=True))


@put(
    "/programs/{program_id:uuid}/message-templates/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a message template",
    responses=answers(200, TemplateOut, TEMPLATE_OUT_EXAMPLE, 403, 404, 422),
)
async def change_template(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[TemplateIn, body(TEMPLATE_EXAMPLE)],
) -> TemplateOut:
    """Messages queued before keep the words they were queued with; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    check_body_code(data.code, code, ErrorReason("message template", "消息模板"))
    return _template_out(await templates.save_template(program.id, code, _terms(data), key.actor, new=False))


@post(
    "/programs/{program_id:uuid}/message-templates/{code:str}/preview",
    opt={"scope": Scope.READ},
    tags=TAGS,
    status_code=200,
    summary="Preview a message template",
    responses=answers(
        200,
        PreviewOut,
        {
            "language": "zh",
            "subject": "积分到期提醒",
            "body": "王芳，您有 1200 积分将于 2026-12-31 到期。",
            "providers": {"aliyun_sms": {"template": "SMS_154950909", "params": {"points": "1200"}}},
        },
        403,
        404,
        422,
    ),
)
async def preview_template(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[PreviewIn, body({"language": "zh", "values": {"points": 1200, "expires_on": "2026-12-31"}})],
) -> PreviewOut:
    """Rendered as the member (or 王小明, a sample member) would read it; a value the template
    needs and the preview lacks is a 422 naming it. Nothing is sent."""
    key = current_key(request)
    program = await program_for(key, program_id)
    member = {"name": "王小明", "member_no": "8000000001", "tier": ""}
    if data.member_id is not None:
        member = await member_for(key, data.member_id)
    terms = templates.terms_of(await templates.template_row(program.id, code))
    rendered = templates.render(terms, data.language, templates.member_context(member, program.name, data.values))
    return PreviewOut(rendered.language, rendered.subject, rendered.body, rendered.providers)


@post(
    "/members/{member_id:uuid}/messages",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Send a message to a member",
    responses=answers(
        201, SendOut, {"queued": ["0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"]}, 403, 404, 422, description="Queued"
    ),
)
async def send_message(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[
        SendIn,
        body(
            {
                "template": "points-expiring",
                "channels": ["email"],
                "values": {"points": 1200, "expires_on": "2026-12-31"},
            }
        ),
    ],
) -> SendOut:
    """Queued with its delivery rules (consent, quiet hours, caps, rates) and sent right after;
    ``GET /members/{id}/messages`` shows how it went."""
    key = current_key(request)
    row = await member_for(key, member_id)
    dedup = data.dedup_key or f"api:{uuid.uuid4().hex}"
    queued = await delivery.enqueue(
        row["program_id"],
        member_id,
        data.template,
        data.channels,
        data.values,
        dedup,
        cause=f"api:{key.actor}"[:100],
        link=data.link,
    )
    delivery.deliver_soon(queued)
    return SendOut(queued)


@get(
    "/members/{member_id:uuid}/messages",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's messages and their delivery",
    responses=answers(200, MessagePageOut, {"items": [], "page": 1, "page_size": 20, "total": 0}, 403, 404),
)
async def member_messages(
    request: Request, member_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 20
) -> MessagePageOut:
    """Newest first, each with its state."""
    await member_for(current_key(request), member_id)
    rows, total = await delivery.member_messages(member_id, page, page_size)
    return MessagePageOut([msgspec.convert(row, MessageOut) for row in rows], page, page_size, total)


ROUTES = [
    list_channel_kinds,
    list_channels,
    configure_channel,
    test_channel,
    member_inbox,
    read_inbox_message,
    get_policy,
    change_policy,
    list_templates,
    add_template,
    change_template,
    preview_template,
    send_message,
    member_messages,
]
