"""A sale at the counter after it was taken: its page (lines, payments, coupons, points, refunds),
its receipt (printable on an 80 mm thermal printer), and voiding it or refunding chosen lines with
a reason (作废 / 退款).

A clerk voids alone within the void window the owner set; later, a manager or the owner types
their name and password on the same screen (:mod:`membership.sales.counter_rules`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import workplace
from membership.db import fetch, fetch_one
from membership.errors import (
    ApprovalRefused,
    ApprovalRequired,
    LoginFailed,
    LoginThrottled,
    MembershipError,
    SaleNotFound,
    ValidationError,
)
from membership.ledger import service as ledger
from membership.members import service as members
from membership.org.service import get_program
from membership.sales import counter_rules
from membership.sales import service as sales
from membership.sales.console import COUNTER, payment_names
from membership.sales.counter_cart import reason_of, whole_number
from membership.staff.service import StaffInfo

REASONS = ("Typed by mistake", "Customer returned the goods", "Charged twice", "Customer changed their mind")


async def _sale_of_merchant(staff: StaffInfo, sale_id: uuid.UUID) -> dict[str, Any]:
    """The sale, when it belongs to the staff member's merchant (and their store, when they are
    bound to one); else ``SaleNotFound``."""
    sale = await sales.sale_row(sale_id)
    program = await get_program(sale["program_id"])
    if program.merchant_id != staff.merchant_id or (staff.store_id and staff.store_id != sale["store_id"]):
        raise SaleNotFound(sale_id=sale_id)
    return sale


async def sale_view(sale: dict[str, Any]) -> dict[str, Any]:
    """Everything a sale's page and receipt show: the sale, its program and store, the member,
    its lines, payments, coupons, refunds, who took it, and the member's balances now."""
    sale_id = sale["id"]
    program_id = sale["program_id"]  # every table below is distributed by it on Citus: one node answers
    lines = await fetch(
        "SELECT * FROM sale_line WHERE program_id = {} AND sale_id = {} ORDER BY line_no", program_id, sale_id
    )
    payments = await fetch(
        "SELECT method, amount, points FROM sale_payment WHERE program_id = {} AND sale_id = {}", program_id, sale_id
    )
    coupons = await fetch(
        "SELECT c.code, t.name, c.discount FROM coupon c JOIN coupon_template t ON t.program_id = c.program_id AND"
        " t.id = c.template_id"
        " WHERE c.program_id = {} AND c.sale_id = {} ORDER BY c.code",
        program_id,
        sale_id,
    )
    refunds = await fetch(
        "SELECT * FROM sale_refund WHERE program_id = {} AND sale_id = {} ORDER BY created_at", program_id, sale_id
    )
    postings = await fetch(
        "SELECT kind, operator, reason, created_at FROM ledger_posting WHERE program_id = {} AND sale_id = {}"
        " ORDER BY created_at",
        program_id,
        sale_id,
    )
    store = await fetch_one("SELECT code, name FROM store WHERE id = {}", sale["store_id"])
    operator = next((p["operator"] for p in postings if p["kind"] == "purchase"), "")
    refund_notes = [p for p in postings if p["kind"] == "refund"]
    for refund, posting in zip(refunds, refund_notes, strict=False):
        refund["reason"], refund["operator"] = posting["reason"], posting["operator"]
    return {
        "sale": sale,
        "program": await get_program(sale["program_id"]),
        "store": store,
        "member": await members.get_member(sale["member_id"]),
        "lines": lines,
        "payments": payments,
        "coupons": coupons,
        "coupon_discount": int(sale["discount"]) - int(sale["member_discount"]),
        "refunds": refunds,
        "operator": operator.removeprefix("staff:"),
        "balances": await ledger.balances(sale["member_id"]),
        "payment_names": payment_names(),
    }


async def _page(
    staff: StaffInfo,
    sale: dict[str, Any],
    notice: str = "",
    error: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    approval: str = "",
    status: int = 200,
) -> Template:
    view = await sale_view(sale)
    now = dt.datetime.now(dt.UTC)
    late = counter_rules.past_void_window(staff, view["program"], sale["created_at"], now)
    limits = counter_rules.counter_limits(view["program"])
    if late and not approval:
        approval = i18n.gettext(
            "This sale is more than %(minutes)s minutes old: a manager or the owner approves the void here.",
            minutes=limits.void_minutes,
        )
    context = {
        **view,
        "staff": staff,
        "active": "counter",
        "notice": notice,
        "error": error,
        "errors": errors or {},
        "typed": typed or {},
        "approval": approval,
        "reasons": [i18n.gettext(reason) for reason in REASONS],
        "open": any(line["quantity"] > line["refunded_quantity"] for line in view["lines"]),
        "key": uuid.uuid4().hex,
    }
    return Template("counter/sale.html", context=context, status_code=status)


