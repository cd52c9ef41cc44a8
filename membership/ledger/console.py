"""Console pages for loyalty configuration (营销配置): points rules with a simulator that explains
every point, the points policy (pending window, expiry, warnings) and top-up plans. Tiers and
paid plans are in :mod:`membership.tiers.console`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program, workplace
from membership.errors import MembershipError, Reason, ValidationError
from membership.ledger import points_rules
from membership.ledger.policy import parse_points_policy, points_policy
from membership.ledger.rule_kinds import PARAMS
from membership.ledger.rules import LineInput
from membership.ledger.top_up_plans import parse_top_up_plans, top_up_plans
from membership.members import service as members
from membership.org.service import update_settings
from membership.sales import service as sales
from membership.sales.console import amount_text, parse_amount
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PARAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "base_rate": {"points": 1, "per_amount": 100},
    "category_multiplier": {"categories": ["饮品"], "multiplier_pct": 200},
    "sku_multiplier": {"skus": ["6901234567890"], "multiplier_pct": 300},
    "member_day": {"weekdays": [3], "multiplier_pct": 200},
    "birthday": {"window": "month", "multiplier_pct": 200, "gift_points": 100},
    "sign_up": {"points": 100},
    "first_purchase": {"points": 50},
    "referral": {"referrer_points": 200, "referee_points": 50},
    "daily_sign_in": {"points": 5, "streak_days": 7, "streak_bonus": 30},
    "cap": {"per_transaction": 5000, "per_day": 10000},
}


@dataclasses.dataclass
class RuleForm:
    """A new rule; ``params`` as JSON (an example per kind is offered)."""

    code: str = ""
    name: str = ""
    kind: str = "base_rate"
    priority: str = "0"
    stacking: str = "stack"
    starts_on: str = ""
    ends_on: str = ""
    min_spend: str = ""
    params: str = ""


@dataclasses.dataclass
class SimulateForm:
    """A purchase to explain: member (number or phone), amount, category, local date."""

    member: str = ""
    amount: str = ""
    category: str = ""
    day: str = ""


async def _rules_page(
    request: Request,
    form: RuleForm,
    status: int = 200,
    simulation: Any = None,
    trial: SimulateForm | None = None,
    editing: str = "",
    **context: Any,
) -> Template:
    program = await staff_program(current_staff(request))
    return forms.page(
        request,
        "loyalty/rules.html",
        "loyalty",
        status,
        program=program,
        rules=await points_rules.list_rules(program.id, include_retired=True),
        kinds=list(PARAMS),
        kind_names={
            "base_rate": i18n.gettext("Base rate"),
            "category_multiplier": i18n.gettext("Category multiplier"),
            "sku_multiplier": i18n.gettext("Item multiplier"),
            "member_day": i18n.gettext("Member day"),
            "birthday": i18n.gettext("Birthday"),
            "sign_up": i18n.gettext("Sign-up bonus"),
            "first_purchase": i18n.gettext("First purchase bonus"),
            "referral": i18n.gettext("Referral reward"),
            "daily_sign_in": i18n.gettext("Daily sign-in"),
            "cap": i18n.gettext("Cap"),
        },
        stacking_names={
            "stack": i18n.gettext("stacks with others"),
            "best_of": i18n.gettext("best of its group"),
            "exclusive": i18n.gettext("alone (exclusive)"),
        },
        examples={kind: json.dumps(example, ensure_ascii=False) for kind, example in PARAM_EXAMPLES.items()},
        form=form,
        simulation=simulation,
        trial=trial or SimulateForm(),
        editing=editing,
        **context,
    )


@get("/loyalty/rules", opt=CONFIGURE, name="console-rules")
async def rules_page(request: Request, done: FromQuery[str] = "", edit: FromQuery[str] = "") -> Template:
    """The program's points rules (active and retired), a form to add one (or, with ``edit``, to
    change that one: a retired rule comes back), a simulator."""
    notices = {
        "added": i18n.gettext("Rule added."),
        "retired": i18n.gettext("Rule retired."),
        "changed": i18n.gettext("Rule changed."),
    }
    if edit:
        program = await staff_program(current_staff(request))
        try:
            rule = await points_rules.get_rule(program.id, edit)
        except MembershipError as exc:
            return await _rules_page(request, RuleForm(), 404, error=forms.error_text(exc))
        return await _rules_page(request, _form_of(rule, program.currency), editing=edit)
    form = RuleForm(params=json.dumps(PARAM_EXAMPLES["base_rate"], ensure_ascii=False))
    return await _rules_page(request, form, notice=notices.get(done, ""))


def _form_of(rule: dict[str, Any], currency: str) -> RuleForm:
    """A stored rule as the form shows it (the minimum spend in major units, as typed)."""
    return RuleForm(
        code=rule["code"],
        name=rule["name"],
        kind=rule["kind"],
        priority=str(rule["priority"]),
        stacking=rule["stacking"],
        starts_on=str(rule.get("starts_on") or ""),
        ends_on=str(rule.get("ends_on") or ""),
        min_spend=amount_text(rule["min_spend"], currency) if rule["min_spend"] else "",
        params=json.dumps(rule["params"], ensure_ascii=False),
    )


def _rule_data(form: RuleForm, currency: str) -> dict[str, Any]:
    try:
        params = json.loads(form.params or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationError(
            field="params", reason=Reason(f"not JSON: {exc.msg}", f"不是有效的 JSON：{exc.msg}")
        ) from None
    if not form.priority.strip().lstrip("-").isdigit():
        raise ValidationError(field="priority", reason=i18n.gettext("a whole number"))
    data: dict[str, Any] = {
        "code": form.code.strip(),
        "name": form.name.strip(),
        "kind": form.kind,
        "priority": int(form.priority),
        "stacking": form.stacking,
        "params": params,
        "min_spend": parse_amount(form.min_spend, currency, "min_spend", minimum=0) if form.min_spend.strip() else 0,
    }
    for field in ("starts_on", "ends_on"):
        if getattr(form, field).strip():
            data[field] = getattr(form, field).strip()
    return data


@post("/loyalty/rules", opt=CONFIGURE, status_code=303)
async def add_rule(
    request: Request, data: Annotated[RuleForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Add a rule; it earns from the next purchase."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await points_rules.create_rule(program.id, _rule_data(data, program.currency), staff.actor)
    except MembershipError as exc:
        return await _rules_page(request, data, 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/rules", "added")


@post("/loyalty/rules/{code:str}", opt=CONFIGURE, status_code=303)
async def change_rule(
    request: Request, code: FromPath[str], data: Annotated[RuleForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Change a rule (its code stays; a retired one earns again); from the next purchase."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await points_rules.change_rule(program.id, code, _rule_data(data, program.currency), staff.actor)
    except MembershipError as exc:
        return await _rules_page(request, data, 422, editing=code, error=forms.error_text(exc))
    return forms.done("/console/loyalty/rules", "changed")


@post("/loyalty/rules/{code:str}/retire", opt=CONFIGURE, status_code=303)
async def retire_rule(request: Request, code: FromPath[str]) -> Any:
    """Stop a rule from earning (the ledger keeps naming it)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        await points_rules.retire_rule(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _rules_page(request, RuleForm(), 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/rules", "retired")


@post("/loyalty/simulate", opt=CONFIGURE, status_code=200)
async def simulate(
    request: Request, data: Annotated[SimulateForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template:
    """What a purchase would earn under the rules, each point with its rule and reason; nothing
    is written."""
    staff = current_staff(request)
    place = await workplace(staff)
    program = place.program
    try:
        found, total = await members.search_members(program.id, data.member.strip(), page_size=2)
        if total != 1:
            raise ValidationError(field="member", reason=i18n.gettext("name one member by number or phone"))
        day = dt.date.fromisoformat(data.day) if data.day.strip() else dt.datetime.now(program.zone).date()
        when = dt.datetime.combine(day, dt.time(12), tzinfo=program.zone)
        amount = parse_amount(data.amount, program.currency)
        line = LineInput("SIM", 1, amount, category=data.category.strip())
        result = await sales.simulate_purchase(program.id, place.store_id, found[0].id, [line], occurred_at=when)
    except ValueError:
        return await _rules_page(request, RuleForm(), 422, trial=data, error=i18n.gettext("Use the form 1990-05-17."))
    except MembershipError as exc:
        return await _rules_page(request, RuleForm(), 422, trial=data, error=forms.error_text(exc))
    return await _rules_page(request, RuleForm(), simulation=result, trial=data)


@dataclasses.dataclass
class PolicyForm:
    """The points policy as typed."""

    pending_days: str = "0"
    expiry: str = "never"
    expiry_days: str = ""
    expiry_months: str = "12"
    warn_days: str = "0"


def _policy_page(request: Request, program: Any, form: PolicyForm, status: int = 200, **context: Any) -> Template:
    return forms.page(request, "loyalty/policy.html", "loyalty", status, program=program, form=form, **context)


@get("/loyalty/policy", opt=CONFIGURE)
async def policy_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Pending window, expiry and warnings."""
    program = await staff_program(current_staff(request))
    policy = points_policy(program.settings, program.points_expiry_days)
    form = PolicyForm(
        str(policy.pending_days),
        policy.expiry,
        "" if policy.expiry_days is None else str(policy.expiry_days),
        str(policy.expiry_months),
        str(policy.warn_days),
    )
    return _policy_page(request, program, form, notice=i18n.gettext("Settings saved.") if done == "saved" else "")


@post("/loyalty/policy", opt=CONFIGURE, status_code=303)
async def save_policy(
    request: Request, data: Annotated[PolicyForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the policy: points earned from now on follow it."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        numbers = {}
        for field in ("pending_days", "expiry_days", "expiry_months", "warn_days"):
            text = getattr(data, field).strip()
            if text and not text.isdigit():
                raise ValidationError(field=field, reason=i18n.gettext("a whole number"))
            if text:
                numbers[field] = int(text)
        policy = parse_points_policy({"expiry": data.expiry, **numbers})
        await update_settings(program.id, {"points_policy": msgspec.to_builtins(policy)}, staff.actor)
    except MembershipError as exc:
        return _policy_page(request, program, data, 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/policy", "saved")


def _plans_text(plans: list[Any]) -> str:
    return json.dumps(msgspec.to_builtins(plans), ensure_ascii=False, indent=2)


@get("/loyalty/top-up-plans", opt=CONFIGURE)
async def top_up_plans_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Top-up plans (充值送): what is paid, the bonus, on which days."""
    program = await staff_program(current_staff(request))
    return forms.json_page(
        request,
        i18n.gettext("Top-up plans"),
        "/console/loyalty/top-up-plans",
        _plans_text(top_up_plans(program.settings)),
        i18n.gettext(
            'A list such as [{"code": "100-20", "name": "充100送20", "pay": 10000, "bonus": 2000}] — amounts in fen.'
        ),
        notice=i18n.gettext("Settings saved.") if done == "saved" else "",
    )


@post("/loyalty/top-up-plans", opt=CONFIGURE, status_code=303)
async def save_top_up_plans(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the plans (checked first)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        plans = parse_top_up_plans(forms.json_list(data.text))
        await update_settings(program.id, {"top_up_plans": msgspec.to_builtins(plans)}, staff.actor)
    except MembershipError as exc:
        title, action = i18n.gettext("Top-up plans"), "/console/loyalty/top-up-plans"
        return forms.json_page(request, title, action, data.text, "", 422, error=forms.error_text(exc))
    return forms.done("/console/loyalty/top-up-plans", "saved")


ROUTES = [
    rules_page,
    add_rule,
    change_rule,
    retire_rule,
    simulate,
    policy_page,
    save_policy,
    top_up_plans_page,
    save_top_up_plans,
]
