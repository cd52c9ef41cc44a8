"""Message templates (消息模板): a subject and a body in Chinese and English, written in Jinja2 and
rendered in a sandbox (no attribute of Python's internals, no file, no import: a template that
tries is refused), and per SMS or WeChat channel the provider's approved template with its values
(each value itself a Jinja2 text: ``{"name": "{{ member.name }}"}``).

A message is rendered when it is queued (a campaign's, queued by the thousand, when it is sent), in
the member's language (``preferences.language``, else the program's; English falls back to
Chinese when a template has none): the member (``member.name``, ``member.member_no``,
``member.tier``), the program (``program.name``) and the values the cause gives (``points``,
``expires_on``…). A name the template uses and the cause does not give is an error when it is
queued, not an empty hole in a message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import uuid
from typing import Annotated, Any

import jinja2
import msgspec
from jinja2.sandbox import SandboxedEnvironment

from membership.audit import service as audit
from membership.db import fetch, fetch_one, fetch_page, new_id, use_case
from membership.errors import Conflict, NotFound, Reason, ValidationError
from membership.notifications.config import channel_class
from membership.notifications.policy import Purpose

ENVIRONMENT = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Text = Annotated[str, msgspec.Meta(max_length=4000)]


class TemplateNotFound(NotFound):
    code = "message_template_not_found"
    message_en = "No message template {code!r} in this program."
    message_zh = "本方案没有消息模板“{code}”。"


class TemplateExists(Conflict):
    code = "message_template_exists"
    message_en = "The program already has a message template {code!r}."
    message_zh = "本方案已有消息模板“{code}”。"


class ProviderTemplate(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A provider's approved template (an SMS template code, a WeChat template id) and the values
    it takes, in order, each a Jinja2 text."""

    template: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    params: dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=32)], Annotated[str, msgspec.Meta(max_length=500)]
    ] = {}


class TemplateTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a template says: ``purpose`` (``marketing`` needs the member's consent and keeps quiet
    hours and caps; ``service`` goes out unless the member refused), the Chinese subject and body
    (required), the English ones, and ``providers`` by channel name."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    purpose: Purpose = "service"
    subject_zh: Annotated[str, msgspec.Meta(max_length=200)] = ""
    body_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    subject_en: Annotated[str, msgspec.Meta(max_length=200)] = ""
    body_en: Text = ""
    providers: dict[str, ProviderTemplate] = {}


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A template rendered for one member: language, subject, body and per provider channel its
    template and values."""

    language: str
    subject: str
    body: str
    providers: dict[str, dict[str, Any]]


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> jinja2.Template:
    """A text compiled once (a campaign renders the same template for every member)."""
    return ENVIRONMENT.from_string(source)


def _compile(source: str, field: str) -> jinja2.Template:
    try:
        return _compiled(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError(
            field=field, reason=Reason(f"line {exc.lineno}: {exc.message}", f"第 {exc.lineno} 行：{exc.message}")
        ) from None


def check_terms(terms: TemplateTerms) -> None:
    """Every text compiles and every provider is a registered channel."""
    for field in ("subject_zh", "body_zh", "subject_en", "body_en"):
        _compile(getattr(terms, field), field)
    for channel, provider in terms.providers.items():
        channel_class(channel)
        for name, value in provider.params.items():
            _compile(value, f"providers.{channel}.params.{name}")


def render_text(source: str, context: dict[str, Any], field: str) -> str:
    """``source`` rendered in the sandbox; ``ValidationError`` naming ``field`` when it uses a
    name the context lacks or touches what the sandbox forbids."""
    try:
        return _compile(source, field).render(context).strip()
    except jinja2.UndefinedError as exc:
        raise ValidationError(field=field, reason=Reason(f"{exc.message}", f"缺少变量：{exc.message}")) from None
    except jinja2.exceptions.SecurityError as exc:
        raise ValidationError(field=field, reason=Reason(f"not allowed: {exc}", f"模板不允许这样写：{exc}")) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError(field=field, reason=Reason(f"{exc}", f"模板出错：{exc}")) from None


def render(terms: TemplateTerms, language: str, context: dict[str, Any]) -> Rendered:
    """The template in ``language`` (``en`` falls back to ``zh`` when it has no English body)."""
    if language != "en" or not terms.body_en:
        language = "zh"
    subject = terms.subject_en if language == "en" else terms.subject_zh
    body = terms.body_en if language == "en" else terms.body_zh
    providers = {
        channel: {
            "template": provider.template,
            "params": {
                name: render_text(value, context, f"providers.{channel}.params.{name}")
                for name, value in provider.params.items()
            },
        }
        for channel, provider in terms.providers.items()
    }
    return Rendered(
        language,
        render_text(subject, context, f"subject_{language}"),
        render_text(body, context, f"body_{language}"),
        providers,
    )


def terms_of(row: dict[str, Any]) -> TemplateTerms:
    """A stored template's terms."""
    providers = json.loads(row["providers"]) if isinstance(row["providers"], str) else row["providers"]
    fields = {k: row[k] for k in ("name", "purpose", "subject_zh", "body_zh", "subject_en", "body_en")}
    return msgspec.convert({**fields, "providers": providers or {}}, TemplateTerms)


async def template_row(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """The template's row; ``TemplateNotFound`` otherwise."""
    row = await fetch_one("SELECT * FROM message_template WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise TemplateNotFound(code=code)
    return row


def _values(terms: TemplateTerms) -> list[Any]:
    return [
        terms.name,
        terms.purpose,
        terms.subject_zh,
        terms.body_zh,
        terms.subject_en,
        terms.body_en,
        json.dumps(msgspec.to_builtins(terms.providers), ensure_ascii=False),
    ]


@use_case
async def save_template(program_id: uuid.UUID, code: str, terms: TemplateTerms, actor: str, new: bool) -> dict:
    """Add (``new``) or change a template, checked; audited."""
    check_terms(terms)
    now = dt.datetime.now(dt.UTC)
    exists = await fetch_one("SELECT id FROM message_template WHERE program_id = {} AND code = {}", program_id, code)
    if new and exists:
        raise TemplateExists(code=code)
    if not new and not exists:
        raise TemplateNotFound(code=code)
    if new:
        await fetch(
            "INSERT INTO message_template (id, program_id, code, name, purpose, subject_zh, body_zh, subject_en,"
            " body_en, providers, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            new_id(),
            program_id,
            code,
            *_values(terms),
            now,
            now,
        )
    else:
        await fetch(
            "UPDATE message_template SET name = {}, purpose = {}, subject_zh = {}, body_zh = {}, subject_en = {},"
            " body_en = {}, providers = {}, updated_at = {} WHERE program_id = {} AND id = {}",
            *_values(terms),
            now,
            program_id,
            exists["id"],
        )
    await audit.record(actor, "message_template.save", "message_template", code, program_id, msgspec.to_builtins(terms))
    return await template_row(program_id, code)


async def list_templates(program_id: uuid.UUID, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the program's templates by code."""
    return await fetch_page(
        "SELECT *, COUNT(*) OVER () AS listed FROM message_template WHERE program_id = {} ORDER BY code",
        program_id,
        page=page,
        page_size=page_size,
    )


def member_context(member: dict[str, Any], program_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """What a template reads: the member (no personal data beyond the name), the program and the
    cause's values."""
    return {
        **values,
        "member": {"name": member["name"], "member_no": member["member_no"], "tier": member["tier"] or ""},
        "program": {"name": program_name},
    }
