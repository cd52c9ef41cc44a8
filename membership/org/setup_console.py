"""The first-run wizard (首次设置向导) at ``/console/setup?token=…``: from an empty database to a
working console without the command line.

Four steps — the business, the stores, the main loyalty choices, the owner's account — each
checked when the owner moves on, with errors beside their fields and everything typed kept
(the steps done so far travel as hidden fields, never the password). Finishing creates it all in
one transaction (:func:`membership.org.first_run.finish_setup`), spends the link, logs the
owner in and opens the dashboard. The pages are public but answer only to an open setup link,
and only while no merchant exists; afterwards ``GET`` goes to the login page and ``POST`` is 404.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.enums import MediaType
from litestar.params import FromQuery
from litestar.response import Redirect, Response, Template

from membership.console import i18n
from membership.console.auth import SESSION_COOKIE
from membership.errors import MembershipError
from membership.org import first_run, settings_form
from membership.org.console import zones
from membership.org.first_run import SetupPlan, StoreRow
from membership.org.settings import ProgramSettings
from membership.org.setup_token import SetupDone, SetupLinkInvalid, check_setup_token, setup_needed
from membership.staff import service as staff_service

PUBLIC = {"public": True}
STEPS = 4
BUSINESS = ("merchant", "program", "currency", "time_zone")
LOYALTY = (*settings_form.WIZARD_FIELDS, "point_value_other")
OWNER = ("username", "display_name")
SINGLE = (*BUSINESS, *LOYALTY, *OWNER)
STORE_COLUMNS = ("store_code", "store_name", "store_city")
LOYALTY_CHOICES = {"points_policy.expiry": settings_form.SIMPLE_EXPIRY}
_NO_TOKEN = "\x00"  # never a token: the check refuses it as unknown


def _defaults() -> dict[str, str]:
    loyalty = settings_form.form_values(ProgramSettings(name="-"))
    return {
        "merchant": "",
        "program": "",
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
        **{name: loyalty[name] for name in LOYALTY},
        "username": "",
        "display_name": "",
    }


@dataclasses.dataclass
class Wizard:
    """The wizard's state as posted: the step shown, the values typed so far, the store rows."""

    token: str
    step: int
    values: dict[str, str]
    stores: list[StoreRow]
    password: str = ""
    password_again: str = ""

    @classmethod
    def from_form(cls, form: dict[str, list[str]]) -> Wizard:
        """The state a wizard page posted (defaults for what no page has posted yet)."""

        def last(name: str, default: str = "") -> str:
            return form[name][-1] if form.get(name) else default

        values = _defaults()
        for name in SINGLE:
            if name in form:
                values[name] = last(name)
        if "stored_value_earns" in form:
            values["stored_value_earns"] = "true" if "true" in form["stored_value_earns"] else "false"
        columns = [form.get(column, []) for column in STORE_COLUMNS]
        stores = [StoreRow(*row) for row in itertools.zip_longest(*columns, fillvalue="")]
        step = last("step", "1")
        return cls(
            token=last("token", _NO_TOKEN),
            step=min(max(int(step), 1), STEPS) if step.isdigit() else 1,
            values=values,
            stores=stores,
            password=last("password"),
            password_again=last("password_again"),
        )

    def hidden(self) -> list[tuple[str, str]]:
        """The other steps' values, carried as hidden fields (the password never is)."""
        shown = {1: BUSINESS, 2: (), 3: LOYALTY, 4: OWNER}[self.step]
        fields = [(name, self.values[name]) for name in SINGLE if name not in shown]
        if self.step != 2:
            fields += [
                (column, getattr(row, column.removeprefix("store_"))) for row in self.stores for column in STORE_COLUMNS
            ]
        return fields

    def plan(self, language: str) -> SetupPlan:
        """What finishing creates."""
        changes = settings_form.parse_form(self._loyalty_form(), self.defaults_for_program(), language, LOYALTY)
        return SetupPlan(
            merchant=self.values["merchant"].strip(),
            program=self.values["program"].strip(),
            currency=self.values["currency"].strip().upper(),
            time_zone=self.values["time_zone"].strip(),
            stores=self.stores,
            settings=changes,
            username=self.values["username"].strip(),
            password=self.password,
            display_name=self.values["display_name"].strip(),
            language=language,
        )

    def _loyalty_form(self) -> dict[str, list[str]]:
        return {name: [self.values[name]] for name in LOYALTY}

    def defaults_for_program(self) -> ProgramSettings:
        """The settings the new program starts from (the defaults, in the chosen currency)."""
        currency = self.values["currency"].strip().upper()
        return ProgramSettings(name="-", currency=currency or "CNY")

    def errors_of(self, step: int, language: str) -> dict[str, str]:
        """The errors of ``step`` as typed now, by field, in ``language``."""
        if step == 1:
            found = first_run.check_business(*(self.values[name] for name in BUSINESS))
        elif step == 2:
            found = first_run.check_stores(self.stores)
        elif step == 3:
            try:
                settings_form.parse_form(self._loyalty_form(), self.defaults_for_program(), language, LOYALTY)
            except settings_form.FormErrors as exc:
                return exc.errors
            return {}
        else:
            found = first_run.check_owner(
                self.values["username"], self.password, self.password_again, self.values["display_name"]
            )
        return {field: settings_form.reason_text(error, language) for field, error in found.items()}


