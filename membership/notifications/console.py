"""Console pages for messages: 消息渠道 (each registered channel's settings in a form generated from
its settings struct, secrets shown masked and never sent back, a test message; the program's
delivery policy: quiet hours, frequency caps, public address) and 消息模板 (the program's message
templates, paged; a form with the Chinese and English words and a live preview rendered in the
sandbox with sample values, its errors beside the text at fault). Changes go through the same
services as the API's (checked, audited)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.struct_forms import Label, form_fields, posted, read_form
from membership.console.workplace import member_of_merchant, staff_program
from membership.crm.rules import CODE
from membership.db import fetch
from membership.errors import MembershipError, Reason, ValidationError
from membership.notifications import config, delivery, templates
from membership.notifications import policy as policy_module
from membership.notifications.interface import Channel, Message
from membership.notifications.service import send_for_program
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PAGE_SIZE = 20
#: What staff call the built-in channels' settings (a pack's fields show their schema's title).
SETTING_LABELS = {
    "host": Label("邮件服务器", "SMTP server"),
    "port": Label("端口", "Port"),
    "security": Label(
        "加密方式",
        "Security",
        choices={
            "starttls": ("STARTTLS（587 端口）", "STARTTLS (port 587)"),
            "tls": ("TLS（465 端口）", "TLS (port 465)"),
            "none": ("不加密", "None"),
        },
    ),
    "username": Label("用户名", "User name"),
    "password": Label("密码", "Password"),
    "sender": Label("发件地址", "Sender address"),
    "sender_name": Label("发件人名称", "Sender name"),
    "url": Label("接收地址（URL）", "Receiving URL"),
    "secret": Label("签名密钥", "Signing secret", "以 whsec_ 开头", "Starts with whsec_"),
    "timeout_seconds": Label("超时", "Timeout", suffix=("秒", "seconds")),
}
POLICY_LABELS = {
    "quiet_start": Label("免打扰开始", "Quiet hours start", "会员所在时区，时:分", "The member's time, HH:MM"),
    "quiet_end": Label("免打扰结束", "Quiet hours end", "会员所在时区，时:分", "The member's time, HH:MM"),
    "quiet_service": Label("服务消息也遵守免打扰", "Service messages keep quiet hours too"),
    "marketing_per_day": Label("每人每天营销消息上限", "Marketing messages a member a day", suffix=("条", "")),
    "marketing_per_week": Label("每人每周营销消息上限", "Marketing messages a member a week", suffix=("条", "")),
    "public_url": Label(
        "对外访问地址",
        "Public address",
        "会员打开退订链接时访问的地址，如 https://crm.example.com",
        "Where members reach this server for opt-out links, e.g. https://crm.example.com",
    ),
}
TEMPLATE_FIELDS = ("name", "purpose", "subject_zh", "body_zh", "subject_en", "body_en")
#: The values a preview fills in for what causes give (a name the template uses beyond these is
#: shown as the error it would be).
SAMPLE_VALUES = {
    "points": 1200,
    "expires_on": "2026-12-31",
    "birthday": "03-15",
    "days": 7,
    "coupon": "满100减10",
    "tier": "金卡",
    "amount": "¥88.00",
    "link": "https://crm.example.com/l/abc",
}


def _zh() -> bool:
    return i18n.current_language() == "zh_CN"


def _named(error: MembershipError, label: str) -> str:
    """``error`` with the field it names called ``label``."""
    named = type(error).__new__(type(error))
    named.params = {**error.params, "field": label}
    return named.detail("zh" if _zh() else "en")


# -- channels -------------------------------------------------------------------------------------


@dataclasses.dataclass
class ChannelView:
    """A registered channel as the page shows it: its label, whether set up and on, its form."""

    name: str
    label: str
    address: str
    configured: bool
    enabled: bool
    rate_per_minute: str
    fields: list[Any]
    secrets: tuple[str, ...]
    error: str = ""
    result: str = ""
    result_ok: bool = False


def _defaults(schema: type[msgspec.Struct] | None) -> dict[str, Any]:
    """The settings' defaults (a new channel's form shows them: port 587, a 10-second timeout)."""
    if schema is None:
        return {}
    return {f.name: f.default for f in msgspec.structs.fields(schema) if f.default is not msgspec.NODEFAULT}


async def _channel_view(
    program: ProgramConfig,
    name: str,
    cls: type[Channel],
    typed: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
) -> ChannelView:
    stored = await config.channel_settings(program.id, name)
    values = _defaults(cls.settings_type) | (dict(stored.settings) if stored else {})
    for secret in cls.secrets:  # never sent back: an empty input keeps the stored secret
        values[secret] = ""
    fields = (
        form_fields(cls.settings_type, values, SETTING_LABELS, prefix="s-", errors=errors, typed=typed)
        if cls.settings_type
        else []
    )
    fields = [dataclasses.replace(f, value="") if f.key in cls.secrets else f for f in fields]
    rate = "" if stored is None or stored.rate_per_minute is None else str(stored.rate_per_minute)
    return ChannelView(
        name,
        cls.label_zh if _zh() else cls.label_en,
        cls.address,
        stored is not None,
        bool(stored and stored.enabled),
        rate,
        fields,
        cls.secrets,
    )


async def _channels_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    replaced: ChannelView | None = None,
    policy_fields: list[Any] | None = None,
    policy_error: str = "",
    notice: str = "",
) -> Template:
    views = []
    for name, cls in sorted(hooks().channels().items()):
        views.append(
            replaced if replaced is not None and replaced.name == name else await _channel_view(program, name, cls)
        )
    policy = policy_module.policy_of(program)
    return forms.page(
        request,
        "notifications/channels.html",
        "segments",
        status,
        program=program,
        channels=views,
        policy_fields=policy_fields
        if policy_fields is not None
        else form_fields(policy_module.NotificationPolicy, msgspec.to_builtins(policy), POLICY_LABELS, prefix="p-"),
        policy_error=policy_error,
        notice=notice,
    )


@get("/channels", opt=CONFIGURE)
async def channels_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Every registered channel with its settings form and a test message; the delivery policy."""
    program = await staff_program(current_staff(request))
    notices = {"channel": i18n.gettext("Channel saved."), "policy": i18n.gettext("Delivery rules saved.")}
    return await _channels_page(request, program, notice=notices.get(done, ""))


