"""Console pages for segments (人群): the list with each segment's size now and the members' lifecycle
stages, a rule builder (one condition a row: field, comparison, value; amounts in yuan) whose live
count follows every change, the member list of a segment, and uploads of member or phone numbers
to a static segment. Rules nested in groups (made through the API) are shown read out and kept as
they are. Every change goes through the segments' use cases (checked, audited)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.crm import campaign_console, rules, scores, segments, tags_console
from membership.crm.reports import SegmentSizes
from membership.crm.rules import COMPARE, FIELDS
from membership.errors import MembershipError, Reason, ValidationError
from membership.org.service import ProgramConfig, list_stores
from membership.staff.roles import Permission
from membership.tiers.policy import tier_config

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
BLANK_ROWS = 2
MAX_ROWS = 20
SPLIT = re.compile(r"[,，、;；\s]+")
PLACE = re.compile(r"conditions\[(\d+)\]")
PURPOSES = [f"{purpose}_{kind}" for purpose in ("marketing", "service") for kind in ("sms", "email", "wechat", "inbox")]


@dataclasses.dataclass
class Row:
    """One condition as the form shows it: texts as typed, and its error."""

    field: str = ""
    op: str = ""
    value: str = ""
    value_to: str = ""
    days: str = ""
    choices: list[str] = dataclasses.field(default_factory=list)
    error: str = ""


def _label(spec: rules.FieldSpec) -> str:
    return spec.label_zh if i18n.current_language() == "zh_CN" else spec.label_en


def _op_label(op: str) -> str:
    return (rules.OPS_ZH if i18n.current_language() == "zh_CN" else rules.OPS_EN)[op]


async def _options(program: ProgramConfig) -> dict[str, list[tuple[str, str]]]:
    """The choices of list fields: genders, stages, tiers, stores, segments, months, scores."""
    zh = i18n.current_language() == "zh_CN"
    stores = await list_stores(program.merchant_id)
    found, _ = await segments.list_segments(program.id, 1, 200)
    stage_names = {
        "new": ("新会员", "New"),
        "active": ("活跃", "Active"),
        "dormant": ("沉睡", "Dormant"),
        "churned": ("流失", "Churned"),
    }
    gender_names = {"male": ("男", "Male"), "female": ("女", "Female"), "unknown": ("未知", "Unknown")}
    return {
        "genders": [(g, gender_names[g][0 if zh else 1]) for g in rules.GENDERS],
        "stages": [(s, stage_names[s][0 if zh else 1]) for s in rules.STAGES],
        "tiers": [(t.code, t.name) for t in tier_config(program.settings).tiers],
        "stores": [(str(s["id"]), s["name"]) for s in stores],
        "segments": [(s.code, s.name) for s in found],
        "months": [(str(m), f"{m} 月" if zh else str(m)) for m in range(1, 13)],
        "scores": [(str(n), str(n)) for n in range(1, 6)],
        "purpose": [(p, p) for p in PURPOSES],
    }


def _stage_names() -> dict[str, str]:
    return {
        "new": i18n.gettext("New"),
        "active": i18n.gettext("Active"),
        "dormant": i18n.gettext("Dormant"),
        "churned": i18n.gettext("Churned"),
    }


def _money(spec: rules.FieldSpec) -> bool:
    return spec.unit == "fen"


def _number(text: str, spec: rules.FieldSpec) -> Any:
    """A typed number: yuan (two decimals) become fen for money; else a whole number. Text that
    is no number is passed on as it is, for the rules to refuse in the staff's words."""
    text = text.strip().replace(",", "").replace("，", "")
    try:
        if _money(spec):
            return int((decimal.Decimal(text) * 100).to_integral_value(decimal.ROUND_HALF_UP))
        return int(text)
    except (decimal.InvalidOperation, ValueError):
        return text


