"""Console pages for loyalty configuration (营销配置): points rules of every kind in forms generated
from their parameter types, with warnings for a rule that would never earn and a simulator that
explains every point; the points policy (pending window, expiry, warnings) and top-up plans, each
as a form with its JSON for integrators. Tiers and paid plans are in
:mod:`membership.tiers.console`."""

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
from membership.console.struct_forms import (
    Rows,
    convert,
    error_for,
    form_fields,
    is_zh,
    posted,
    read_form,
    read_rows,
    row_fields,
    typed_values,
)
from membership.console.workplace import staff_program, workplace
from membership.errors import MembershipError, ValidationError
from membership.ledger import points_rules
from membership.ledger.condition_forms import ConditionDraft, condition_forms, draft_of, editable, read_conditions
from membership.ledger.conditions import compile_conditions
from membership.ledger.forms import (
    RULE_FIELDS,
    describe_params,
    kind_names,
    params_labels,
    policy_labels,
    policy_warnings,
    rule_labels,
    rule_warnings,
    top_up_labels,
    top_up_warnings,
)
from membership.ledger.policy import PointsPolicy, parse_points_policy, points_policy
from membership.ledger.rule_kinds import PARAMS
from membership.ledger.rulebook import BASE_KINDS, BONUS_KINDS, STACKING, PointsRule, parse_rule
from membership.ledger.rules import LineInput
from membership.ledger.top_up_plans import TopUpPlan, parse_top_up_plans, top_up_plans
from membership.members import service as members
from membership.org.service import ProgramConfig, update_settings
from membership.sales import service as sales
from membership.sales.amounts import parse_amount
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
CONDITIONED = BASE_KINDS | BONUS_KINDS  # the kinds of rule that take conditions


@dataclasses.dataclass
class SimulateForm:
    """A purchase to explain: member (number or phone), amount, category, local date."""

    member: str = ""
    amount: str = ""
    category: str = ""
    day: str = ""


@dataclasses.dataclass
class RuleDraft:
    """The rule form as it is shown: its kind, the rule's and the parameters' values (stored) or
    text (as posted), and the errors beside them."""

    kind: str = "base_rate"
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    typed: dict[str, list[str]] | None = None
    typed_params: dict[str, list[str]] | None = None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    param_errors: dict[str, str] = dataclasses.field(default_factory=dict)
    conditions: ConditionDraft = dataclasses.field(default_factory=ConditionDraft)
    kept: list[dict[str, Any]] | None = None  # conditions the form cannot show, kept as they are


async def _rules_page(
    request: Request,
    draft: RuleDraft | None = None,
    status: int = 200,
    simulation: Any = None,
    trial: SimulateForm | None = None,
    editing: str = "",
    **context: Any,
) -> Template:
    program = await staff_program(current_staff(request))
    draft = draft or RuleDraft()
    kind = draft.kind if draft.kind in PARAMS else "base_rate"
    rules = await points_rules.list_rules(program.id, include_retired=True)
    fields = [name for name in RULE_FIELDS if not (editing and name == "code")]
    return forms.page(
        request,
        "loyalty/rules.html",
        "loyalty",
        status,
        program=program,
        rules=rules,
        described={rule["code"]: describe_params(rule["kind"], rule["params"], program.currency) for rule in rules},
        kinds=list(PARAMS),
        kind=kind,
        kind_names=kind_names(),
        stacking_names={value: rule_labels()["stacking"].choice(value) for value in STACKING},
        rule_fields=form_fields(
            PointsRule,
            draft.values,
            rule_labels(),
            errors=draft.errors,
            currency=program.currency,
            only=fields,
            typed=draft.typed,
        ),
        param_fields=form_fields(
            PARAMS[kind],
            draft.params,
            params_labels(kind),
            prefix="p-",
            errors=draft.param_errors,
            currency=program.currency,
            typed=draft.typed_params,
        ),
        condition_forms=condition_forms(draft.conditions, is_zh(), program.currency)
        if kind in CONDITIONED and draft.kept is None
        else [],
        kept_conditions=[describe_condition(c) for c in draft.kept or []] if kind in CONDITIONED else [],
        simulation=simulation,
        trial=trial or SimulateForm(),
        editing=editing,
        **context,
    )