def _channel_class(name: str) -> type[Channel]:
    return config.channel_class(name)  # ValidationError listing the known ones


@post("/channels/{name:str}", opt=CONFIGURE)
async def save_channel(request: Request, name: FromPath[str]) -> Any:
    """Set up the channel from its form (a secret left empty keeps the stored one); a wrong
    value shows beside its field, as typed (secrets never)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    cls = _channel_class(name)
    form = posted(await request.form())
    values, errors = read_form(cls.settings_type, form, SETTING_LABELS, prefix="s-") if cls.settings_type else ({}, {})
    enabled = form.get("enabled", [""])[-1] == "1"
    rate_text = form.get("rate_per_minute", [""])[-1].strip()
    try:
        rate = int(rate_text) if rate_text else None
        if rate is not None and rate < 1:
            raise ValueError
    except ValueError:
        errors["rate_per_minute"] = i18n.gettext("A whole number of messages a minute, at least 1.")
        rate = None
    if not errors:
        try:
            await config.configure_channel(program.id, name, values, enabled, staff.actor, rate)
            return forms.done("/console/channels", "channel")
        except MembershipError as exc:
            field = str(exc.params.get("field", "")).removeprefix("settings.")
            label = SETTING_LABELS.get(field)
            errors[field or "form"] = _named(exc, label.name() if label else field) if field else forms.error_text(exc)
    view = await _channel_view(program, name, cls, _typed(cls, form), errors)
    view.enabled, view.rate_per_minute = enabled, rate_text
    view.error = errors.get("rate_per_minute", "") or errors.get("form", "")
    return await _channels_page(request, program, 422, view)


def _typed(cls: type[Channel], form: dict[str, list[str]]) -> dict[str, list[str]]:
    """What was typed in the channel's inputs, secrets left out."""
    if cls.settings_type is None:
        return {}
    names = [f.name for f in msgspec.structs.fields(cls.settings_type) if f.name not in cls.secrets]
    return {key: form.get(f"s-{key}", []) for key in names}


@post("/channels/{name:str}/test", opt=CONFIGURE)
async def test_channel(request: Request, name: FromPath[str]) -> Template:
    """One message now through the channel with the program's settings, to the address typed;
    the page says how the provider answered."""
    staff = current_staff(request)
    program = await staff_program(staff)
    cls = _channel_class(name)
    form = await request.form()
    to = str(form.get("to", "")).strip()
    view = await _channel_view(program, name, cls)
    if not to:
        view.result = i18n.gettext("Type where the test message goes.")
        return await _channels_page(request, program, 422, view)
    subject = i18n.gettext("Test message")
    body = i18n.gettext("A test message from %(program)s.", program=program.name)
    message = Message(to, body, subject, id=f"test-{uuid.uuid4().hex}")
    try:
        report = await send_for_program(program.id, name, message)
    except MembershipError as exc:
        view.result = forms.error_text(exc)
        return await _channels_page(request, program, 422, view)
    view.result_ok = report.delivered
    view.result = (
        i18n.gettext("Sent: the provider took it.")
        if report.delivered
        else i18n.gettext("Not sent: %(error)s", error=report.error)
    )
    return await _channels_page(request, program, 200 if report.delivered else 422, view)


