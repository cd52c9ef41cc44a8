"""Console pages for the organisation: stores (门店) and the program's settings (time zone,
currency, points validity)."""

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
from membership.errors import MembershipError
from membership.org import service as org
from membership.org.settings import change_settings
from membership.staff.roles import Permission

STORES = {"permission": Permission.MANAGE_STORES_AND_STAFF}
SETTINGS = {"permission": Permission.CONFIGURE_PROGRAM}
CURRENCIES = ("CNY", "HKD", "MOP", "TWD", "USD", "EUR", "JPY", "KRW", "SGD")


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


@dataclasses.dataclass
class SettingsForm:
    """The program's settings."""

    time_zone: str = ""
    currency: str = ""


@functools.cache
def _zones() -> list[str]:
    """Every IANA zone name, sorted (read once: listing them walks the zone database)."""
    return sorted(available_timezones())


def _settings_page(request: Request, program: org.ProgramConfig, form: SettingsForm, **context: Any) -> Template:
    return forms.page(
        request,
        "org/settings.html",
        "settings",
        program=program,
        form=form,
        zones=_zones(),
        currencies=sorted({*CURRENCIES, program.currency}),
        **context,
    )


@get("/settings", opt=SETTINGS)
async def settings_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The program's time zone and currency (points validity: the points policy page)."""
    program = await staff_program(current_staff(request))
    form = SettingsForm(program.time_zone, program.currency)
    return _settings_page(request, program, form, notice=_notices().get(done, ""))


@post("/settings", opt=SETTINGS, status_code=303)
async def save_settings(
    request: Request, data: Annotated[SettingsForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the settings; the change is written to the audit log."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        # points validity lives in the points policy (Loyalty › Points policy), not here
        changes = {"time_zone": data.time_zone.strip(), "currency": data.currency.strip().upper()}
        await change_settings(program.id, changes, staff.actor)
    except MembershipError as exc:
        return _settings_page(request, program, data, error=forms.error_text(exc), status=422)
    return forms.done("/console/settings", "settings")


ROUTES = [stores_page, add_store, settings_page, save_settings]