def _next_code(stores: list[StoreRow]) -> str:
    taken = {row.code.strip() for row in stores}
    return next(code for n in itertools.count(len(stores) + 1) if (code := f"S{n:02d}") not in taken)


def _fill_defaults(wizard: Wizard, language: str) -> None:
    """Sensible defaults once the business has a name: the program after it, a first store."""
    merchant = wizard.values["merchant"].strip()
    zh = settings_form.is_zh(language)
    if merchant and not wizard.values["program"].strip():
        wizard.values["program"] = f"{merchant}会员" if zh else f"{merchant} Members"
    if not wizard.stores and wizard.step == 2:
        wizard.stores = [StoreRow("S01", f"{merchant}总店" if zh else f"{merchant}", "")]


def _page(wizard: Wizard, language: str, errors: dict[str, str] | None = None, status: int = 200) -> Template:
    """The wizard's page for its step."""
    errors = errors or {}
    views = settings_form.field_views(
        LOYALTY[:-1],
        wizard.values,
        errors,
        language,
        currency=wizard.values["currency"].strip().upper() or "CNY",
        choices=LOYALTY_CHOICES,
    )
    context = {
        "staff": None,
        "active": "",
        "wizard": wizard,
        "steps": _step_names(),
        "errors": errors,
        "loyalty": views,
        "currencies": settings_form.currency_choices(wizard.values["currency"], language),
        "zones": settings_form.zone_choices(zones(), wizard.values["time_zone"]),
        "language": language,
        "summary": _summary(wizard, language) if wizard.step == STEPS else [],
    }
    return Template("org/setup.html", context=context, status_code=status, media_type=MediaType.HTML)


def _step_names() -> list[str]:
    return [
        i18n.gettext("Your business"),
        i18n.gettext("Stores"),
        i18n.gettext("Points"),
        i18n.gettext("Owner's account"),
    ]


def _summary(wizard: Wizard, language: str) -> list[tuple[str, str]]:
    """What finishing will create, for a last look on the owner's step."""
    zh = settings_form.is_zh(language)
    values = wizard.values
    stores = [f"{row.code.strip()} {row.name.strip()}" for row in wizard.stores if not row.blank]
    try:
        changes = wizard.plan(language).settings
    except settings_form.FormErrors:
        changes = {}
    currency = values["currency"].strip().upper() or "CNY"
    defaults = msgspec.to_builtins(wizard.defaults_for_program())
    points = [
        settings_form.describe(key, changes.get(key, defaults[key]), currency, language)
        for key in ("point_value_minor", "points_policy")
    ]
    return [
        (i18n.gettext("Business"), values["merchant"]),
        (i18n.gettext("Program"), f"{values['program']} · {currency} · {values['time_zone']}"),
        (i18n.gettext("Stores"), ("、" if zh else ", ").join(stores)),
        (i18n.gettext("Points"), ("；" if zh else "; ").join(points)),
    ]


def _closed(error: MembershipError, language: str) -> Template:
    """The page for a link that cannot be used (unknown, expired, used)."""
    context = {"staff": None, "active": "", "text": error.detail(language)}
    return Template("org/setup_closed.html", context=context, status_code=error.status, media_type=MediaType.HTML)


