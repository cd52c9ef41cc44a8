"""The member page's own forms: edit the profile (name, gender, birthday, phone, e-mail,
address), the tags and the notes, and refund a sale of the member's history with a reason. Each
change is a use case that audits it; a refused one shows its reason beside the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from typing import Annotated, Any

from litestar import Request, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from membership.audit import service as audit
from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import member_of_merchant
from membership.db import use_case
from membership.errors import MembershipError, SaleNotFound
from membership.members import notes
from membership.members import service as members
from membership.members.console import ERROR_FIELDS, _member_page
from membership.sales import service as sales
from membership.sales.service import RefundResult
from membership.staff.roles import Permission

EDIT = {"permission": Permission.EDIT_MEMBERS}
REFUND = {"permission": Permission.APPROVE_AT_COUNTER}
PERSONAL = ("phone", "email", "address")


def _done(member_id: uuid.UUID, what: str) -> Redirect:
    return forms.done(f"/console/members/{member_id}", what)


@dataclasses.dataclass
class ProfileForm:
    """The profile as typed; an empty phone, e-mail or address keeps the one on file (they are
    shown masked), ``clear`` names those to remove."""

    name: str = ""
    gender: str = "unknown"
    birthday: str = ""
    birthday_calendar: str = "solar"
    phone: str = ""
    email: str = ""
    address: str = ""
    clear: str = ""


def _changes(data: ProfileForm) -> dict[str, Any]:
    changes: dict[str, Any] = {"name": data.name.strip(), "gender": data.gender}
    if data.birthday.strip():
        changes["birthday"] = dt.date.fromisoformat(data.birthday.strip())
        changes["birthday_calendar"] = data.birthday_calendar
    else:
        changes["birthday"] = None
    cleared = set(re.split(r"[\s,]+", data.clear.strip())) if data.clear.strip() else set()
    for field in PERSONAL:
        if getattr(data, field).strip():
            changes[field] = getattr(data, field).strip()
        elif field in cleared:
            changes[field] = None
    return changes


@post("/members/{member_id:uuid}/profile", opt=EDIT, status_code=303)
async def edit_profile(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[ProfileForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Change the member's profile; the audit log records who changed which fields."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    try:
        changes = _changes(data)
    except ValueError:
        errors = {"birthday": i18n.gettext("Use the form 1990-05-17.")}
        return await _member_page(request, member_id, profile_form=data, profile_errors=errors, status=422)
    try:
        await members.update_profile(member_id, changes, staff.actor)
    except MembershipError as exc:
        field = exc.params.get("field") if exc.code in ("validation_error", "duplicate_member") else None
        field = ERROR_FIELDS.get(exc.code, field)
        key = field if field in dataclasses.asdict(data) else "form"
        errors = {key: forms.error_text(exc)}
        return await _member_page(request, member_id, profile_form=data, profile_errors=errors, status=422)
    return _done(member_id, "profile")


@dataclasses.dataclass
class TagsForm:
    """The member's tags, separated by 、 or commas."""

    tags: str = ""


@post("/members/{member_id:uuid}/tags", opt=EDIT, status_code=303)
async def edit_tags(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[TagsForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Set the member's tags (audited)."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    tags = list(dict.fromkeys(t.strip() for t in re.split(r"[、,，;；\n]", data.tags) if t.strip()))
    try:
        await members.update_profile(member_id, {"tags": tags}, staff.actor)
    except MembershipError as exc:
        return await _member_page(request, member_id, error=forms.error_text(exc), status=422)
    return _done(member_id, "tags")


@dataclasses.dataclass
class NoteForm:
    """A note to keep about the member."""

    text: str = ""


@post("/members/{member_id:uuid}/notes", opt=EDIT, status_code=303)
async def add_note(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[NoteForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Keep a note about the member (sealed, audited)."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    try:
        await notes.add_note(member_id, data.text, staff.actor)
    except MembershipError as exc:
        return await _member_page(request, member_id, note_error=forms.error_text(exc), note_text=data.text, status=422)
    return _done(member_id, "note")


@post("/members/{member_id:uuid}/notes/{note_id:uuid}/remove", opt=EDIT, status_code=303)
async def remove_note(
    request: Request,
    member_id: FromPath[uuid.UUID],
    note_id: FromPath[uuid.UUID],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Remove a note once confirmed (audited)."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    if not data.confirmed:
        return await _member_page(request, member_id, error=forms.not_confirmed(), status=422)
    try:
        await notes.remove_note(member_id, note_id, staff.actor)
    except MembershipError as exc:
        return await _member_page(request, member_id, error=forms.error_text(exc), status=422)
    return _done(member_id, "note-removed")


@dataclasses.dataclass
class RefundForm:
    """A whole sale refunded from the member's history: why (kept with the refund), the form's
    one-time ``key`` (a double click refunds once) and the confirmation."""

    reason: str = ""
    key: str = ""
    confirm: str = ""


@use_case
async def _refund(member_id: uuid.UUID, sale_id: uuid.UUID, reason: str, key: str, actor: str) -> RefundResult:
    """The sale refunded whole and the refund audited, in one transaction."""
    sale = await sales.sale_row(sale_id)
    if sale["member_id"] != member_id:
        raise SaleNotFound(sale_id=sale_id)
    result = await sales.refund(sale_id, None, reason, f"console-refund:{key}" if key else None, actor)
    if not result.replayed:  # a double click answers with the first refund, audited once
        details = {"reason": reason, "amount": result.amount, "from": "member page"}
        await audit.record(actor, "sale.refund", "sale", sale_id, sale["program_id"], details)
    return result


@post("/members/{member_id:uuid}/sales/{sale_id:uuid}/refund", opt=REFUND, status_code=303)
async def refund_sale(
    request: Request,
    member_id: FromPath[uuid.UUID],
    sale_id: FromPath[uuid.UUID],
    data: Annotated[RefundForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Refund what is left of one of the member's sales (退货), with a reason, once confirmed:
    the refund service gives back the amount, takes back the points it earned and returns what
    it paid with points or stored value. Audited."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    if data.confirm != "yes":
        return await _member_page(request, member_id, error=forms.not_confirmed(), status=422)
    if not data.reason.strip():
        return await _member_page(request, member_id, error=i18n.gettext("Give the reason for the refund."), status=422)
    try:
        result = await _refund(member_id, sale_id, data.reason.strip()[:200], data.key, staff.actor)
    except MembershipError as exc:
        return await _member_page(request, member_id, error=forms.error_text(exc), status=422)
    return forms.done_with(f"/console/members/{member_id}", "refunded", amount=result.amount)


ROUTES = [edit_profile, edit_tags, add_note, remove_note, refund_sale]
