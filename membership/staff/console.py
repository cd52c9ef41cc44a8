"""Console page for staff accounts (员工): list, add with a role and an optional store, disable."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import store_from_form
from membership.errors import MembershipError
from membership.org.service import list_stores
from membership.staff import service
from membership.staff.roles import ROLE_NAMES, Permission, Role

STAFF = {"permission": Permission.MANAGE_STORES_AND_STAFF}


@dataclasses.dataclass
class StaffForm:
    """A new staff account; the password is typed by the owner and changed by its holder."""

    username: str = ""
    display_name: str = ""
    role: str = "clerk"
    store: str = ""
    password: str = ""


async def _staff_page(request: Request, form: StaffForm, error: str = "", status: int = 200, done: str = "") -> Any:
    staff = current_staff(request)
    notices = {"added": i18n.gettext("Account added."), "disabled": i18n.gettext("Account disabled.")}
    return forms.page(
        request,
        "staff/list.html",
        "staff",
        status,
        accounts=await service.list_staff(staff.merchant_id),
        stores=await list_stores(staff.merchant_id),
        roles=list(Role),
        role_names=ROLE_NAMES,
        form=dataclasses.replace(form, password=""),  # never echoed back
        error=error,
        notice=notices.get(done, ""),
    )


@get("/staff", opt=STAFF)
async def staff_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The merchant's staff accounts and a form to add one."""
    return await _staff_page(request, StaffForm(), done=done)


@post("/staff", opt=STAFF, status_code=303)
async def add_staff(
    request: Request, data: Annotated[StaffForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Add an account at the owner's merchant (and one of its stores, if chosen)."""
    owner = current_staff(request)
    try:
        store_id = store_from_form(data.store)
        await service.create_staff(
            data.username,
            data.password,
            data.role,
            merchant_id=owner.merchant_id,
            store_id=store_id,
            display_name=data.display_name,
            language=owner.language,
            actor=owner.actor,
        )
    except MembershipError as exc:
        return await _staff_page(request, data, forms.error_text(exc), 422)
    return forms.done("/console/staff", "added")


@post("/staff/{staff_id:uuid}/disable", opt=STAFF, status_code=303)
async def disable_staff(request: Request, staff_id: FromPath[uuid.UUID]) -> Any:
    """Disable an account: it cannot log in and its sessions end now."""
    owner = current_staff(request)
    try:
        await service.disable_staff(staff_id, owner.merchant_id, owner.actor)
    except MembershipError as exc:
        return await _staff_page(request, StaffForm(), forms.error_text(exc), 422)
    return forms.done("/console/staff", "disabled")


ROUTES = [staff_page, add_staff, disable_staff]