@get("/setup", opt=PUBLIC, name="console-setup")
async def setup_page(request: Request, token: FromQuery[str] = "") -> Any:
    """Step 1 of the wizard, for an open setup link; the login page once the business is set up."""
    language = i18n.current_language()
    if not await setup_needed():
        return Redirect("/console/login")
    try:
        await check_setup_token(token or _NO_TOKEN)
    except SetupLinkInvalid as exc:
        return _closed(exc, language)
    return _page(Wizard(token, 1, _defaults(), []), language)


def _posted(form: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


@post("/setup", opt=PUBLIC, status_code=200)
async def setup_step(request: Request) -> Any:
    """Move through the wizard (``go``: next, back, add_store, remove_store.N, lang.CODE,
    finish); ``finish`` sets the business up, logs the owner in and opens the dashboard."""
    form = _posted(await request.form())
    language = _language(form)
    if not await setup_needed():
        raise SetupDone()
    wizard = Wizard.from_form(form)
    try:
        await check_setup_token(wizard.token)
    except SetupLinkInvalid as exc:
        return _closed(exc, language)
    go = (form.get("go") or ["next"])[-1]
    if go.startswith("lang."):
        return _page(wizard, language)
    if go == "back":
        wizard.step = max(1, wizard.step - 1)
        return _page(wizard, language)
    if go == "add_store":
        wizard.stores.append(StoreRow(_next_code(wizard.stores)))
        return _page(wizard, language)
    if go.startswith("remove_store.") and go.removeprefix("remove_store.").isdigit():
        index = int(go.removeprefix("remove_store."))
        if len(wizard.stores) > 1 and index < len(wizard.stores):
            del wizard.stores[index]
        return _page(wizard, language)
    if go == "finish":
        return await _finish(request, wizard, language)
    _fill_defaults(wizard, language)
    errors = wizard.errors_of(wizard.step, language)
    if errors:
        return _page(wizard, language, errors, 422)
    wizard.step = min(STEPS, wizard.step + 1)
    _fill_defaults(wizard, language)
    return _page(wizard, language)


def _language(form: dict[str, list[str]]) -> str:
    """The wizard's language: the switch just pressed, else the one the pages were in."""
    go = (form.get("go") or [""])[-1]
    chosen = go.removeprefix("lang.") if go.startswith("lang.") else (form.get("lang") or [""])[-1]
    if chosen in i18n.LANGUAGES:
        i18n.use_language(chosen)
    return i18n.current_language()


async def _finish(request: Request, wizard: Wizard, language: str) -> Any:
    for step in range(1, STEPS + 1):
        errors = wizard.errors_of(step, language)
        if errors:
            wizard.step = step
            return _page(wizard, language, errors, 422)
    try:
        await first_run.finish_setup(wizard.plan(language), wizard.token)
    except (SetupLinkInvalid, SetupDone) as exc:
        return _closed(exc, language)
    except MembershipError as exc:
        wizard.step, field = _step_of(exc)
        return _page(wizard, language, {field: settings_form.reason_text(exc, language)}, 422)
    return await _logged_in(request, wizard)


def _step_of(error: MembershipError) -> tuple[int, str]:
    """The step and field a refusal at the end belongs to (the owner's step when none)."""
    field = str(error.params.get("field", ""))
    if field in BUSINESS or field == "name":
        return 1, "merchant" if field == "name" else field
    if field.startswith(("code", "store")):
        return 2, "stores"
    if field.partition(".")[0] in settings_form.FIELDS or field in ("points_policy", "tier_policy"):
        return 3, next((name for name in LOYALTY if name.startswith(field)), "point_value_minor")
    return 4, field if field in (*OWNER, "password") else "form"


async def _logged_in(request: Request, wizard: Wizard) -> Response:
    """Log the new owner in (as the login page does) and open the dashboard."""
    address = request.client.host if request.client else ""
    try:
        _, token = await staff_service.log_in(wizard.values["username"].strip(), wizard.password, address)
    except MembershipError:
        return Redirect("/console/login?next=/console/dashboard", status_code=303)
    response = Redirect("/console/dashboard", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(staff_service.SESSION_LIFETIME.total_seconds()),
        path="/console",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


ROUTES = [setup_page, setup_step]
