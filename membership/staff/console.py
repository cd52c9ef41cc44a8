"""Console page for staff accounts (员工): list, add with a role and an optional store, disable,
and unlock an account whose failed logins make someone wait (解锁, after a confirmation)."""

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

# The login throttle's words on these pages, (Chinese, English); ``%(name)s`` is filled in.
WORDS = {
    "trouble": (
        "最近登录失败 %(failures)s 次，涉及 %(addresses)s 个地址",
        "%(failures)s recent failed logins, from %(addresses)s addresses",
    ),
    "waits": ("有地址需等到 %(until)s 才能再试", "an address must wait until %(until)s"),
    "unlock": ("解锁", "Unlock"),
    "unlock_title": ("解锁账号 %(username)s", "Unlock %(username)s"),
    "unlock_explain": (
        "解锁会清除这个账号的登录失败记录和等待时间，以及失败来源地址的记录，员工可以马上重新登录。"
        "如果不是员工本人输错了密码，请同时给他换一个新密码。",
        "Unlocking forgets this account's failed logins and waits, and those of the addresses they came from:"
        " the employee can log in again at once. If it was not the employee mistyping, give them a new password too.",
    ),
    "addresses": ("失败来源地址：%(addresses)s", "Failed from: %(addresses)s"),
    "nothing": ("这个账号目前没有登录失败记录，无需解锁。", "This account has no failed logins to clear."),
    "confirm": ("确认解锁", "Unlock the account"),
    "back": ("返回员工列表", "Back to the staff list"),
    "unlocked": ("账号已解锁。", "Account unlocked."),
}


def say(key: str, **values: object) -> str:
    """A text of :data:`WORDS` in the current console language, with ``values`` filled in."""
    zh, en = WORDS[key]
    text = zh if i18n.current_language() == "zh_CN" else en
    return text % values if values else text


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
    notices = {
        "added": i18n.gettext("Account added."),
        "disabled": i18n.gettext("Account disabled."),
        "unlocked": say("unlocked"),
    }
    return forms.page(
        request,
        "staff/list.html",
        "staff",
        status,
        accounts=await service.list_staff(staff.merchant_id),
        trouble=await service.login_trouble(staff.merchant_id),
        say=say,
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
async def disable_staff(
    request: Request,
    staff_id: FromPath[uuid.UUID],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Disable an account once confirmed: it cannot log in and its sessions end now."""
    owner = current_staff(request)
    if not data.confirmed:
        return await _staff_page(request, StaffForm(), forms.not_confirmed(), 422)
    try:
        await service.disable_staff(staff_id, owner.merchant_id, owner.actor)
    except MembershipError as exc:
        return await _staff_page(request, StaffForm(), forms.error_text(exc), 422)
    return forms.done("/console/staff", "disabled")


@dataclasses.dataclass
class UnlockForm:
    """The confirmation of an unlock: only ``confirm=yes`` unlocks."""

    confirm: str = ""


async def _unlock_page(request: Request, staff_id: uuid.UUID) -> Any:
    owner = current_staff(request)
    try:
        account = await service.staff_account(staff_id, owner.merchant_id)
    except MembershipError as exc:
        return await _staff_page(request, StaffForm(), forms.error_text(exc), 422)
    return forms.page(request, "staff/unlock.html", "staff", account=account, say=say)


@get("/staff/{staff_id:uuid}/unlock", opt=STAFF)
async def unlock_page(request: Request, staff_id: FromPath[uuid.UUID]) -> Any:
    """Ask before unlocking: the account's failed logins, what unlocking clears, a confirm button."""
    return await _unlock_page(request, staff_id)


@post("/staff/{staff_id:uuid}/unlock", opt=STAFF, status_code=303)
async def unlock_staff(
    request: Request,
    staff_id: FromPath[uuid.UUID],
    data: Annotated[UnlockForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Unlock the account once confirmed (``confirm=yes``; otherwise the question again): its
    failed logins and waits are cleared, and the audit log says who did it."""
    if data.confirm != "yes":
        return await _unlock_page(request, staff_id)
    owner = current_staff(request)
    try:
        account = await service.staff_account(staff_id, owner.merchant_id)
        await service.unlock_staff(account["username"], owner.actor, owner.merchant_id)
    except MembershipError as exc:
        return await _staff_page(request, StaffForm(), forms.error_text(exc), 422)
    return forms.done("/console/staff", "unlocked")


ROUTES = [staff_page, add_staff, disable_staff, unlock_page, unlock_staff]