@post("/channels/policy", opt=CONFIGURE)
async def save_policy(request: Request) -> Any:
    """Quiet hours, caps and the public address, checked together; errors beside their field."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    schema = policy_module.NotificationPolicy
    values, errors = read_form(schema, form, POLICY_LABELS, prefix="p-")
    if "p-quiet_service" not in form:
        values["quiet_service"] = False
    if not errors:
        try:
            await policy_module.change_policy(program.id, values, staff.actor)
            return forms.done("/console/channels", "policy")
        except MembershipError as exc:
            field = str(exc.params.get("field", ""))
            label = POLICY_LABELS.get(field)
            errors[field or "form"] = _named(exc, label.name()) if label else forms.error_text(exc)
    typed = {f.name: form.get(f"p-{f.name}", []) for f in msgspec.structs.fields(schema)}
    fields = form_fields(schema, {}, POLICY_LABELS, prefix="p-", errors=errors, typed=typed)
    return await _channels_page(request, program, 422, policy_fields=fields, policy_error=errors.get("form", ""))


# -- message templates ----------------------------------------------------------------------------


@dataclasses.dataclass
class TemplateForm:
    """A message template's form as typed, with the error beside the text at fault."""

    code: str = ""
    name: str = ""
    purpose: str = "service"
    subject_zh: str = ""
    body_zh: str = ""
    subject_en: str = ""
    body_en: str = ""
    new: bool = True
    providers: str = ""
    errors: dict[str, str] = dataclasses.field(default_factory=dict)


FIELD_LABELS = {
    "code": ("编码", "code"),
    "name": ("模板名称", "name"),
    "purpose": ("用途", "purpose"),
    "subject_zh": ("中文标题", "Chinese subject"),
    "body_zh": ("中文正文", "Chinese text"),
    "subject_en": ("英文标题", "English subject"),
    "body_en": ("英文正文", "English text"),
}


def _template_form(posted_form: Any) -> TemplateForm:
    return TemplateForm(
        **{key: str(posted_form.get(key, "") or "") for key in ("code", *TEMPLATE_FIELDS)},
        new=posted_form.get("new") == "1",
    )


def _place(error: MembershipError, form: TemplateForm) -> str:
    """The error beside the text it names (in the staff's words); else the form's."""
    field = str(error.params.get("field", ""))
    if field not in FIELD_LABELS:
        return forms.error_text(error)
    form.errors[field] = _named(error, FIELD_LABELS[field][0 if _zh() else 1])
    return ""


def _terms(form: TemplateForm, kept: dict[str, Any] | None) -> templates.TemplateTerms:
    """The terms typed over ``kept`` (the stored ones: provider templates stay as they were)."""
    raw = {**(kept or {}), **{key: getattr(form, key) for key in TEMPLATE_FIELDS}}
    if not raw["name"].strip():
        raise ValidationError(field="name", reason=Reason("required", "请填写模板名称"))
    if not raw["body_zh"].strip():
        raise ValidationError(field="body_zh", reason=Reason("required", "请填写中文正文"))
    try:
        terms = msgspec.convert(raw, templates.TemplateTerms)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".").split(".")[0] or "template", reason=text) from None
    templates.check_terms(terms)
    return terms


async def _template_page(
    request: Request, program: ProgramConfig, form: TemplateForm, status: int = 200, error: str = ""
) -> Template:
    return forms.page(
        request,
        "notifications/template_form.html",
        "segments",
        status,
        program=program,
        form=form,
        samples=SAMPLE_VALUES,
        error=error,
    )


@get("/message-templates", opt=CONFIGURE)
async def templates_page(request: Request, page: FromQuery[int] = 1, done: FromQuery[str] = "") -> Template:
    """The program's message templates by code, a page at a time."""
    program = await staff_program(current_staff(request))
    page = max(1, page)
    rows, total = await templates.list_templates(program.id, page, PAGE_SIZE)
    return forms.page(
        request,
        "notifications/templates.html",
        "segments",
        program=program,
        templates=rows,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        notice=i18n.gettext("Message template saved.") if done == "saved" else "",
    )


@get("/message-templates/new", opt=CONFIGURE)
async def new_template(request: Request) -> Template:
    """An empty template form."""
    program = await staff_program(current_staff(request))
    return await _template_page(request, program, TemplateForm())


@get("/message-templates/{code:str}", opt=CONFIGURE)
async def edit_template(request: Request, code: FromPath[str]) -> Template:
    """A template's form with its words as stored."""
    program = await staff_program(current_staff(request))
    row = await templates.template_row(program.id, code)
    terms = templates.terms_of(row)
    form = TemplateForm(code=code, new=False, **{key: getattr(terms, key) for key in TEMPLATE_FIELDS})
    form.providers = forms.json_text(msgspec.to_builtins(terms.providers)) if terms.providers else ""
    return await _template_page(request, program, form)


