"""Console pages for tiers (会员等级) and paid plans (付费会员), edited as JSON with the current
configuration shown as tables; every change is checked before it is saved, and audited."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.errors import MembershipError, Reason, ValidationError
from membership.staff.roles import Permission
from membership.tiers import paid, service
from membership.tiers.policy import paid_plans, tier_config

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
TIERS_HELP = (
    '{"tiers": [{"code": "silver", "name": "银卡", "threshold": 1000, "points_multiplier_pct": 120}], '
    '"policy": {"metric": "growth", "window_days": 365, "period_days": 365, "grace_days": 30, "downgrade": "one_down"}}'
)
PLANS_HELP = '[{"code": "prime-year", "name": "年卡", "tier": "gold", "fee": 19900, "days": 365}] — fee in fen.'


def _text(value: Any) -> str:
    return json.dumps(msgspec.to_builtins(value), ensure_ascii=False, indent=2)


@get("/loyalty/tiers", opt=CONFIGURE)
async def tiers_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The tiers and how they are earned and kept."""
    program = await staff_program(current_staff(request))
    config = tier_config(program.settings)
    help_text = i18n.gettext("Tiers and policy as JSON, for example:") + " " + TIERS_HELP
    notice = i18n.gettext("Settings saved.") if done == "saved" else ""
    return forms.json_page(
        request, i18n.gettext("Tiers"), "/console/loyalty/tiers", _text(config), help_text, config=config, notice=notice
    )


@post("/loyalty/tiers", opt=CONFIGURE, status_code=303)
async def save_tiers(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save tiers and policy; members move up on their next purchase, down at their review."""
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
        title = i18n.gettext("Tiers")
        return forms.json_page(
            request, title, "/console/loyalty/tiers", data.text, TIERS_HELP, 422, error=forms.error_text(exc)
        )
    return forms.done("/console/loyalty/tiers", "saved")


@get("/loyalty/paid-plans", opt=CONFIGURE)
async def paid_plans_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Paid membership plans: a fee for a tier for some days."""
    program = await staff_program(current_staff(request))
    notice = i18n.gettext("Settings saved.") if done == "saved" else ""
    text = _text(paid_plans(program.settings))
    return forms.json_page(
        request, i18n.gettext("Paid membership plans"), "/console/loyalty/paid-plans", text, PLANS_HELP, notice=notice
    )


@post("/loyalty/paid-plans", opt=CONFIGURE, status_code=303)
async def save_paid_plans(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the plans; each must buy one of the program's tiers."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await paid.set_plans(program.id, forms.json_list(data.text), staff.actor)
    except MembershipError as exc:
        title = i18n.gettext("Paid membership plans")
        return forms.json_page(
            request, title, "/console/loyalty/paid-plans", data.text, PLANS_HELP, 422, error=forms.error_text(exc)
        )
    return forms.done("/console/loyalty/paid-plans", "saved")


ROUTES = [tiers_page, save_tiers, paid_plans_page, save_paid_plans]