def describe_condition(condition: dict[str, Any]) -> str:
    """A stored condition in words (its kind's own description), in the page's language."""
    compiled = compile_conditions([condition])
    if not isinstance(compiled, list):
        return compiled.zh if is_zh() else compiled.en
    reason = compiled[0].describe()
    return reason.zh if is_zh() else reason.en


def _rule_draft(rule: dict[str, Any], kind: str) -> RuleDraft:
    """The form of a stored rule (of ``kind`` when changing its kind)."""
    same = kind == rule["kind"]
    conditions = rule.get("conditions") or []
    draft = RuleDraft(kind=kind, values=rule, params=rule["params"] if same else {})
    if editable(conditions):
        draft.conditions = draft_of(conditions)
    else:
        draft.kept = list(conditions)
    return draft


@get("/loyalty/rules", opt=CONFIGURE, name="console-rules")
async def rules_page(
    request: Request, done: FromQuery[str] = "", edit: FromQuery[str] = "", kind: FromQuery[str] = ""
) -> Template:
    """The program's points rules (active and retired), a form to add one of ``kind`` (or, with
    ``edit``, to change that one: a retired rule comes back), a simulator."""
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
            return await _rules_page(request, status=404, error=forms.error_text(exc))
        return await _rules_page(request, _rule_draft(rule, kind or rule["kind"]), editing=edit)
    return await _rules_page(request, RuleDraft(kind=kind or "base_rate"), notice=notices.get(done, ""))


async def _posted_rule(request: Request, program: ProgramConfig, code: str) -> tuple[RuleDraft, PointsRule | None]:
    """The rule the form posted (``code`` when changing one), validated as the API validates it:
    the rule, or None and the draft with its errors."""
    form = posted(await request.form())
    kind = (form.get("kind") or ["base_rate"])[-1]
    kind = kind if kind in PARAMS else "base_rate"
    labels, plabels = rule_labels(), params_labels(kind)
    fields = [name for name in RULE_FIELDS if not (code and name == "code")]
    values, errors = read_form(PointsRule, form, labels, currency=program.currency, only=fields)
    params, param_errors = read_form(PARAMS[kind], form, plabels, prefix="p-", currency=program.currency)
    kept = None
    if form.get("c-keep") and code:  # conditions the form could not show: kept as they are
        kept = (await points_rules.get_rule(program.id, code)).get("conditions") or []
        conditions, condition_draft = kept, ConditionDraft()
    elif kind in CONDITIONED:
        conditions, condition_draft = read_conditions(form, program.currency, forms.error_text)
    else:
        conditions, condition_draft = [], ConditionDraft(on=set())
    draft = RuleDraft(
        kind=kind,
        typed=typed_values(form, fields),
        typed_params=typed_values(form, PARAMS[kind].__struct_fields__, "p-"),
        errors=errors,
        param_errors=param_errors,
        conditions=condition_draft,
        kept=kept,
    )
    values["conditions"] = conditions
    if errors or param_errors or condition_draft.errors:
        return draft, None
    checked, draft.param_errors = convert(PARAMS[kind], params, plabels, program.currency)
    if checked is None:
        return draft, None
    try:
        checked.check()
        rule = parse_rule(
            {**values, "code": code or values.get("code", ""), "kind": kind, "params": msgspec.to_builtins(params)}
        )
    except MembershipError as exc:
        key, text = error_for(exc, [*fields, *PARAMS[kind].__struct_fields__], {**labels, **plabels}, program.currency)
        target = draft.param_errors if key in PARAMS[kind].__struct_fields__ else draft.errors
        target[key or "form"] = text
        return draft, None
    return draft, rule