def _whole(text: str) -> Any:
    """A whole number typed (days), or the text for the rules to refuse."""
    try:
        return int(text.strip())
    except ValueError:
        return text


def _condition(row: Row) -> dict[str, Any]:
    """The row as a condition of the rule tree (values typed as the API takes them)."""
    spec = FIELDS.get(row.field)
    if spec is None:
        return {"field": row.field, "op": row.op}
    found: dict[str, Any] = {"field": row.field, "op": row.op}
    kind = spec.value
    if row.op in ("never", "this_month", "next_month"):
        pass
    elif row.op in COMPARE:
        low, high = _number(row.value, spec), _number(row.value_to, spec)
        found["value"] = [low, high] if row.op == "between" else low
    elif kind in ("genders", "stages", "tiers", "stores", "segments"):
        found["value"] = list(row.choices)
    elif kind in ("months", "scores"):
        found["value"] = [_number(c, spec) for c in row.choices]
    elif kind == "days":
        found["value"] = _whole(row.value)
    elif kind == "purpose":
        found["value"] = row.value
    else:
        found["value"] = [part for part in SPLIT.split(row.value) if part]
    if spec.window:
        found["days"] = _whole(row.days) if row.days.strip() else None
    return found


def _row_of(condition: rules.Condition) -> Row:
    """A stored condition as the form shows it (amounts back in yuan)."""
    spec = FIELDS[condition.field]
    row = Row(condition.field, condition.op, days=str(condition.days or ""))
    value = condition.value

    def shown(number: int | None) -> str:
        if number is None:
            return ""
        return f"{decimal.Decimal(number) / 100:.2f}" if _money(spec) else str(number)

    if condition.op in COMPARE:
        low, high = value
        row.value, row.value_to = (
            (shown(low), shown(high)) if condition.op == "between" else (shown(low if low is not None else high), "")
        )
    elif spec.value in ("genders", "stages", "tiers", "stores", "segments", "months", "scores"):
        row.choices = [str(v) for v in value or ()]
    elif value is not None:
        row.value = "、".join(value) if isinstance(value, tuple) else str(value)
    return row


def _rows_from_form(form: Any) -> list[Row]:
    found = []
    for n in range(MAX_ROWS):
        field = form.get(f"field_{n}", "")
        if not field:
            continue
        found.append(
            Row(
                field,
                form.get(f"op_{n}", "") or FIELDS.get(field, rules.FIELDS["gender"]).ops[0],
                form.get(f"value_{n}", ""),
                form.get(f"value_to_{n}", ""),
                form.get(f"days_{n}", ""),
                list(form.getall(f"choices_{n}", [])),
            )
        )
    return found


def _definition(match: str, rows: list[Row]) -> dict[str, Any]:
    return {"match": match if match in ("all", "any", "none") else "all", "conditions": [_condition(r) for r in rows]}


def _place_error(error: MembershipError, rows: list[Row]) -> str:
    """The error on the row it names (``definition.conditions[1]…``), else as the form's."""
    field = str(error.params.get("field", ""))
    found = PLACE.search(field)
    if found and int(found[1]) < len(rows):
        rows[int(found[1])].error = error.detail(i18n.current_language())
        return ""
    return forms.error_text(error)


async def _form_page(
    request: Request, program: ProgramConfig, view: dict[str, Any], rows: list[Row], status: int = 200, error: str = ""
) -> Template:
    shown = rows + [Row() for _ in range(BLANK_ROWS)]
    return forms.page(
        request,
        "crm/segment_form.html",
        "segments",
        status,
        program=program,
        segment=view,
        rows=shown,
        fields=FIELDS.values(),
        specs=FIELDS,
        stage_names=_stage_names(),
        options=await _options(program),
        label=_label,
        op_label=_op_label,
        error=error,
    )