@post("/message-templates", opt=CONFIGURE)
async def save_template(request: Request) -> Any:
    """Add or change a template; a text that does not compile is shown beside it."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = _template_form(await request.form())
    try:
        if form.new and not CODE.match(form.code):
            raise ValidationError(field="code", reason=Reason("letters, digits, - _ .", "编码只能用字母、数字和 - _ ."))
        kept = None
        if not form.new:
            kept = msgspec.to_builtins(templates.terms_of(await templates.template_row(program.id, form.code)))
        await templates.save_template(program.id, form.code, _terms(form, kept), staff.actor, new=form.new)
    except MembershipError as exc:
        return await _template_page(request, program, form, 422, _place(exc, form))
    return forms.done("/console/message-templates", "saved")


@post("/message-templates/preview", opt=CONFIGURE)
async def preview(request: Request) -> Template:
    """The words being typed rendered in the sandbox for a sample member (王小明) with sample
    values, in Chinese and English; an error names the text at fault. Nothing is saved or sent."""
    program = await staff_program(current_staff(request))
    form = _template_form(await request.form())
    member = {"name": "王小明", "member_no": "8000000001", "tier": "gold"}
    context = templates.member_context(member, program.name, {**SAMPLE_VALUES, "now": dt.date.today().isoformat()})
    shown, errors = [], []
    for language, subject, body in (("zh", "subject_zh", "body_zh"), ("en", "subject_en", "body_en")):
        if not getattr(form, body).strip():
            continue
        try:
            shown.append(
                (
                    language,
                    templates.render_text(getattr(form, subject), context, subject),
                    templates.render_text(getattr(form, body), context, body),
                )
            )
        except MembershipError as exc:
            field = str(exc.params.get("field", ""))
            label = FIELD_LABELS.get(field, (field, field))
            errors.append(_named(exc, label[0 if _zh() else 1]))
    return Template("notifications/preview.html", context={"shown": shown, "errors": errors})


# -- a member's messages ---------------------------------------------------------------------------

MESSAGE_STATES = {
    "pending": ("等待发送", "Waiting"),
    "sending": ("发送中", "Sending"),
    "sent": ("已送达服务商", "Sent"),
    "failed": ("发送失败", "Failed"),
    "suppressed": ("未发送", "Not sent"),
}
SUPPRESSED_REASONS = {
    "no_consent": ("会员未同意接收", "no consent"),
    "frequency_cap": ("超过频次上限", "over the frequency cap"),
    "no_address": ("没有该渠道的联系方式", "no address for the channel"),
    "no_unsubscribe_address": ("未设置退订地址", "no opt-out address set up"),
    "member_gone": ("会员已注销", "member gone"),
    "channel_off": ("渠道已停用", "channel switched off"),
}
MESSAGES_PAGE_SIZE = 10


@get("/members/{member_id:uuid}/messages", opt={"permission": Permission.VIEW_MEMBERS})
async def member_messages(request: Request, member_id: FromPath[uuid.UUID], page: FromQuery[int] = 1) -> Template:
    """A fragment of the member page: the member's messages, newest first, each with its channel
    and how its delivery went (why it was not sent, the provider's error; opened and clicked where
    the channel tells), a page at a time."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    page = max(1, page)
    rows, total = await delivery.member_messages(member_id, page, MESSAGES_PAGE_SIZE)
    language = 0 if _zh() else 1
    from_hooks = hooks().channels()
    seen: dict[str, dict[str, Any]] = {}
    if rows:
        ids = ", ".join("{}" for _ in rows)
        found = await fetch(
            f"SELECT id, opened_at, clicked_at FROM notification WHERE id IN ({ids})", *[row["id"] for row in rows]
        )
        seen = {str(r["id"]): r for r in found}
    for row in rows:
        cls = from_hooks.get(row["channel"])
        row["channel_label"] = (cls.label_zh if _zh() else cls.label_en) if cls else row["channel"]
        row["state_label"] = MESSAGE_STATES.get(row["state"], (row["state"], row["state"]))[language]
        row["reason_label"] = SUPPRESSED_REASONS.get(row["reason"], (row["reason"], row["reason"]))[language]
        tracked = seen.get(str(row["id"]), {})
        row["opened_at"], row["clicked_at"] = tracked.get("opened_at"), tracked.get("clicked_at")
    context = {
        "member_id": member_id,
        "messages": rows,
        "page": page,
        "pages": max(1, -(-total // MESSAGES_PAGE_SIZE)),
        "time_zone": (await staff_program(staff)).time_zone,
    }
    return Template("notifications/member_messages.html", context=context)


ROUTES = [
    member_messages,
    channels_page,
    save_channel,
    test_channel,
    save_policy,
    templates_page,
    new_template,
    edit_template,
    save_template,
    preview,
]
