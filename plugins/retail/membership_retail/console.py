"""The pack's console pages (零售), under ``/console/retail``: member prices, the catalogue, points
rules, receipt claims, repurchase cycles and the basket analysis. Forms post and redirect; amounts
are typed and shown in yuan. Owners and managers edit; clerks claim receipts for members; every
role may look.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from membership.plugin import (
    ConsolePage,
    MembershipError,
    ProgramConfig,
    Reason,
    ValidationError,
    fetch,
    identify,
    plugin_enabled,
    staff_program,
)
from membership_retail import basket, catalogue, earning, member_prices, receipts, repurchase
from membership_retail.settings import NAME, settings_of

HERE = Path(__file__).parent
EDIT = ("owner", "manager")
CLAIM = ("owner", "manager", "clerk")
ALL = ("owner", "manager", "clerk", "analyst")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _english(request: Request) -> bool:
    return str(getattr(request.state.staff, "language", "zh")).startswith("en")


def _error(request: Request, exc: MembershipError) -> str:
    return exc.detail("en" if _english(request) else "zh")


def _page(request: Request, template: str, program: ProgramConfig, status: int = 200, **context: Any) -> Template:
    """A pack page for the logged-in staff member (``tab`` highlights the pack's own menu)."""
    context = {
        "staff": request.state.staff,
        "active": "",
        "error": "",
        "notice": "",
        "program": program,
        "retail_on": plugin_enabled(program, NAME),
        "may_edit": request.state.staff.role in EDIT,
        "may_claim": request.state.staff.role in CLAIM,
        **context,
    }
    return Template(f"retail/{template}", context=context, status_code=status, media_type=MediaType.HTML)


def _forbidden(request: Request) -> Template:
    return Template(
        "console/forbidden.html",
        context={"staff": request.state.staff, "active": ""},
        status_code=403,
        media_type=MediaType.HTML,
    )


def parse_yuan(text: str, program: ProgramConfig, field: str = "price") -> int:
    """An amount typed in yuan (``12.5``, ``¥12.50``) as minor units (fen); exact, never rounded."""
    cleaned = text.strip().replace("¥", "").replace("￥", "").replace(",", "").replace("元", "")
    try:
        amount = Decimal(cleaned) * program.minor_per_unit
    except InvalidOperation:
        raise ValidationError(
            field=field, reason=Reason("an amount in yuan, e.g. 12.50", "请填写金额（元），如 12.50")
        ) from None
    if amount != amount.to_integral_value() or amount < 0:
        raise ValidationError(
            field=field, reason=Reason("at most two decimals, not below 0", "最多两位小数，且不能小于 0")
        )
    return int(amount)


def _whole(text: str, field: str) -> int | None:
    text = text.strip().rstrip("%").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError(field=field, reason=Reason("a whole number", "须为整数"))
    return int(text)


async def _program(request: Request) -> ProgramConfig:
    return await staff_program(request.state.staff)


# -- overview -----------------------------------------------------------------------------------


@get("/", name="retail-home")
async def home(request: Request) -> Template:
    """零售: what the pack holds for the program, and where to go."""
    program = await _program(request)
    figures = {
        "products": await catalogue.product_count(program.id),
        "prices": len(await member_prices.member_prices(program.id)),
        "rules": len(await earning.points_rules(program.id, active_only=True)),
        **await receipts.receipt_counts(program, dt.datetime.now(dt.UTC)),
        "cycles": sum(int(row["members"]) for row in await repurchase.cycles_by_category(program.id)),
    }
    return _page(request, "home.html", program, figures=figures, settings=settings_of(program), tab="home")


# -- member prices ------------------------------------------------------------------------------


async def _prices_page(request: Request, status: int = 200, error: str = "", form: dict | None = None) -> Template:
    program = await _program(request)
    return _page(
        request,
        "prices.html",
        program,
        status,
        error=error,
        notice="",
        prices=await member_prices.member_prices(program.id),
        tiers=member_prices.program_tiers(program),
        categories=await catalogue.catalogue_counts(program.id, "category"),
        form={"scope": "sku", "target": "", "tier": "", "price": "", "percent": "", **(form or {})},
        tab="prices",
    )


@get("/prices")
async def prices_page(request: Request, done: FromQuery[str] = "") -> Template:
    """会员价: the member prices by SKU and category, and a form to set one."""
    page = await _prices_page(request)
    if done:
        page.context["notice"] = "Member price saved." if _english(request) else "会员价已保存。"
    return page


@post("/prices", status_code=303)
async def add_price(request: Request) -> Any:
    """Set a member price from the form (price in yuan, or a discount percent)."""
    if request.state.staff.role not in EDIT:
        return _forbidden(request)
    program = await _program(request)
    form = {key: str(value) for key, value in (await request.form()).items() if key != "_csrf_token"}
    try:
        price = parse_yuan(form["price"], program) if form.get("price", "").strip() else None
        percent = _whole(form.get("percent", ""), "percent")
        await member_prices.set_member_price(
            program,
            form.get("scope", ""),
            form.get("target", ""),
            form.get("tier", ""),
            price,
            percent,
            f"staff:{request.state.staff.username}",
        )
    except MembershipError as exc:
        return await _prices_page(request, 422, _error(request, exc), form)
    return Redirect("/console/retail/prices?done=1", status_code=303)


@post("/prices/{price_id:uuid}/delete", status_code=303)
async def delete_price(request: Request, price_id: FromPath[uuid.UUID]) -> Any:
    """Remove a member price."""
    if request.state.staff.role not in EDIT:
        return _forbidden(request)
    program = await _program(request)
    try:
        await member_prices.remove_member_price(program.id, price_id)
    except MembershipError as exc:
        return await _prices_page(request, 404, _error(request, exc))
    return Redirect("/console/retail/prices", status_code=303)


# -- catalogue ----------------------------------------------------------------------------------


async def _catalogue_page(
    request: Request, search: str = "", status: int = 200, error: str = "", notice: str = "", errors: list | None = None
) -> Template:
    program = await _program(request)
    return _page(
        request,
        "catalogue.html",
        program,
        status,
        error=error,
        notice=notice,
        search=search,
        products=await catalogue.list_products(program.id, search.strip(), 100),
        count=await catalogue.product_count(program.id),
        categories=await catalogue.catalogue_counts(program.id, "category"),
        brands=await catalogue.catalogue_counts(program.id, "brand"),
        row_errors=errors or [],
        tab="catalogue",
    )


@get("/catalogue")
async def catalogue_page(request: Request, search: FromQuery[str] = "") -> Template:
    """商品档案: the catalogue with its categories and brands, and the import form."""
    return await _catalogue_page(request, search[:64])


@post("/catalogue", status_code=200, request_max_body_size=MAX_UPLOAD_BYTES)
async def import_catalogue(request: Request) -> Any:
    """Import a CSV or Excel file (sku, name, category, brand): rows that are fine are added or
    updated; the others are listed with their row number."""
    if request.state.staff.role not in EDIT:
        return _forbidden(request)
    program = await _program(request)
    upload = (await request.form()).get("file")
    en = _english(request)
    if upload is None or not getattr(upload, "filename", ""):
        return await _catalogue_page(request, status=422, error="Choose a file." if en else "请选择文件。")
    try:
        parsed = catalogue.parse_catalogue(upload.filename, await upload.read())
        result = await catalogue.import_products(program.id, parsed.products)
    except MembershipError as exc:
        return await _catalogue_page(request, status=422, error=_error(request, exc))
    finally:
        await upload.close()
    notice = (
        f"{result.added} products added, {result.updated} updated, {len(parsed.errors)} rows skipped."
        if en
        else f"新增 {result.added} 个商品，更新 {result.updated} 个，跳过 {len(parsed.errors)} 行。"
    )
    errors = [(e.row, e.reason.en if en else e.reason.zh) for e in parsed.errors[:100]]
    return await _catalogue_page(request, notice=notice, errors=errors)


# -- points rules -------------------------------------------------------------------------------


async def _rules_page(request: Request, status: int = 200, error: str = "", form: dict | None = None) -> Template:
    program = await _program(request)
    empty = {"name": "", "points_per_yuan": "1", "starts_on": "", "ends_on": "", **{f: "" for f in earning.LISTS}}
    return _page(
        request,
        "rules.html",
        program,
        status,
        error=error,
        rules=await earning.points_rules(program.id),
        categories=await catalogue.catalogue_counts(program.id, "category"),
        brands=await catalogue.catalogue_counts(program.id, "brand"),
        form={**empty, **(form or {})},
        tab="rules",
    )


@get("/rules")
async def rules_page(request: Request, done: FromQuery[str] = "") -> Template:
    """积分规则: extra points by brand, category and SKU, with exclusions."""
    page = await _rules_page(request)
    if done:
        page.context["notice"] = "Points rule saved." if _english(request) else "积分规则已保存。"
    return page


@post("/rules", status_code=303)
async def add_rule(request: Request) -> Any:
    """Add a points rule from the form (lists one per line or separated by commas)."""
    if request.state.staff.role not in EDIT:
        return _forbidden(request)
    program = await _program(request)
    form = {key: str(value) for key, value in (await request.form()).items() if key != "_csrf_token"}
    try:
        await earning.create_rule(
            program.id, {**form, "points_per_yuan": _whole(form.get("points_per_yuan", ""), "points_per_yuan")}
        )
    except MembershipError as exc:
        return await _rules_page(request, 422, _error(request, exc), form)
    return Redirect("/console/retail/rules?done=1", status_code=303)


@post("/rules/{rule_id:uuid}/{action:str}", status_code=303)
async def change_rule(request: Request, rule_id: FromPath[uuid.UUID], action: FromPath[str]) -> Any:
    """Switch a rule on or off, or remove it."""
    if request.state.staff.role not in EDIT:
        return _forbidden(request)
    program = await _program(request)
    try:
        if action == "delete":
            await earning.remove_rule(program.id, rule_id)
        elif action in ("on", "off"):
            await earning.set_rule_active(program.id, rule_id, action == "on")
        else:
            return Response("", status_code=404)
    except MembershipError as exc:
        return await _rules_page(request, 404, _error(request, exc))
    return Redirect("/console/retail/rules", status_code=303)


# -- receipt claims -----------------------------------------------------------------------------


async def _receipts_found(program: ProgramConfig, receipt_no: str, store_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The receipts with this number in the program (at the staff member's store when bound)."""
    rows = await fetch(
        "SELECT r.id, r.store_id, r.receipt_no, r.occurred_at, r.total, c.id AS claim_id, st.code AS store_code,"
        " st.name AS store_name FROM retail_receipt r JOIN store st ON st.id = r.store_id"
        " LEFT JOIN retail_claim c ON c.program_id = r.program_id AND c.receipt_id = r.id WHERE r.program_id = {}"
        " AND r.receipt_no = {}"
        " ORDER BY r.occurred_at DESC",
        program.id,
        receipt_no,
    )
    return [row for row in rows if store_id is None or row["store_id"] == store_id]


async def _claims_page(request: Request, status: int = 200, **context: Any) -> Template:
    program = await _program(request)
    defaults = {"error": "", "notice": "", "found": []}
    context["form"] = {"receipt_no": "", "kind": "phone", "value": "", **context.get("form", {})}
    return _page(
        request,
        "claims.html",
        program,
        status,
        **{**defaults, **context},
        claims=await receipts.recent_claims(program.id),
        counts=await receipts.receipt_counts(program, dt.datetime.now(dt.UTC)),
        claim_days=settings_of(program).claim_days,
        tab="claims",
    )


@get("/claims")
async def claims_page(request: Request) -> Template:
    """小票补录积分: find a receipt by its number and give its points to a member."""
    if request.state.staff.role not in CLAIM:
        return _forbidden(request)
    return await _claims_page(request)


@post("/claims", status_code=200)
async def claim(request: Request) -> Any:
    """Identify the member (phone or card), find the receipt and claim it; several receipts with
    that number (at several stores) are listed to choose from."""
    if request.state.staff.role not in CLAIM:
        return _forbidden(request)
    program = await _program(request)
    staff = request.state.staff
    form = {key: str(value).strip() for key, value in (await request.form()).items() if key != "_csrf_token"}
    en = _english(request)
    try:
        if not plugin_enabled(program, NAME):
            raise ValidationError(field="retail", reason=Reason("the retail pack is off", "零售行业包未开启"))
        if not form.get("receipt_no") or not form.get("value"):
            raise ValidationError(
                field="receipt_no", reason=Reason("the receipt number and the member", "请填写小票号和会员手机号/卡号")
            )
        member_id = await identify(program.id, form.get("kind", "phone"), form["value"])
        found = await _receipts_found(program, form["receipt_no"], staff.store_id)
        if form.get("store_id"):
            found = [r for r in found if str(r["store_id"]) == form["store_id"]]
        open_ones = [r for r in found if r["claim_id"] is None]
        if len(open_ones) > 1:
            return await _claims_page(request, form=form, found=open_ones)
        target = (open_ones or found or [None])[0]  # a claimed one: the claim says when it was claimed
        store_id = target["store_id"] if target else (staff.store_id or uuid.UUID(int=0))
        result = await receipts.claim_receipt(
            program, member_id, store_id, form["receipt_no"], f"staff:{staff.username}"
        )
    except MembershipError as exc:
        return await _claims_page(request, 422, error=_error(request, exc), form=form)
    amount = f"{Decimal(result.total) / program.minor_per_unit:.2f}"
    notice = (
        f"Receipt {result.receipt_no} (¥{amount}) claimed: {result.points_earned} points."
        if en
        else f"小票 {result.receipt_no}（¥{amount}）已补录，会员获得 {result.points_earned} 积分。"
    )
    return await _claims_page(request, notice=notice)


# -- repurchase ---------------------------------------------------------------------------------


@get("/repurchase")
async def repurchase_page(request: Request) -> Template:
    """复购提醒: purchase cycles per category and the latest reminders."""
    program = await _program(request)
    return _page(
        request,
        "repurchase.html",
        program,
        categories=await repurchase.cycles_by_category(program.id),
        reminders=await repurchase.recent_reminders(program.id),
        settings=settings_of(program),
        tab="repurchase",
    )


# -- basket -------------------------------------------------------------------------------------


@get("/basket")
async def basket_page(
    request: Request, days: FromQuery[str] = "", level: FromQuery[str] = "category", min_baskets: FromQuery[str] = ""
) -> Template:
    """购物篮分析: what is bought together, as a chart and a table."""
    program = await _program(request)
    error, found = "", None
    try:
        found = await basket.basket_rules(
            program,
            dt.datetime.now(dt.UTC),
            _whole(days, "days"),
            level if level in basket.LEVELS else "category",
            _whole(min_baskets, "min_baskets"),
        )
    except MembershipError as exc:
        error = _error(request, exc)
    rows = basket.as_rows(found) if found else []
    chart = {
        "rules": [f"{row['antecedent']} → {row['consequent']}" for row in rows[:15]][::-1],
        "lift": [row["lift"] for row in rows[:15]][::-1],
        "confidence": [row["confidence_pct"] for row in rows[:15]][::-1],
        "labels": {
            "lift": "Lift" if _english(request) else "提升度",
            "confidence": "Confidence %" if _english(request) else "置信度 %",
        },
    }
    return _page(
        request,
        "basket.html",
        program,
        error=error,
        basket=found,
        rows=rows,
        chart=chart,
        level=level if level in basket.LEVELS else "category",
        levels=basket.LEVELS,
        days=found.days if found else days,
        min_baskets=min_baskets,
        tab="basket",
    )


@get("/basket.js", media_type="application/javascript")
async def basket_script() -> Response:
    """The basket chart's script (a file of the pack: the console's policy runs no inline script)."""
    return Response((HERE / "static" / "basket.js").read_text(encoding="utf-8"), media_type="application/javascript")


ROUTER = Router(
    "/retail",
    route_handlers=[
        home,
        prices_page,
        add_price,
        delete_price,
        catalogue_page,
        import_catalogue,
        rules_page,
        add_rule,
        change_rule,
        claims_page,
        claim,
        repurchase_page,
        basket_page,
        basket_script,
    ],
)

PAGE = ConsolePage("/retail", "零售", "Retail", ROUTER, roles=ALL, namespace="retail", templates=HERE / "templates")