async def size_chart(program: ProgramConfig, days: int = 90) -> dict[str, Any]:
    """The segments' sizes over the last ``days`` local days (the nightly snapshots), as the
    chart draws them: the days, and per segment its size each day (None where none was taken)."""
    today = dt.datetime.now(program.zone).date()
    params = {"start": today - dt.timedelta(days=days - 1), "end": today}
    rows = (await SegmentSizes().run(program.id, params)).rows
    shown = sorted({row[0] for row in rows})
    sizes: dict[str, dict[dt.date, int]] = {}
    for day, name, members in rows:
        sizes.setdefault(name, {})[day] = members
    series = [{"name": name, "data": [by_day.get(day) for day in shown]} for name, by_day in sorted(sizes.items())]
    return {"days": [day.isoformat() for day in shown], "series": series}


async def _list_page(request: Request, program: ProgramConfig, status: int = 200, **notes: str) -> Template:
    found, total = await segments.list_segments(program.id, 1, 200)
    language = "zh" if i18n.current_language() == "zh_CN" else "en"
    return forms.page(
        request,
        "crm/segments.html",
        "segments",
        status,
        program=program,
        segments=found,
        total=total,
        language=language,
        stages=await scores.stage_counts(program.id),
        refreshed=await scores.last_refresh(program.id),
        sizes=await size_chart(program),
        **notes,
    )


@get("/segments", opt=CONFIGURE)
async def segments_page(request: Request, done: FromQuery[str] = "") -> Template:
    """Every segment with its rules read out (each size counted as the page shows it), and the
    members per lifecycle stage as of the last refresh."""
    program = await staff_program(current_staff(request))
    notices = {"saved": i18n.gettext("Segment saved."), "deleted": i18n.gettext("Segment removed.")}
    return await _list_page(request, program, notice=notices.get(done, ""))


@get("/segments/{code:str}/count", opt=CONFIGURE)
async def segment_count(request: Request, code: FromPath[str]) -> Template:
    """A segment's size now (the list asks for each as it shows)."""
    program = await staff_program(current_staff(request))
    count = await segments.count_segment(program, code)
    return Template("crm/count.html", context={"count": count, "errors": []})


@post("/segments/count", opt=CONFIGURE)
async def live_count(request: Request) -> Template:
    """The size of the rules being edited, as they stand (errors say which row is wrong)."""
    program = await staff_program(current_staff(request))
    form = await request.form()
    rows = _rows_from_form(form)
    try:
        group = rules.parse_definition(_definition(form.get("match", "all"), rows))
        await segments.check_definition(program, group, form.get("code") or None)
        count = await segments.count_definition(program, group)
    except MembershipError as exc:
        general = _place_error(exc, rows)
        messages = [general] if general else [f"{n + 1}. {r.error}" for n, r in enumerate(rows) if r.error]
        return Template("crm/count.html", context={"count": None, "errors": messages})
    return Template("crm/count.html", context={"count": count, "errors": []})


@get("/segments/row", opt=CONFIGURE)
async def rule_row(request: Request, n: FromQuery[int] = 0) -> Template:
    """One condition row for the field chosen (``field_{n}``: its comparisons and value inputs)."""
    program = await staff_program(current_staff(request))
    n = min(max(n, 0), MAX_ROWS - 1)
    field = request.query_params.get(f"field_{n}", "")
    spec = FIELDS.get(field)
    row = Row(field, spec.ops[0] if spec else "")
    context = {
        "row": row,
        "n": n,
        "fields": FIELDS.values(),
        "specs": FIELDS,
        "options": await _options(program),
        "label": _label,
        "op_label": _op_label,
    }
    return Template("crm/rule_row.html", context=context)


@get("/segments/new", opt=CONFIGURE)
async def new_segment(request: Request) -> Template:
    """An empty rule builder."""
    program = await staff_program(current_staff(request))
    view = {"code": "", "name": "", "kind": "rules", "match": "all", "new": True, "nested": False}
    return await _form_page(request, program, view, [])


