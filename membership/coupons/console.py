"""Console page for coupons (优惠券): each template with what it gives and its figures (issued,
usable, redeemed, expired, redemption rate, discount given); a template added or changed in a
form generated from :class:`~membership.coupons.templates.TemplateDef` (amounts in yuan,
discounts as 折, dates with a picker, warnings before a doubtful one is saved) or as JSON; and
coupons issued to members named one a line (a line naming nobody is reported, the others get
theirs), to every member of a tier or to a CRM segment."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.struct_forms import convert, error_for, form_fields, posted, read_form, typed_values
from membership.console.workplace import staff_program
from membership.coupons import report, service
from membership.coupons.batch import Audience, named_members, segment_members, tier_members
from membership.coupons.forms import (
    KINDS,
    describe_terms,
    fields_of,
    kind_name,
    template_labels,
    template_warnings,
    trigger_name,
)
from membership.coupons.templates import TemplateDef
from membership.crm.segments import list_segments
from membership.errors import MembershipError
from membership.org.service import ProgramConfig, list_stores
from membership.staff.roles import Permission
from membership.tiers.policy import tier_config

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
JSON_HELP = (
    '{"code": "ten-off", "name": "满100减10", "kind": "amount_off", "amount_off": 1000, "min_spend": 10000,'
    ' "valid_days": 30} — kind: amount_off, percent_off (with max_off) or free_item (free_sku); amounts in fen;'
    " issue_on: manual, birthday, tier_upgrade, sign_up, referral."
)


@dataclasses.dataclass
class TemplateDraft:
    """The template form as shown: its kind, values (stored) or text (as posted), errors."""

    kind: str = "amount_off"
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    typed: dict[str, list[str]] | None = None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class IssueForm:
    """Coupons of ``template`` for the members named (``to="members"``: numbers, phones or cards,
    one a line), every member of ``tier`` (``to="tier"``) or of ``segment`` (``to="segment"``)."""

    template: str = ""
    to: str = "members"
    members: str = ""
    tier: str = ""
    segment: str = ""


async def _labels(request: Request, program: ProgramConfig) -> dict[str, Any]:
    stores = await list_stores(current_staff(request).merchant_id)
    tiers = {tier.code: tier.name for tier in tier_config(program.settings).tiers}
    return template_labels({str(s["id"]): s["name"] for s in stores}, tiers)


async def _page(
    request: Request,
    status: int = 200,
    *,
    draft: TemplateDraft | None = None,
    editing: str = "",
    issue_form: IssueForm | None = None,
    **context: Any,
) -> Template:
    program = await staff_program(current_staff(request))
    draft = draft or TemplateDraft()
    kind = draft.kind if draft.kind in KINDS else "amount_off"
    figures, _ = await report.report(program.id, page_size=200)
    templates, _ = await service.list_templates(program.id, include_retired=True, page_size=200, include_rewards=True)
    terms = {t["code"]: describe_terms(t, program.currency) for t in templates}
    labels = await _labels(request, program)
    fields = form_fields(
        TemplateDef,
        draft.values,
        labels,
        errors=draft.errors,
        currency=program.currency,
        only=fields_of(kind, creating=not editing),
        typed=draft.typed,
    )
    if "json_text" not in context:
        shown = {**draft.values, "kind": kind} if editing else {"kind": kind, **draft.values}
        context["json_text"] = forms.json_text({k: v for k, v in shown.items() if v is not None and k != "active"})
    return forms.page(
        request,
        "coupons/templates.html",
        "loyalty",
        status,
        program=program,
        rows=figures,
        terms=terms,
        kinds=KINDS,
        kind=kind,
        kind_name=kind_name,
        trigger_name=trigger_name,
        fields=fields,
        editing=editing,
        tiers=tier_config(program.settings).tiers,
        segments=(await list_segments(program.id, 1, 200))[0],
        issue_form=issue_form or IssueForm(),
        json_help=JSON_HELP,
        **{"warnings": [], "json_error": "", "bad_lines": [], **context},
    )


@get("/loyalty/coupons", opt=CONFIGURE)
async def coupons_page(
    request: Request,
    done: FromQuery[str] = "",
    issued: FromQuery[int] = 0,
    skipped: FromQuery[int] = 0,
    edit: FromQuery[str] = "",
    kind: FromQuery[str] = "",
) -> Template:
    """The templates and their figures; a form for a new template of ``kind`` or, with
    ``edit``, that template's terms; after an issue, how many coupons went out."""
    if edit:
        program = await staff_program(current_staff(request))
        try:
            template = await service.get_template(program.id, edit)
        except MembershipError as exc:
            return await _page(request, 404, error=forms.error_text(exc))
        values = {key: value for key, value in template.items() if key not in ("created_at", "updated_at")}
        values["store_ids"] = [str(store_id) for store_id in values.get("store_ids", [])]
        draft = TemplateDraft(kind=kind or template["kind"], values=values)
        return await _page(request, draft=draft, editing=edit)
    notices = {
        "added": i18n.gettext("Coupon template added."),
        "changed": i18n.gettext("Coupon template changed."),
        "retired": i18n.gettext("Coupon template retired: it issues no more (coupons issued stay usable)."),
        "issued": _issued_notice(issued, skipped),
    }
    return await _page(request, draft=TemplateDraft(kind=kind or "amount_off"), notice=notices.get(done, ""))