@get("/counter/sales/{sale_id:uuid}", opt=COUNTER, name="console-counter-sale")
async def sale_page(request: Request, sale_id: FromPath[uuid.UUID]) -> Template:
    """A sale: what was sold and paid, what it earned, its refunds; void or refund it here."""
    staff = current_staff(request)
    return await _page(staff, await _sale_of_merchant(staff, sale_id))


@get("/counter/sales/{sale_id:uuid}/receipt", opt=COUNTER)
async def receipt(request: Request, sale_id: FromPath[uuid.UUID]) -> Template:
    """The sale's receipt (小票), laid out for an 80 mm thermal printer."""
    staff = current_staff(request)
    view = await sale_view(await _sale_of_merchant(staff, sale_id))
    return Template("counter/receipt.html", context={**view, "staff": staff, "active": "counter"})


def _wanted(form: Any, lines: list[dict[str, Any]]) -> tuple[dict[int, int] | None, dict[str, str]]:
    """The quantities typed per line (None: every remaining item, a whole void) and the errors."""
    wanted: dict[int, int] = {}
    errors: dict[str, str] = {}
    for line in lines:
        remaining = line["quantity"] - line["refunded_quantity"]
        text = (form.get(f"qty-{line['line_no']}") or "0").strip() or "0"
        try:
            quantity = whole_number(text, minimum=0, maximum=remaining)
        except ValueError as exc:
            errors[f"qty-{line['line_no']}"] = str(exc)
            continue
        if quantity:
            wanted[line["line_no"]] = quantity
    if not errors and not wanted:
        errors["lines"] = i18n.gettext("Choose at least one item to refund.")
    whole = all(wanted.get(line["line_no"], 0) == line["quantity"] - line["refunded_quantity"] for line in lines)
    untouched = not any(line["refunded_quantity"] for line in lines)
    return (None if whole and untouched else wanted), errors


@post("/counter/sales/{sale_id:uuid}/void", opt=COUNTER, status_code=200)
async def void_sale(request: Request, sale_id: FromPath[uuid.UUID]) -> Template:
    """Void the sale or refund the quantities chosen, with a reason; past the clerk's window
    only with a manager's name and password typed here."""
    staff = current_staff(request)
    sale = await _sale_of_merchant(staff, sale_id)
    form = await request.form()
    typed = {key: form.get(key) for key in form}
    lines = await fetch("SELECT * FROM sale_line WHERE sale_id = {} ORDER BY line_no", sale_id)
    wanted, errors = _wanted(form, lines)
    reason = " ".join(filter(None, ((form.get("reason") or "").strip(), (form.get("note") or "").strip())))
    try:
        reason = counter_rules.void_reason(reason)
    except ValidationError as exc:
        errors["reason"] = reason_of(exc)
    if errors:
        return await _page(staff, sale, errors=errors, typed=typed)
    place = await workplace(staff, sale["store_id"])
    key = form.get("key") or ""
    try:
        approver = None
        if (form.get("approver") or "").strip():
            address = request.client.host if request.client else ""
            approver = await counter_rules.check_approver(
                form.get("approver").strip(), form.get("approver_password") or "", staff, place.store_id, address
            )
        result = await counter_rules.void(
            staff, sale_id, wanted, reason, idempotency_key=f"console:{key}" if key else None, approver=approver
        )
    except (LoginFailed, LoginThrottled, ApprovalRefused, ApprovalRequired) as refused:
        language = "zh" if i18n.current_language() == "zh_CN" else "en"
        return await _page(staff, sale, typed=typed, approval=refused.detail(language))
    except MembershipError as error:
        language = "zh" if i18n.current_language() == "zh_CN" else "en"
        return await _page(staff, sale, typed=typed, error=error.detail(language))
    currency = place.program.currency
    parts = [i18n.gettext("Refunded %(amount)s.", amount=i18n.money(result.amount, currency))]
    if result.stored_value_returned:
        parts.append(
            i18n.gettext("Stored value back: %(amount)s.", amount=i18n.money(result.stored_value_returned, currency))
        )
    if result.points_returned:
        parts.append(i18n.gettext("Points back: %(points)s.", points=i18n.number(result.points_returned)))
    if result.points_reversed:
        parts.append(i18n.gettext("Points taken back: %(points)s.", points=i18n.number(result.points_reversed)))
    if result.coupons_returned:
        parts.append(i18n.gettext("Coupons back: %(codes)s.", codes="、".join(result.coupons_returned)))
    return await _page(staff, await sales.sale_row(sale_id), notice=" ".join(parts))


ROUTES = [sale_page, receipt, void_sale]
