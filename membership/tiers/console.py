"""Console pages for tiers (会员等级) and paid plans (付费会员): forms generated from the types the
API validates (:class:`~membership.tiers.policy.Tier`, :class:`~membership.tiers.policy.TierPolicy`,
:class:`~membership.tiers.policy.PaidPlan`), amounts in yuan, discounts as 折, warnings before a
doubtful change is saved, and the same configuration as JSON for integrators. Every change is
checked by the use case and audited."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.struct_forms import (
    Rows,
    convert,
    error_for,
    form_fields,
    posted,
    read_form,
    read_rows,
    row_fields,
    typed_values,
)
from membership.console.workplace import staff_program
from membership.coupons.service import list_templates
from membership.errors import MembershipError, Reason, ValidationError
from membership.org.service import ProgramConfig
from membership.staff.roles import Permission
from membership.tiers import paid, service
from membership.tiers.forms import plan_labels, plan_warnings, policy_labels, tier_labels, tier_warnings
from membership.tiers.policy import PaidPlan, Tier, TierPolicy, paid_plans, tier_config

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
TIERS_JSON_HELP = (
    '{"tiers": [{"code": "silver", "name": "银卡", "threshold": 1000, "points_multiplier_pct": 120}], '
    '"policy": {"metric": "growth", "window_days": 365, "period_days": 365, "grace_days": 30, "downgrade": "one_down"}}'
    " — amounts in fen"
)
PLANS_JSON_HELP = '[{"code": "prime-year", "name": "年卡", "tier": "gold", "fee": 19900, "days": 365}] — fee in fen.'
POLICY_FIELDS = list(TierPolicy.__struct_fields__)


async def _coupon_names(program: ProgramConfig) -> dict[str, str]:
    templates, _ = await list_templates(program.id, page_size=200)
    return {t["code"]: t["name"] for t in templates}


def _saved_notice(done: str) -> str:
    return i18n.gettext("Settings saved.") if done == "saved" else ""


async def _tiers_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    *,
    metric: str,
    policy: dict[str, Any] | None = None,
    typed: dict[str, list[str]] | None = None,
    policy_errors: dict[str, str] | None = None,
    posted_rows: Rows | None = None,
    blank: int = 1,
    **context: Any,
) -> Template:
    config = tier_config(program.settings)
    labels = tier_labels(metric, await _coupon_names(program))
    stored = [msgspec.structs.asdict(tier) for tier in config.tiers]
    policy_inputs = form_fields(
        TierPolicy,
        policy if policy is not None else msgspec.structs.asdict(config.policy),
        policy_labels(),
        prefix="policy-",
        errors=policy_errors,
        typed=typed,
    )
    rows = row_fields(
        Tier, stored, labels, name="tiers", currency=program.currency, posted_rows=posted_rows, blank=blank
    )
    context.setdefault("json_text", forms.json_text({"tiers": stored, "policy": msgspec.to_builtins(config.policy)}))
    return forms.config_page(
        request,
        i18n.gettext("Tiers"),
        "/console/loyalty/tiers",
        status,
        intro=i18n.gettext(
            "A member holds the highest tier whose threshold they reach; "
            "the policy says what counts and how long a tier is kept."
        ),
        sections=[(i18n.gettext("Tier policy"), policy_inputs)],
        rows=rows,
        rows_name="tiers",
        rows_title=i18n.gettext("Tiers, lowest first"),
        json_help=TIERS_JSON_HELP,
        **context,
    )


@get("/loyalty/tiers", opt=CONFIGURE)
async def tiers_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The tiers and how they are earned and kept, as a form."""
    program = await staff_program(current_staff(request))
    metric = tier_config(program.settings).policy.metric
    return await _tiers_page(request, program, metric=metric, notice=_saved_notice(done))


