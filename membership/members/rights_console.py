"""Console pages for a member's personal-data requests (个人信息请求): download a copy of
everything held about them, and erase them after a confirmation. Owners only; both audited."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import member_of_merchant
from membership.errors import MembershipError
from membership.members import rights
from membership.staff.roles import Permission

RIGHTS = {"permission": Permission.HANDLE_DATA_RIGHTS}


@post("/members/{member_id:uuid}/export", opt=RIGHTS, status_code=200)
async def export_copy(request: Request, member_id: FromPath[uuid.UUID]) -> Response[bytes]:
    """A JSON file of everything held about the member, to hand to them; audited."""
    staff = current_staff(request)
    row = await member_of_merchant(staff, member_id)
    data = await rights.export_member(member_id, actor=staff.actor)
    return Response(
        rights.export_json(data).encode(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{row["member_no"]}.json"'},
    )


@dataclasses.dataclass
class ErasureForm:
    """The reason for an erasure, and the typed member number that confirms it."""

    reason: str = ""
    member_no: str = ""


def _erase_page(row: dict[str, Any], request: Request, form: ErasureForm, error: str = "", status: int = 200) -> Any:
    context = {"staff": current_staff(request), "active": "members", "row": row, "form": form, "error": error}
    return Template("members/erase.html", context=context, status_code=status)


@get("/members/{member_id:uuid}/erase", opt=RIGHTS)
async def erase_page(request: Request, member_id: FromPath[uuid.UUID]) -> Template:
    """What erasure does and does not do, and a form that asks for the reason and the number."""
    row = await member_of_merchant(current_staff(request), member_id)
    return _erase_page(row, request, ErasureForm())


@post("/members/{member_id:uuid}/erase", opt=RIGHTS, status_code=303)
async def erase(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[ErasureForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Erase the member once the reason is given and the member number typed matches."""
    staff = current_staff(request)
    row = await member_of_merchant(staff, member_id)
    if not data.reason.strip():
        return _erase_page(row, request, data, i18n.gettext("Give the reason for the erasure."), 422)
    if data.member_no.strip() != row["member_no"]:
        return _erase_page(row, request, data, i18n.gettext("Type the member number to confirm."), 422)
    try:
        await rights.erase_member(member_id, actor=staff.actor, reason=data.reason.strip())
    except MembershipError as exc:
        return _erase_page(row, request, data, exc.detail(i18n.current_language()), 409)
    return Redirect(f"/console/members/{member_id}", status_code=303)


ROUTES = [export_copy, erase_page, erase]