@get("/segments/{code:str}", opt=CONFIGURE)
async def edit_segment(request: Request, code: FromPath[str], page: FromQuery[int] = 1) -> Template:
    """The segment's rules in the builder (or its upload form), and a page of its members."""
    program = await staff_program(current_staff(request))
    view = await segments.get_segment(program.id, code)
    group = rules.parse_definition(view.definition) if view.kind == "rules" else rules.EVERYONE
    nested = any(isinstance(item, rules.Group) for item in group.conditions)
    rows = [] if nested else [_row_of(c) for c in group.conditions if isinstance(c, rules.Condition)]
    members, total = await segments.segment_members(program, code, max(1, page), 50)
    shown = {
        "code": view.code,
        "name": view.name,
        "kind": view.kind,
        "match": group.match,
        "new": False,
        "nested": nested,
        "description": view.description_zh if i18n.current_language() == "zh_CN" else view.description_en,
        "members": members,
        "total": total,
        "page": max(1, page),
    }
    return await _form_page(request, program, shown, rows)


@post("/segments", opt=CONFIGURE)
async def save_segment(request: Request) -> Any:
    """Add or change a segment from the builder; errors stay on the form, beside their row."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    rows = _rows_from_form(form)
    new = form.get("new") == "1"
    code, name, kind = form.get("code", "").strip(), form.get("name", "").strip(), form.get("kind", "rules")
    view = {
        "code": code,
        "name": name,
        "kind": kind if kind in segments.KINDS else "rules",
        "match": form.get("match", "all"),
        "new": new,
        "nested": form.get("nested") == "1",
        "description": "",
        "members": [],
        "total": 0,
        "page": 1,
    }
    try:
        if not name:
            raise ValidationError(field="name", reason=Reason("required", "请填写人群名称"))
        if view["nested"]:  # rules with groups, made through the API: the name alone changes
            current = await segments.get_segment(program.id, code)
            await segments.change_segment(program.id, code, name, current.definition, staff.actor)
        elif new:
            if not rules.CODE.match(code):
                raise ValidationError(
                    field="code", reason=Reason("letters, digits, - _ .", "编码只能用字母、数字和 - _ .")
                )
            definition = _definition(view["match"], rows) if kind == "rules" else {}
            await segments.create_segment(program.id, code, name, kind, definition, staff.actor)
        else:
            await segments.change_segment(program.id, code, name, _definition(view["match"], rows), staff.actor)
    except MembershipError as exc:
        return await _form_page(request, program, view, rows, 422, _place_error(exc, rows))
    return forms.done("/console/segments", "saved")


@post("/segments/{code:str}/members", opt=CONFIGURE)
async def upload_members(request: Request, code: FromPath[str]) -> Template:
    """Member numbers or phone numbers, one a line, for a static segment; lines naming nobody are
    listed, the rest kept."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    lines = str(form.get("lines", "")).splitlines()
    try:
        done = await segments.upload_members(program.id, code, lines, form.get("replace") == "1", staff.actor)
    except MembershipError as exc:
        return Template("crm/upload_result.html", context={"error": forms.error_text(exc), "done": None})
    return Template("crm/upload_result.html", context={"error": "", "done": done})


@post("/segments/{code:str}/delete", opt=CONFIGURE)
async def delete_segment(request: Request, code: FromPath[str]) -> Any:
    """Remove a segment nothing uses (a tag rule or another segment that names it is said)."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    if form.get("confirm") != "yes":
        return await _list_page(request, program, 422, error=forms.not_confirmed())
    try:
        await segments.delete_segment(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _list_page(request, program, 409, error=forms.error_text(exc))
    return forms.done("/console/segments", "deleted")


ROUTES = [
    segments_page,
    live_count,
    rule_row,
    new_segment,
    segment_count,
    edit_segment,
    save_segment,
    upload_members,
    delete_segment,
    *campaign_console.ROUTES,
    *tags_console.ROUTES,
]
