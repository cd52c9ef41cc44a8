"""Console pages for the organisation: stores (门店) and the program's settings (设置: every
:class:`~membership.org.settings.ProgramSettings` value in forms, see
:mod:`membership.org.settings_form`)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any
from zoneinfo import available_timezones

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.db import fetch_one
from membership.db.sql import json_column
from membership.errors import MembershipError
from membership.org import service as org
from membership.org import settings_form
from membership.org.settings import change_settings, settings_of
from membership.staff.roles import Permission

STORES = {"permission": Permission.MANAGE_STORES_AND_STAFF}
SETTINGS = {"permission": Permission.CONFIGURE_PROGRAM}


@dataclasses.dataclass
class StoreForm:
    """A new store."""

    code: str = ""
    name: str = ""
    city: str = ""
    address: str = ""


def _notices() -> dict[str, str]:
    return {"store": i18n.gettext("Store added."), "settings": i18n.gettext("Settings saved.")}


async def _stores_page(request: Request, form: StoreForm, error: str = "", status: int = 200, done: str = "") -> Any:
    stores = await org.list_stores(current_staff(request).merchant_id)
    notice = _notices().get(done, "")
    return forms.page(
        request, "org/stores.html", "stores", status, stores=stores, form=form, error=error, notice=notice
    )


@get("/stores", opt=STORES)
async def stores_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The merchant's stores and a form to add one."""
    return await _stores_page(request, StoreForm(), done=done)


@post("/stores", opt=STORES, status_code=303)
async def add_store(
    request: Request, data: Annotated[StoreForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Add a store to the staff member's merchant."""
    staff = current_staff(request)
    try:
        await org.create_store(staff.merchant_id, data.code.strip(), data.name, data.city.strip(), data.address.strip())
    except MembershipError as exc:
        return await _stores_page(request, data, forms.error_text(exc), 422)
    return forms.done("/console/stores", "store")


@functools.cache
def zones() -> list[str]:
    """Every IANA zone name, sorted (read once: listing them walks the zone database); not the
    system's own alias ``localtime``, which names no place."""
    return sorted(available_timezones() - {"localtime"})


async def _currency_lock(program: org.ProgramConfig) -> str:
    """Why the currency cannot change (empty while it can): amounts already booked in it."""
    if await fetch_one("SELECT id FROM ledger_posting WHERE program_id = {} LIMIT 1", program.id) is None:
        return ""
    return i18n.gettext(
        "Locked: the program already has transactions in %(currency)s, kept in its minor units; "
        "changing the currency would change what they are worth.",
        currency=program.currency,
    )


async def _last_change(program: org.ProgramConfig, actor: str) -> list[tuple[str, str, str]]:
    """The staff member's latest settings change as (label, old, new) lines."""
    row = await fetch_one(
        "SELECT details FROM audit_log WHERE action = 'program.settings' AND program_id = {} AND actor = {}"
        " ORDER BY occurred_at DESC LIMIT 1",
        program.id,
        actor,
    )
    changes = (json_column(row["details"]) or {}).get("changes") if row else None
    if not isinstance(changes, dict):
        return []
    return settings_form.changed_lines(changes, program.currency, i18n.current_language())


async def _settings_page(
    request: Request,
    program: org.ProgramConfig,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    **context: Any,
) -> Template:
    language = i18n.current_language()
    zh = settings_form.is_zh(language)
    lock = await _currency_lock(program)
    sections = [
        (
            title_zh if zh else title_en,
            settings_form.section_help(intro, language),
            settings_form.field_views(
                names,
                values,
                errors or {},
                language,
                currency=program.currency,
                zones=zones(),
                locked={"currency": lock} if lock else None,
            ),
        )
        for title_zh, title_en, intro, names in settings_form.SECTIONS
    ]
    return forms.page(
        request,
        "org/settings.html",
        "settings",
        status,
        program=program,
        sections=sections,
        errors=errors or {},
        **context,
    )


@get("/settings", opt=SETTINGS)
async def settings_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Every program setting in forms, each with what it means; after a save, what changed."""
    staff = current_staff(request)
    program = await staff_program(staff)
    values = settings_form.form_values(settings_of(program))
    changed = await _last_change(program, staff.actor) if done == "settings" else []
    notice = i18n.gettext("Nothing changed.") if done == "unchanged" else _notices().get(done, "")
    return await _settings_page(request, program, values, notice=notice, changed=changed)


def _posted(form: Any) -> dict[str, list[str]]:
    """A posted form as lists of values by name (a switch posts "false" and, when on, "true")."""
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


@post("/settings", opt=SETTINGS, status_code=303)
async def save_settings(request: Request) -> Any:
    """Save the settings the form posted (those left out stay as they are) through
    ``change_settings``, which audits old → new; errors go beside their fields, with what was
    typed kept."""
    staff = current_staff(request)
    program = await staff_program(staff)
    posted = _posted(await request.form())
    current = settings_of(program)
    language = i18n.current_language()
    try:
        changes = settings_form.parse_form(posted, current, language)
        after = await change_settings(program.id, changes, staff.actor)
    except settings_form.FormErrors as exc:
        return await _settings_page(request, program, _typed(current, posted), exc.errors, 422)
    except MembershipError as exc:
        field = settings_form.field_of(exc, [name for name in settings_form.FIELDS if name in posted])
        errors = {field: settings_form.reason_text(exc, language)} if field else {}
        error = "" if field else forms.error_text(exc)
        return await _settings_page(request, program, _typed(current, posted), errors, 422, error=error)
    return forms.done("/console/settings", "settings" if after != current else "unchanged")


def _typed(current: Any, posted: dict[str, list[str]]) -> dict[str, str]:
    """The form's values as the staff member typed them (the stored ones where nothing was posted)."""
    values = settings_form.form_values(current)
    for name, given in posted.items():
        if name in settings_form.FIELDS or name == "point_value_other":
            field = settings_form.FIELDS.get(name)
            values[name] = ("true" if "true" in given else "false") if field and field.kind == "bool" else given[-1]
    return values


ROUTES = [stores_page, add_store, settings_page, save_settings]