async def _save_rule(request: Request, code: str = "") -> Any:
    staff = current_staff(request)
    program = await staff_program(staff)
    draft, rule = await _posted_rule(request, program, code)
    form = await request.form()
    if rule is None:
        error = draft.errors.pop("form", "") or draft.param_errors.pop("form", "")
        error = error or i18n.gettext("Please correct the marked fields.")
        return await _rules_page(request, draft, 422, editing=code, error=error)
    warnings = await rule_warnings(program, rule, await points_rules.list_rules(program.id, include_retired=True))
    if warnings and not form.get("anyway"):
        return await _rules_page(request, draft, editing=code, warnings=warnings)
    data = msgspec.to_builtins(rule)
    try:
        if code:
            await points_rules.change_rule(program.id, code, data, staff.actor)
        else:
            await points_rules.create_rule(program.id, data, staff.actor)
    except MembershipError as exc:
        labels = {**rule_labels(), **params_labels(rule.kind)}
        key, text = error_for(exc, RULE_FIELDS, labels, program.currency)
        if key:
            draft.errors[key] = text
        return await _rules_page(request, draft, 422, editing=code, error="" if key else text)
    return forms.done("/console/loyalty/rules", "changed" if code else "added")


@post("/loyalty/rules", opt=CONFIGURE, status_code=303)
async def add_rule(request: Request) -> Any:
    """Add a rule from the form; one that would never earn is shown back with why, until saved
    anyway. It earns from the next purchase."""
    return await _save_rule(request)


@post("/loyalty/rules/{code:str}", opt=CONFIGURE, status_code=303)
async def change_rule(request: Request, code: FromPath[str]) -> Any:
    """Change a rule (its code stays; a retired one earns again); from the next purchase."""
    return await _save_rule(request, code)


