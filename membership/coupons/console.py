"""Console page for coupons (优惠券): each template with its figures (issued, usable, redeemed,
expired, redemption rate, discount given), a template added as JSON (checked first), and coupons
issued by hand to members named by number or phone."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.coupons import report, service
from membership.errors import MembershipError, ValidationError
from membership.members import service as members
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
EXAMPLE = {
    "code": "ten-off",
    "name": "满100减10",
    "kind": "amount_off",
    "amount_off": 1000,
    "min_spend": 10000,
    "valid_days": 30,
    "per_member_limit": 1,
    "issue_on": "manual",
}


@dataclasses.dataclass
class IssueForm:
    """Coupons of ``template`` for the members named (numbers or phones, one per line)."""

    template: str = ""
    members: str = ""


async def _page(request: Request, status: int = 200, text: str = "", editing: str = "", **context: Any) -> Template:
    program = await staff_program(current_staff(request))
    rows, _ = await report.report(program.id, page_size=200)
    return forms.page(
        request,
        "coupons/templates.html",
        "loyalty",
        status,
        program=program,
        rows=rows,
        kind_names={
            "amount_off": i18n.gettext("amount off"),
            "percent_off": i18n.gettext("percent off"),
            "free_item": i18n.gettext("free item"),
        },
        trigger_names={
            "manual": i18n.gettext("by hand"),
            "birthday": i18n.gettext("birthday"),
            "tier_upgrade": i18n.gettext("tier upgrade"),
            "sign_up": i18n.gettext("sign-up"),
            "referral": i18n.gettext("referral"),
        },
        text=text or json.dumps(EXAMPLE, ensure_ascii=False, indent=2),
        editing=editing,
        **context,
    )


@get("/loyalty/coupons", opt=CONFIGURE)
async def coupons_page(
    request: Request,
    done: FromQuery[str] = "",
    issued: FromQuery[int] = 0,
    skipped: FromQuery[int] = 0,
    edit: FromQuery[str] = "",
) -> Template:
    """The templates and their figures; after an issue, how many coupons went out and how many
    members were skipped (they already hold the template's limit); with ``edit``, that template's
    terms in the editor."""
    if edit:
        program = await staff_program(current_staff(request))
        try:
            template = await service.get_template(program.id, edit)
        except MembershipError as exc:
            return await _page(request, 404, error=forms.error_text(exc))
        return await _page(request, text=_terms_text(template), editing=edit)
    notices = {
        "added": i18n.gettext("Coupon template added."),
        "changed": i18n.gettext("Coupon template changed."),
        "retired": i18n.gettext("Coupon template retired: it issues no more (coupons issued stay usable)."),
        "issued": i18n.gettext(
            "%(issued)s coupons issued; %(skipped)s members skipped (they hold the template's limit).",
            issued=issued,
            skipped=skipped,
        ),
    }
    return await _page(request, notice=notices.get(done, ""))


@post("/loyalty/coupons", opt=CONFIGURE, status_code=303)
async def add_template(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Add a template (its code must be new)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await service.create_template(program.id, forms.json_object(data.text), staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, text=data.text, error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "added")


def _terms_text(template: dict[str, Any]) -> str:
    """A template's terms as the editor shows them (what ``change_template`` takes)."""
    left_out = ("code", "active", "created_at", "updated_at")
    terms = {key: value for key, value in template.items() if key not in left_out and value is not None}
    return json.dumps(terms, ensure_ascii=False, indent=2, default=str)


@post("/loyalty/coupons/templates/{code:str}", opt=CONFIGURE, status_code=303)
async def change_template(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Change a template's terms (its code stays; a retired one issues again)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await service.change_template(program.id, code, forms.json_object(data.text), staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, text=data.text, editing=code, error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "changed")


@post("/loyalty/coupons/templates/{code:str}/retire", opt=CONFIGURE, status_code=303)
async def retire_template(request: Request, code: FromPath[str]) -> Any:
    """Stop issuing from a template; coupons already issued stay usable until they end."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await service.retire_template(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "retired")


@post("/loyalty/coupons/issue", opt=CONFIGURE, status_code=303)
async def issue(request: Request, data: Annotated[IssueForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Any:
    """Issue the template's coupon to each member named; one unknown name stops it all."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        names = [name.strip() for name in data.members.replace(",", "\n").splitlines() if name.strip()]
        if not names:
            raise ValidationError(field="members", reason=i18n.gettext("name at least one member"))
        member_ids = []
        for name in names:
            found, total = await members.search_members(program.id, name, page_size=2)
            if total != 1:
                raise ValidationError(field="members", reason=i18n.gettext("no single member is %(name)s", name=name))
            member_ids.append(found[0].id)
        result = await service.issue(program.id, data.template, member_ids, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, error=forms.error_text(exc))
    counts = f"&issued={len(result.issued)}&skipped={len(result.skipped)}"
    return Redirect(f"/console/loyalty/coupons?done=issued{counts}", status_code=303)


ROUTES = [coupons_page, add_template, change_template, retire_template, issue]