def _issued_notice(issued: int, skipped: int) -> str:
    return i18n.gettext(
        "%(issued)s coupons issued; %(skipped)s members skipped (they hold the template's limit).",
        issued=issued,
        skipped=skipped,
    )


async def _save_template(request: Request, code: str = "") -> Any:
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    kind = (form.get("kind") or ["amount_off"])[-1]
    kind = kind if kind in KINDS else "amount_off"
    fields = fields_of(kind, creating=not code)
    labels = await _labels(request, program)
    values, errors = read_form(TemplateDef, form, labels, currency=program.currency, only=fields)
    values = {**values, "kind": kind, "code": code or values.get("code", "")}
    draft = TemplateDraft(kind=kind, typed=typed_values(form, fields), errors=errors)
    template = None
    if not errors:
        template, draft.errors = convert(TemplateDef, values, labels, program.currency)
    if template is None:
        return await _page(
            request, 422, draft=draft, editing=code, error=i18n.gettext("Please correct the marked fields.")
        )
    today = dt.datetime.now(program.zone).date()
    warnings = template_warnings(template, today, program.currency)
    if warnings and not form.get("anyway"):
        return await _page(request, draft=draft, editing=code, warnings=warnings)
    data = msgspec.to_builtins(template)
    try:
        if code:
            await service.change_template(program.id, code, {k: v for k, v in data.items() if k != "code"}, staff.actor)
        else:
            await service.create_template(program.id, data, staff.actor)
    except MembershipError as exc:
        key, text = error_for(exc, fields, labels, program.currency)
        if key:
            draft.errors[key] = text
        error = text if not key else i18n.gettext("Please correct the marked fields.")
        return await _page(request, 422, draft=draft, editing=code, error=error)
    return forms.done("/console/loyalty/coupons", "changed" if code else "added")


@post("/loyalty/coupons", opt=CONFIGURE, status_code=303)
async def add_template(request: Request) -> Any:
    """Add a template from the form (its code must be new); a doubtful one is shown back with
    its warnings until saved anyway."""
    return await _save_template(request)


@post("/loyalty/coupons/templates/{code:str}", opt=CONFIGURE, status_code=303)
async def change_template(request: Request, code: FromPath[str]) -> Any:
    """Change a template's terms from the form (its code stays; a retired one issues again)."""
    return await _save_template(request, code)


@post("/loyalty/coupons/json", opt=CONFIGURE, status_code=303)
async def add_template_json(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Add a template typed as JSON (amounts in fen), checked as the API checks it."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await service.create_template(program.id, forms.json_object(data.text), staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, json_text=data.text, json_error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "added")


@post("/loyalty/coupons/templates/{code:str}/json", opt=CONFIGURE, status_code=303)
async def change_template_json(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Change a template's terms typed as JSON."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        terms = {k: v for k, v in forms.json_object(data.text).items() if k != "code"}
        await service.change_template(program.id, code, terms, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, editing=code, json_text=data.text, json_error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "changed")


@post("/loyalty/coupons/templates/{code:str}/retire", opt=CONFIGURE, status_code=303)
async def retire_template(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Stop issuing from a template once confirmed; coupons already issued stay usable."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if not data.confirmed:
        return await _page(request, 422, error=forms.not_confirmed())
    try:
        await service.retire_template(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/coupons", "retired")


@post("/loyalty/coupons/issue", opt=CONFIGURE, status_code=200)
async def issue(request: Request, data: Annotated[IssueForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Any:
    """Issue the template's coupon to each member named, or to every member of a tier. Lines
    naming no single member are listed and kept in the form; the others get their coupon."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if data.to == "tier":
        audience = Audience(await tier_members(program.id, data.tier), [])
        nobody = i18n.gettext("No member holds this tier.")
    elif data.to == "segment":
        try:
            audience = Audience(await segment_members(program, data.segment), [])
        except MembershipError as exc:
            return await _page(request, 422, issue_form=data, error=forms.error_text(exc))
        nobody = i18n.gettext("The segment holds no member now.")
    else:
        audience = await named_members(program.id, data.members)
        nobody = i18n.gettext("No line names a member: nothing was issued.")
    zh = i18n.current_language().startswith("zh")
    bad = [(line.line, line.text, line.reason.zh if zh else line.reason.en) for line in audience.bad]
    kept = IssueForm(data.template, data.to, "\n".join(line.text for line in audience.bad), data.tier, data.segment)
    if not audience.member_ids:
        return await _page(request, 422, issue_form=kept, bad_lines=bad, error=nobody)
    try:
        result = await service.issue(program.id, data.template, audience.member_ids, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, issue_form=data, error=forms.error_text(exc))
    notice = _issued_notice(len(result.issued), len(result.skipped))
    if not bad:
        return forms.done_with(
            "/console/loyalty/coupons", "issued", issued=len(result.issued), skipped=len(result.skipped)
        )
    return await _page(request, issue_form=kept, bad_lines=bad, notice=notice)


ROUTES = [
    coupons_page,
    add_template,
    change_template,
    add_template_json,
    change_template_json,
    retire_template,
    issue,
]