@post("/loyalty/rules/{code:str}/retire", opt=CONFIGURE, status_code=303)
async def retire_rule(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Stop a rule from earning once confirmed (the ledger keeps naming it)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if not data.confirmed:
        return await _rules_page(request, status=422, error=forms.not_confirmed())
    try:
        await points_rules.retire_rule(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _rules_page(request, status=422, error=forms.error_text(exc))
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
        return await _rules_page(request, status=422, trial=data, error=i18n.gettext("Use the form 1990-05-17."))
    except MembershipError as exc:
        return await _rules_page(request, status=422, trial=data, error=forms.error_text(exc))
    return await _rules_page(request, simulation=result, trial=data)


# --- the points policy -------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    *,
    values: dict[str, Any] | None = None,
    typed: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    policy = points_policy(program.settings, program.points_expiry_days)
    fields = form_fields(
        PointsPolicy,
        values if values is not None else msgspec.structs.asdict(policy),
        policy_labels(),
        errors=errors,
        typed=typed,
    )
    context.setdefault("json_text", forms.json_text(msgspec.to_builtins(policy)))
    return forms.config_page(
        request,
        i18n.gettext("Points policy"),
        "/console/loyalty/policy",
        status,
        intro=i18n.gettext("Points earned from now on follow it; points already earned keep their dates."),
        sections=[(i18n.gettext("Pending window and expiry"), fields)],
        json_help='{"pending_days": 7, "expiry": "end_of_year", "expiry_months": 12, "warn_days": 30}',
        **context,
    )


@get("/loyalty/policy", opt=CONFIGURE)
async def policy_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Pending window, expiry and warnings."""
    program = await staff_program(current_staff(request))
    return _policy_page(request, program, notice=i18n.gettext("Settings saved.") if done == "saved" else "")


@post("/loyalty/policy", opt=CONFIGURE, status_code=303)
async def save_policy(request: Request) -> Any:
    """Save the policy from the form: points earned from now on follow it."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    labels = policy_labels()
    values, errors = read_form(PointsPolicy, form, labels)
    again = {"typed": typed_values(form, PointsPolicy.__struct_fields__), "errors": errors}
    if errors:
        return _policy_page(request, program, 422, **again, error=i18n.gettext("Please correct the marked fields."))
    try:
        policy = parse_points_policy(values)
    except MembershipError as exc:
        key, text = error_for(exc, PointsPolicy.__struct_fields__, labels)
        errors[key or "expiry"] = text
        return _policy_page(request, program, 422, **again, error=i18n.gettext("Please correct the marked fields."))
    warnings = policy_warnings(policy)
    if warnings and not form.get("anyway"):
        return _policy_page(request, program, **again, warnings=warnings)
    await update_settings(program.id, {"points_policy": msgspec.to_builtins(policy)}, staff.actor)
    return forms.done("/console/loyalty/policy", "saved")


@post("/loyalty/policy/json", opt=CONFIGURE, status_code=303)
async def save_policy_json(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the policy typed as JSON."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        policy = parse_points_policy(forms.json_object(data.text))
    except MembershipError as exc:
        return _policy_page(request, program, 422, json_text=data.text, json_error=forms.error_text(exc))
    await update_settings(program.id, {"points_policy": msgspec.to_builtins(policy)}, staff.actor)
    return forms.done("/console/loyalty/policy", "saved")


# --- top-up plans ---------------------------------------------------------------------------------


def _top_up_page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    *,
    posted_rows: Rows | None = None,
    blank: int = 1,
    **context: Any,
) -> Template:
    stored = [msgspec.structs.asdict(plan) for plan in top_up_plans(program.settings)]
    rows = row_fields(
        TopUpPlan,
        stored,
        top_up_labels(),
        name="plans",
        currency=program.currency,
        posted_rows=posted_rows,
        blank=blank,
    )
    context.setdefault("json_text", forms.json_text(msgspec.to_builtins(top_up_plans(program.settings))))
    return forms.config_page(
        request,
        i18n.gettext("Top-up plans"),
        "/console/loyalty/top-up-plans",
        status,
        intro=i18n.gettext("Pay one amount, get a bonus to spend; the bonus is spent last and never paid out."),
        rows=rows,
        rows_name="plans",
        rows_title=i18n.gettext("Plans"),
        json_help='[{"code": "100-20", "name": "充100送20", "pay": 10000, "bonus": 2000}] — amounts in fen.',
        **context,
    )


@get("/loyalty/top-up-plans", opt=CONFIGURE)
async def top_up_plans_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Top-up plans (充值送): what is paid, the bonus, on which days."""
    program = await staff_program(current_staff(request))
    return _top_up_page(request, program, notice=i18n.gettext("Settings saved.") if done == "saved" else "")


@post("/loyalty/top-up-plans", opt=CONFIGURE, status_code=303)
async def save_top_up_plans(request: Request) -> Any:
    """Save the plans from the form (checked first)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    labels = top_up_labels()
    rows = read_rows(TopUpPlan, form, labels, name="plans", currency=program.currency)
    if "more" in form:
        return _top_up_page(request, program, posted_rows=rows, blank=2)
    if not rows.ok:
        error = i18n.gettext("Please correct the marked fields.")
        return _top_up_page(request, program, 422, posted_rows=rows, error=error)
    try:
        plans = parse_top_up_plans(msgspec.to_builtins(rows.values))
    except MembershipError as exc:
        _, text = error_for(exc, (), labels, program.currency)
        return _top_up_page(request, program, 422, posted_rows=rows, error=text)
    warnings = top_up_warnings(plans, dt.datetime.now(program.zone).date())
    if warnings and not form.get("anyway"):
        return _top_up_page(request, program, posted_rows=rows, warnings=warnings)
    await update_settings(program.id, {"top_up_plans": msgspec.to_builtins(plans)}, staff.actor)
    return forms.done("/console/loyalty/top-up-plans", "saved")


@post("/loyalty/top-up-plans/json", opt=CONFIGURE, status_code=303)
async def save_top_up_plans_json(
    request: Request, data: Annotated[forms.JsonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Save the plans typed as JSON (amounts in fen)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    try:
        plans = parse_top_up_plans(forms.json_list(data.text))
    except MembershipError as exc:
        return _top_up_page(request, program, 422, json_text=data.text, json_error=forms.error_text(exc))
    await update_settings(program.id, {"top_up_plans": msgspec.to_builtins(plans)}, staff.actor)
    return forms.done("/console/loyalty/top-up-plans", "saved")


ROUTES = [
    rules_page,
    add_rule,
    change_rule,
    retire_rule,
    simulate,
    policy_page,
    save_policy,
    save_policy_json,
    top_up_plans_page,
    save_top_up_plans,
    save_top_up_plans_json,
]
