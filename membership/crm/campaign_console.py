"""Console pages for campaigns (营销活动): the list (state, next run, last results), a form that
builds a campaign's terms without JSON (a time in the program's zone for 定时发送, daily / weekly /
monthly at a time for recurring ones with raw cron under "advanced", an event with its days, the
audience, message template, channels, coupon and points picked from lists), run now (confirmed in
two steps), and the results against the control group with a chart. Every change goes through
:mod:`membership.crm.campaigns` (checked, audited), as the API's do."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import msgspec
from cronsim import CronSim, CronSimError
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.coupons import service as coupons
from membership.crm import campaigns, rules, segments
from membership.errors import MembershipError, Reason, ValidationError
from membership.notifications import config as channel_config
from membership.notifications import templates as message_templates
from membership.org.service import ProgramConfig
from membership.plugins import hooks
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PAGE_SIZE = 20
EVENTS = {
    "birthday": ("生日（提前天数）", "Birthday (days before)"),
    "dormant": ("沉睡满天数", "Dormant for days"),
    "first_purchase": ("首次消费（近几天内）", "First purchase (within days)"),
    "tier_up": ("升级（近几天内）", "Tier up (within days)"),
    "tier_down": ("降级（近几天内）", "Tier down (within days)"),
    "points_expiring": ("积分即将过期（提前天数）", "Points expiring (days ahead)"),
    "coupon_expiring": ("优惠券即将过期（提前天数）", "Coupon expiring (days ahead)"),
    "paid_expiring": ("付费会员即将到期（提前天数）", "Paid membership ending (days ahead)"),
}
WEEKDAYS = [("1", "周一", "Monday"), ("2", "周二", "Tuesday"), ("3", "周三", "Wednesday"), ("4", "周四", "Thursday")]
WEEKDAYS += [("5", "周五", "Friday"), ("6", "周六", "Saturday"), ("0", "周日", "Sunday")]
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FRIENDLY = re.compile(r"^(\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|[0-6])$")
#: Where each field the terms name is shown on the form, and what staff call it.
FIELDS = {
    "name": ("name", "活动名称", "name"),
    "code": ("code", "编码", "code"),
    "segment": ("segment", "目标人群", "audience"),
    "when.at": ("at", "发送时间", "send time"),
    "when.cron": ("repeat", "重复时间", "repeat"),
    "when.event": ("event", "触发事件", "event"),
    "when.days": ("days", "天数", "days"),
    "template": ("template", "消息模板", "message template"),
    "channels": ("channels", "发送渠道", "channels"),
    "coupon": ("coupon", "赠送优惠券", "coupon"),
    "points": ("points", "赠送积分", "points"),
    "control_pct": ("control_pct", "对照组比例", "control group"),
    "conversion_days": ("conversion_days", "转化窗口", "conversion window"),
    "link": ("link", "活动链接", "link"),
}


def _zh() -> bool:
    return i18n.current_language() == "zh_CN"


@dataclasses.dataclass
class CampaignForm:
    """The form as typed (texts), with the error beside the field it names."""

    code: str = ""
    name: str = ""
    segment: str = ""
    kind: str = "once"
    at: str = ""
    repeat: str = "daily"
    repeat_time: str = "10:00"
    weekday: str = "1"
    month_day: str = "1"
    cron: str = ""
    event: str = "birthday"
    days: str = "0"
    template: str = ""
    channels: list[str] = dataclasses.field(default_factory=list)
    coupon: str = ""
    points: str = ""
    control_pct: str = "0"
    conversion_days: str = "14"
    link: str = ""
    active: bool = True
    new: bool = True
    errors: dict[str, str] = dataclasses.field(default_factory=dict)


def _refuse(field: str, en: str, zh: str) -> ValidationError:
    return ValidationError(field=field, reason=Reason(en, zh))


def _whole(text: str, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _refuse(field, "a whole number", "请填写整数") from None


def cron_of(form: CampaignForm) -> str:
    """The five cron fields of a recurring campaign: daily, weekly or monthly at a local time, or
    the raw text typed under "advanced"."""
    if form.repeat == "cron":
        return form.cron.strip()
    found = TIME.match(form.repeat_time.strip())
    if not found:
        raise _refuse("when.cron", "a time as HH:MM, e.g. 10:00", "请按 时:分 填写时间，如 10:00")
    hour, minute = int(found[1]), int(found[2])
    if form.repeat == "weekly":
        return f"{minute} {hour} * * {_whole(form.weekday, 'when.cron') % 7}"
    if form.repeat == "monthly":
        day = _whole(form.month_day, "when.cron")
        if not 1 <= day <= 28:
            raise _refuse("when.cron", "a day of the month from 1 to 28", "每月几号须在 1 到 28 之间")
        return f"{minute} {hour} {day} * *"
    return f"{minute} {hour} * * *"


def _at(form: CampaignForm, program: ProgramConfig) -> str | None:
    """The local date-time typed (the program's zone) as ISO with its offset."""
    if not form.at.strip():
        return None
    try:
        local = dt.datetime.fromisoformat(form.at.strip())
    except ValueError:
        raise _refuse("when.at", "a date and time", "请选择日期和时间") from None
    return local.replace(tzinfo=program.zone).isoformat()


def terms_of_form(
    form: CampaignForm, program: ProgramConfig, kept: dict[str, Any] | None = None
) -> campaigns.CampaignTerms:
    """The campaign's terms from the form (points and percentages as whole numbers) over ``kept``
    (the stored terms: what the form does not show stays as it was); checked by
    :func:`membership.crm.campaigns.parse_terms`."""
    when: dict[str, Any] = {"kind": form.kind if form.kind in ("once", "recurring", "trigger") else "once"}
    if when["kind"] == "once":
        when["at"] = _at(form, program)
    elif when["kind"] == "recurring":
        when["cron"] = cron_of(form)
    else:
        when["event"] = form.event or None
        when["days"] = _whole(form.days or "0", "when.days")
    raw = {
        "name": form.name.strip(),
        "segment": form.segment or None,
        "when": when,
        "template": form.template or None,
        "channels": list(form.channels) if form.template else [],
        "coupon": form.coupon or None,
        "points": _whole(form.points, "points") if form.points.strip() else None,
        "control_pct": _whole(form.control_pct or "0", "control_pct"),
        "conversion_days": _whole(form.conversion_days or "14", "conversion_days"),
        "link": form.link.strip(),
        "active": form.active,
    }
    if not raw["name"]:
        raise _refuse("name", "required", "请填写活动名称")
    return campaigns.parse_terms({**(kept or {}), **raw})


def form_of(row: dict[str, Any], program: ProgramConfig) -> CampaignForm:
    """A stored campaign as the form shows it (a cron the friendly choices can say is said so)."""
    terms = campaigns.terms_of(row)
    when = terms.when
    form = CampaignForm(
        code=row["code"],
        name=terms.name,
        segment=terms.segment or "",
        kind=when.kind,
        event=when.event or "birthday",
        days=str(when.days),
        template=terms.template or "",
        channels=list(terms.channels),
        coupon=terms.coupon or "",
        points=str(terms.points or ""),
        control_pct=str(terms.control_pct),
        conversion_days=str(terms.conversion_days),
        link=terms.link,
        active=bool(row["active"]),
        new=False,
    )
    if when.at is not None:
        form.at = when.at.astimezone(program.zone).strftime("%Y-%m-%dT%H:%M")
    if when.cron:
        form.cron = when.cron
        found = FRIENDLY.match(when.cron.strip())
        if found is None:
            form.repeat = "cron"
        else:
            minute, hour, day, weekday = found.groups()
            form.repeat_time = f"{int(hour):02d}:{int(minute):02d}"
            if day != "*" and weekday == "*":
                form.repeat, form.month_day = "monthly", day
            elif weekday != "*" and day == "*":
                form.repeat, form.weekday = "weekly", weekday
            elif day == "*":
                form.repeat = "daily"
            else:
                form.repeat = "cron"
    return form


def _read_form(posted: Any) -> CampaignForm:
    def text(name: str, default: str = "") -> str:
        return str(posted.get(name, default) or default)

    return CampaignForm(
        code=text("code").strip(),
        name=text("name"),
        segment=text("segment"),
        kind=text("kind", "once"),
        at=text("at"),
        repeat=text("repeat", "daily"),
        repeat_time=text("repeat_time", "10:00"),
        weekday=text("weekday", "1"),
        month_day=text("month_day", "1"),
        cron=text("cron"),
        event=text("event"),
        days=text("days", "0"),
        template=text("template"),
        channels=[str(c) for c in posted.getall("channels", [])],
        coupon=text("coupon"),
        points=text("points"),
        control_pct=text("control_pct", "0"),
        conversion_days=text("conversion_days", "14"),
        link=text("link"),
        active=posted.get("active") == "1",
        new=posted.get("new") == "1",
    )


def place_error(error: MembershipError, form: CampaignForm) -> str:
    """Put ``error`` beside the field it names (called by its name, never its key); what names no
    field of the form is the form's error."""
    field = str(error.params.get("field", ""))
    key = next((k for k in FIELDS if field == k or field.startswith(f"{k}[") or field.startswith(f"{k}.")), "")
    if field.startswith("when") and not key:
        key = {"once": "when.at", "recurring": "when.cron"}.get(form.kind, "when.event")
    if not key:
        return forms.error_text(error)
    target, zh, en = FIELDS[key]
    named = type(error).__new__(type(error))
    named.params = {**error.params, "field": zh if _zh() else en}
    form.errors[target] = named.detail("zh" if _zh() else "en")
    return ""


async def _choices(program: ProgramConfig) -> dict[str, list[tuple[str, str]]]:
    """What the form's lists offer: segments, message templates, channels set up, coupons."""
    found, _ = await segments.list_segments(program.id, 1, 200)
    shown_templates, _ = await message_templates.list_templates(program.id, 1, 200)
    coupon_templates, _ = await coupons.list_templates(program.id, page=1, page_size=200)
    channels = await channel_config.configured_channels(program.id)
    zh = _zh()
    return {
        "segments": [(s.code, s.name) for s in found],
        "templates": [(t["code"], t["name"]) for t in shown_templates],
        "channels": [(c.channel, c.channel) for c in channels if c.enabled],
        "coupons": [(c["code"], c["name"]) for c in coupon_templates],
        "events": [(code, names[0] if zh else names[1]) for code, names in EVENTS.items()],
        "weekdays": [(code, zh_name if zh else en_name) for code, zh_name, en_name in WEEKDAYS],
    }


def next_run(program: ProgramConfig, row: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    """When the campaign next sends: a ``once`` campaign's time (none once it ran), a recurring
    one's next cron slot (the program's zone); None for triggered or switched-off ones (they are
    looked at every ten minutes)."""
    if not row["active"]:
        return None
    when = campaigns.terms_of(row).when
    if when.kind == "once":
        return when.at if row["last_run_at"] is None else None
    if when.kind == "recurring" and when.cron:
        try:
            return next(CronSim(when.cron, now.astimezone(program.zone)))
        except (CronSimError, StopIteration):
            return None
    return None


def channel_names() -> dict[str, str]:
    """What staff call each registered channel (its own label, in the page's language)."""
    return {name: cls.label_zh if _zh() else cls.label_en for name, cls in hooks().channels().items()}


async def _form_page(
    request: Request, program: ProgramConfig, form: CampaignForm, status: int = 200, error: str = ""
) -> Template:
    return forms.page(
        request,
        "crm/campaign_form.html",
        "segments",
        status,
        program=program,
        form=form,
        choices=await _choices(program),
        channel_names=channel_names(),
        error=error,
    )


@get("/campaigns", opt=CONFIGURE)
async def campaigns_page(request: Request, page: FromQuery[int] = 1, done: FromQuery[str] = "") -> Template:
    """The program's campaigns by code, a page at a time: on or off, when each sends next, when
    it last ran, and its members served and converted so far."""
    program = await staff_program(current_staff(request))
    page = max(1, page)
    rows, total = await campaigns.list_campaigns(program.id, page, PAGE_SIZE)
    now = dt.datetime.now(dt.UTC)
    listed = []
    for row in rows:
        terms = campaigns.terms_of(row)
        found = await campaigns.results(program.id, row["code"])
        listed.append(
            {
                "code": row["code"],
                "name": terms.name,
                "kind": terms.when.kind,
                "event": EVENTS.get(terms.when.event or "", ("", ""))[0 if _zh() else 1],
                "active": bool(row["active"]),
                "next_run": next_run(program, row, now),
                "last_run_at": row["last_run_at"],
                "target": found["groups"]["target"],
                "sent": found["messages"].get("sent", 0),
            }
        )
    notices = {
        "saved": i18n.gettext("Campaign saved."),
        "ran": i18n.gettext(
            "Campaign run: %(targets)s members served, %(controls)s held back.",
            targets=request.query_params.get("targets", "0"),
            controls=request.query_params.get("controls", "0"),
        ),
    }
    return forms.page(
        request,
        "crm/campaigns.html",
        "segments",
        program=program,
        campaigns=listed,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        notice=notices.get(done, ""),
    )


@get("/campaigns/new", opt=CONFIGURE)
async def new_campaign(request: Request) -> Template:
    """An empty campaign form (one-off, tomorrow at ten in the program's zone)."""
    program = await staff_program(current_staff(request))
    tomorrow = dt.datetime.now(program.zone).date() + dt.timedelta(days=1)
    return await _form_page(request, program, CampaignForm(at=f"{tomorrow}T10:00"))


@get("/campaigns/{code:str}", opt=CONFIGURE)
async def edit_campaign(request: Request, code: FromPath[str]) -> Template:
    """A campaign's form with its terms as stored."""
    program = await staff_program(current_staff(request))
    return await _form_page(request, program, form_of(await campaigns.campaign_row(program.id, code), program))


@post("/campaigns", opt=CONFIGURE)
async def save_campaign(request: Request) -> Any:
    """Add or change a campaign from the form; errors stay on the form beside their field."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = _read_form(await request.form())
    try:
        if form.new and not rules.CODE.match(form.code):
            raise _refuse("code", "letters, digits, - _ .", "编码只能用字母、数字和 - _ .")
        kept = (
            None
            if form.new
            else msgspec.to_builtins(campaigns.terms_of(await campaigns.campaign_row(program.id, form.code)))
        )
        terms = terms_of_form(form, program, kept)
        await campaigns.save_campaign(program.id, form.code, terms, staff.actor, new=form.new)
    except MembershipError as exc:
        return await _form_page(request, program, form, 422, place_error(exc, form))
    return forms.done("/console/campaigns", "saved")


@post("/campaigns/{code:str}/run", opt=CONFIGURE)
async def run_campaign(request: Request, code: FromPath[str]) -> Any:
    """Serve the campaign's due members now (confirmed in two steps); members already served for
    their occasion are not served again."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    row = await campaigns.campaign_row(program.id, code)
    if form.get("confirm") != "yes":
        return await _results_page(request, program, row, 422, error=forms.not_confirmed())
    targets, controls = await campaigns.run_campaign(program, row, dt.datetime.now(dt.UTC))
    return forms.done_with("/console/campaigns", "ran", targets=targets, controls=controls)


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


async def _results_page(
    request: Request, program: ProgramConfig, row: dict[str, Any], status: int = 200, error: str = ""
) -> Template:
    found = await campaigns.results(program.id, row["code"])
    target, control = found["groups"]["target"], found["groups"]["control"]
    messages = found["messages"]
    engagement = {key: found.get(key, messages.get(key)) for key in ("opened", "clicked")}
    figures = {
        "queued": sum(v for k, v in messages.items() if k not in ("opened", "clicked")),
        "delivered": messages.get("sent", 0),
        "failed": messages.get("failed", 0),
        "suppressed": messages.get("suppressed", 0),
        "waiting": messages.get("pending", 0) + messages.get("sending", 0),
        **engagement,
    }
    rates = {
        "target": _rate(target["converted"], target["members"]),
        "control": _rate(control["converted"], control["members"]),
    }
    per_member = {
        group: (values["revenue"] // values["members"] if values["members"] else 0)
        for group, values in found["groups"].items()
    }
    chart = {
        "groups": [i18n.gettext("Target group"), i18n.gettext("Control group")],
        "labels": {"rate": i18n.gettext("Conversion rate (%)"), "revenue": i18n.gettext("Revenue per member")},
        "rates": [rates["target"], rates["control"]],
        "revenue": [per_member["target"], per_member["control"]],
        "scale": 100,
    }
    return forms.page(
        request,
        "crm/campaign_results.html",
        "segments",
        status,
        program=program,
        code=row["code"],
        name=campaigns.terms_of(row).name,
        control_pct=campaigns.terms_of(row).control_pct,
        target=target,
        control=control,
        rates=rates,
        per_member=per_member,
        figures=figures,
        chart=chart,
        lift=round(rates["target"] - rates["control"], 1),
        error=error,
    )


@get("/campaigns/{code:str}/results", opt=CONFIGURE)
async def campaign_results(request: Request, code: FromPath[str]) -> Template:
    """Messages sent, delivered, failed (opened and clicked where the channel reports them),
    members converted and revenue, target group against control group, with a chart."""
    program = await staff_program(current_staff(request))
    return await _results_page(request, program, await campaigns.campaign_row(program.id, code))


ROUTES = [campaigns_page, new_campaign, edit_campaign, save_campaign, run_campaign, campaign_results]