@post("/loyalty/tiers", opt=CONFIGURE, status_code=303)
async def save_tiers(request: Request) -> Any:
    """Save tiers and policy from the form; a doubtful change (thresholds out of order, a
    higher tier giving less) is shown back with its warnings until saved anyway. Members move
    up on their next purchase, down at their review."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    labels_policy = policy_labels()
    policy_values, policy_errors = read_form(TierPolicy, form, labels_policy, prefix="policy-")
    policy = None
    if not policy_errors:
        policy, policy_errors = convert(TierPolicy, policy_values, labels_policy)
    metric = policy.metric if policy else tier_config(program.settings).policy.metric
    labels = tier_labels(metric, await _coupon_names(program))
    rows = read_rows(Tier, form, labels, name="tiers", currency=program.currency)
    again = {
        "metric": metric,
        "typed": typed_values(form, POLICY_FIELDS, "policy-"),
        "policy_errors": policy_errors,
        "posted_rows": rows,
    }
    if "more" in form:
        return await _tiers_page(request, program, **again, blank=2)
    if policy is None or not rows.ok:
        return await _tiers_page(
            request, program, 422, **again, error=i18n.gettext("Please correct the marked fields.")
        )
    tiers = [msgspec.convert(values, Tier) for values in rows.values]
    warnings = tier_warnings(tiers, metric, program.currency)
    if not tiers and tier_config(program.settings).tiers:
        warnings.append(i18n.gettext("No tier is left: members lose their tiers."))
    if warnings and not form.get("anyway"):
        return await _tiers_page(request, program, **again, warnings=warnings)
    try:
        await service.configure(program.id, msgspec.to_builtins(tiers), msgspec.to_builtins(policy), staff.actor)
    except MembershipError as exc:
        _, text = error_for(exc, (), labels, program.currency)
        return await _tiers_page(request, program, 422, **again, error=text)
    return forms.done("/console/loyalty/tiers", "saved")


@post("/loyalty/tiers/json", opt=CONFIGURE, status_code=303)
async def save_tiers_json(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save tiers and policy typed as JSON (amounts in fen), checked as the API checks them."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        value = forms.json_object(data.text, '{"tiers": [...], "policy": {...}}')
        if "tiers" not in value:
            raise ValidationError(
                field="tiers",
                reason=Reason("required (an empty list removes every tier)", "必填（空列表将删除所有等级）"),
            )
        await service.configure(program.id, value["tiers"], value.get("policy"), staff.actor)
    except MembershipError as exc:
        metric = tier_config(program.settings).policy.metric
        return await _tiers_page(
            request, program, 422, metric=metric, json_text=data.text, json_error=forms.error_text(exc)
        )
    return forms.done("/console/loyalty/tiers", "saved")


async def _plans_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    *,
    posted_rows: Rows | None = None,
    blank: int = 1,
    **context: Any,
) -> Template:
    stored = [msgspec.structs.asdict(plan) for plan in paid_plans(program.settings)]
    tiers = {tier.code: tier.name for tier in tier_config(program.settings).tiers}
    rows = row_fields(
        PaidPlan,
        stored,
        plan_labels(tiers),
        name="plans",
        currency=program.currency,
        posted_rows=posted_rows,
        blank=blank,
    )
    context.setdefault("json_text", forms.json_text(stored))
    return forms.config_page(
        request,
        i18n.gettext("Paid membership plans"),
        "/console/loyalty/paid-plans",
        status,
        intro=i18n.gettext("A paid plan sells a tier for some days; it is sold at the counter."),
        rows=rows,
        rows_name="plans",
        rows_title=i18n.gettext("Plans"),
        json_help=PLANS_JSON_HELP,
        **context,
    )


@get("/loyalty/paid-plans", opt=CONFIGURE)
async def paid_plans_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Paid membership plans: a price for a tier for some days."""
    program = await staff_program(current_staff(request))
    return await _plans_page(request, program, notice=_saved_notice(done))


@post("/loyalty/paid-plans", opt=CONFIGURE, status_code=303)
async def save_paid_plans(request: Request) -> Any:
    """Save the plans from the form; each must buy one of the program's tiers."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    config = tier_config(program.settings)
    labels = plan_labels({tier.code: tier.name for tier in config.tiers})
    rows = read_rows(PaidPlan, form, labels, name="plans", currency=program.currency)
    if "more" in form:
        return await _plans_page(request, program, posted_rows=rows, blank=2)
    if not rows.ok:
        error = i18n.gettext("Please correct the marked fields.")
        return await _plans_page(request, program, 422, posted_rows=rows, error=error)
    plans = [msgspec.convert(values, PaidPlan) for values in rows.values]
    warnings = plan_warnings(plans, config.tiers)
    if warnings and not form.get("anyway"):
        return await _plans_page(request, program, posted_rows=rows, warnings=warnings)
    try:
        await paid.set_plans(program.id, msgspec.to_builtins(plans), staff.actor)
    except MembershipError as exc:
        _, text = error_for(exc, (), labels, program.currency)
        return await _plans_page(request, program, 422, posted_rows=rows, error=text)
    return forms.done("/console/loyalty/paid-plans", "saved")


@post("/loyalty/paid-plans/json", opt=CONFIGURE, status_code=303)
async def save_paid_plans_json(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the plans typed as JSON (fees in fen)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await paid.set_plans(program.id, forms.json_list(data.text), staff.actor)
    except MembershipError as exc:
        return await _plans_page(request, program, 422, json_text=data.text, json_error=forms.error_text(exc))
    return forms.done("/console/loyalty/paid-plans", "saved")


ROUTES = [tiers_page, save_tiers, save_tiers_json, paid_plans_page, save_paid_plans, save_paid_plans_json]
