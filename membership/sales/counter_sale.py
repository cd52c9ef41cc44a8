"""Taking money at the counter: a sale of several lines (scanned, typed or picked from the
store's recent items) paid with stored value, points and a tender for the rest, with the tier's
prices and the member's coupons; a top-up; a paid membership.

A sale goes form → review → confirm. The review prices the cart exactly as the purchase will
(:func:`~membership.sales.service.simulate_purchase`: member and tier prices, coupons, what
stored value and points pay, the points it earns, and why) and, when the total is above a
clerk's limit, asks for a manager's name and password on the same screen. The confirmation
records the sale (:func:`~membership.sales.counter_rules.sell`) unless the total changed since
the review, and offers the receipt and a void.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import Workplace, workplace
from membership.errors import (
    ApprovalRefused,
    ApprovalRequired,
    InsufficientPoints,
    InsufficientStoredValue,
    LoginFailed,
    LoginThrottled,
    MembershipError,
    ValidationError,
)
from membership.giftcards import service as giftcards
from membership.ledger import service as ledger
from membership.ledger.top_up_plans import plan_bonus, top_up_plans
from membership.sales import counter_rules, recent
from membership.sales import service as sales
from membership.sales.amounts import amount_text, parse_amount
from membership.sales.console import COUNTER, SaleStep, TopUpStep, counter_member, member_panel
from membership.sales.counter_cart import (
    Cart,
    CartErrors,
    CartLine,
    Order,
    payments_for,
    read_cart,
    reason_of,
    refusal_fields,
)
from membership.staff.service import StaffInfo
from membership.tiers import paid


def _language() -> str:
    return "zh" if i18n.current_language() == "zh_CN" else "en"


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


async def _approver(request: Request, staff: StaffInfo, place: Workplace, form: Any) -> StaffInfo | None:
    """The manager who typed their name and password into the form, or None when nobody did;
    ``LoginFailed``, ``LoginThrottled`` or ``ApprovalRefused`` when they may not approve."""
    username = (form.get("approver") or "").strip()
    if not username:
        return None
    password = form.get("approver_password") or ""
    return await counter_rules.check_approver(username, password, staff, place.store_id, _address(request))


@get("/counter/line", opt=COUNTER)
async def cart_line(request: Request, sku: FromQuery[str] = "", scan: FromQuery[str] = "") -> Template:
    """One line for the cart: a SKU scanned, typed or picked, filled in as the program last sold
    it (name, category, price), or with the SKU alone for the clerk to complete."""
    place = await workplace(current_staff(request))
    code = (sku or scan).strip()[:64]
    item = await recent.item_for(place.program.id, code) if code else None
    line = CartLine(sku=code)
    if item is not None:
        line = CartLine(item.sku, item.name, item.category, "1", amount_text(item.unit_price, place.program.currency))
    return Template("counter/cart_line.html", context={"line": line, "no": uuid.uuid4().hex[:8], "errors": {}})


async def _priced(place: Workplace, member_id: uuid.UUID, order: Order) -> tuple[Any, list[sales.PaymentInput]]:
    """The simulation of ``order`` with the payments that settle it."""
    program = place.program

    async def simulate(payments: list[sales.PaymentInput] | None = None) -> Any:
        codes = list(order.promotion_codes)
        return await sales.simulate_purchase(
            program.id,
            place.store_id,
            member_id,
            order.lines,
            payments,
            coupons=order.coupons,
            promotion_codes=codes,
            rewards=list(order.rewards),
        )

    first = await simulate()
    payments = payments_for(order, first.total, program.point_value_minor, program.currency)
    balances = await ledger.balances(member_id)
    available = balances.stored_value + balances.stored_value_bonus
    if order.stored_value > available:
        short: MembershipError = InsufficientStoredValue(requested=order.stored_value, available=available)
        raise CartErrors(refusal_fields(short, program.currency))
    if order.points > balances.points:
        short = InsufficientPoints(requested=order.points, available=balances.points)
        raise CartErrors(refusal_fields(short, program.currency))
    return await simulate(payments), payments


async def _review(staff: StaffInfo, place: Workplace, member_id: uuid.UUID, cart: Cart, **extra: Any) -> Template:
    """The review of ``cart`` (or the form again with what is wrong beside each input)."""
    try:
        order = read_cart(cart, place.program.currency)
        simulation, payments = await _priced(place, member_id, order)
    except CartErrors as problems:
        return await member_panel(staff, place, member_id, sale=SaleStep(cart, errors=problems.errors))
    except MembershipError as error:
        errors = refusal_fields(error, place.program.currency)
        return await member_panel(staff, place, member_id, sale=SaleStep(cart, errors=errors))
    approval = ""
    if counter_rules.over_limit(staff, place.program, simulation.total):
        approval = extra.pop("approval", "") or i18n.gettext(
            "%(total)s is above the clerk's limit of %(limit)s: a manager or the owner approves it here.",
            total=i18n.money(simulation.total, place.program.currency),
            limit=i18n.money(counter_rules.counter_limits(place.program).sale_limit or 0, place.program.currency),
        )
    step = SaleStep(cart, "review", simulation=simulation, lines=order.lines, payments=payments, approval=approval)
    return await member_panel(staff, place, member_id, sale=step, **extra)


async def _cart_request(request: Request, member_id: uuid.UUID) -> tuple[StaffInfo, Workplace, Cart, Any]:
    form = await request.form()
    staff, place = await counter_member(request, member_id, form.get("store") or "")
    return staff, place, Cart.from_form(form), form


@post("/counter/members/{member_id:uuid}/sale/review", opt=COUNTER, status_code=200)
async def review_sale(request: Request, member_id: FromPath[uuid.UUID]) -> Template:
    """Price the cart and show what will be charged and earned before anything is recorded."""
    staff, place, cart, _ = await _cart_request(request, member_id)
    return await _review(staff, place, member_id, cart)


@post("/counter/members/{member_id:uuid}/sale/edit", opt=COUNTER, status_code=200)
async def edit_sale(request: Request, member_id: FromPath[uuid.UUID]) -> Template:
    """Back from the review to the form, with everything as it was typed."""
    staff, place, cart, _ = await _cart_request(request, member_id)
    return await member_panel(staff, place, member_id, sale=SaleStep(cart))


@post("/counter/members/{member_id:uuid}/sale/confirm", opt=COUNTER, status_code=200)
async def confirm_sale(request: Request, member_id: FromPath[uuid.UUID]) -> Template:
    """Record the sale reviewed (once, however often the button is pressed: a second press
    replays the first), with a manager's approval when the total is above the clerk's limit. The
    payments are those of the reviewed total; when the sale would cost anything else now (a
    price or coupon changed), the review is shown again."""
    staff, place, cart, form = await _cart_request(request, member_id)
    program = place.program
    try:
        order = read_cart(cart, program.currency)
        payments = payments_for(
            order, int(form.get("reviewed_total") or ""), program.point_value_minor, program.currency
        )
    except (CartErrors, ValueError):
        return await _review(staff, place, member_id, cart)
    try:
        approver = await _approver(request, staff, place, form)
    except (LoginFailed, LoginThrottled, ApprovalRefused) as refused:
        return await _review(staff, place, member_id, cart, approval=refused.detail(_language()))
    try:
        result = await counter_rules.sell(
            staff,
            program,
            place.store_id,
            member_id,
            order.lines,
            payments,
            coupons=order.coupons,
            promotion_codes=list(order.promotion_codes),
            rewards=list(order.rewards),
            receipt_no=order.receipt_no,
            idempotency_key=f"console:{cart.key}" if cart.key else None,
            approver=approver,
        )
    except ApprovalRequired as needed:
        return await _review(staff, place, member_id, cart, approval=needed.detail(_language()))
    except ValidationError as error:
        if error.params.get("field") != "payments":
            raise
        notice = i18n.gettext("The amount changed since the review: check it again.")
        return await _review(staff, place, member_id, cart, error=notice)
    except MembershipError as error:
        return await member_panel(
            staff, place, member_id, sale=SaleStep(cart, errors=refusal_fields(error, program.currency))
        )
    notice = i18n.gettext(
        "Received %(amount)s: %(points)s points earned.",
        amount=i18n.money(result.total, program.currency),
        points=i18n.number(result.points_earned),
    )
    cards = await giftcards.sold_by(program.id, result.id)
    done = SaleStep(
        Cart(lines=[CartLine()], key=uuid.uuid4().hex), "done", payments=payments, result=result, gift_cards=cards
    )
    return await member_panel(staff, place, member_id, notice=notice, sale=done)


@dataclasses.dataclass
class TopUpForm:
    """A top-up as typed: an amount in yuan or a plan, the tender, the form's key, and a
    manager's name and password when one approves."""

    amount: str = ""
    plan: str = ""
    tender: str = "cash"
    key: str = ""
    store: str = ""
    approver: str = ""
    approver_password: str = ""


def _top_up_step(place: Workplace, data: TopUpForm) -> TopUpStep:
    """The top-up read: ``minor`` and ``bonus`` filled, or ``errors`` by input."""
    step = TopUpStep(data.key or uuid.uuid4().hex, data.amount, data.plan, data.tender)
    program = place.program
    plan = next((p for p in top_up_plans(program.settings) if p.code == data.plan), None)
    if data.tender not in sales.TENDERS:
        step.errors["tender"] = i18n.gettext("choose one of the list")
    try:
        step.minor = plan.pay if plan and not data.amount.strip() else parse_amount(data.amount, program.currency)
        step.bonus = plan_bonus(program, plan.code, step.minor) if plan else 0
    except MembershipError as error:
        field = "plan" if error.params.get("field") == "plan" else "amount"
        if not data.amount.strip() and not plan:
            step.errors["amount"] = i18n.gettext("required")
        elif plan and field == "amount":
            step.errors["amount"] = i18n.gettext(
                "Plan %(plan)s takes exactly %(pay)s: leave the amount empty.",
                plan=plan.name,
                pay=i18n.money(plan.pay, program.currency),
            )
        else:
            step.errors[field] = reason_of(error) if isinstance(error, ValidationError) else error.detail(_language())
    return step


async def _top_up_request(
    request: Request, member_id: uuid.UUID, data: TopUpForm
) -> tuple[StaffInfo, Workplace, TopUpStep]:
    staff, place = await counter_member(request, member_id, data.store)
    step = _top_up_step(place, data)
    if not step.errors and counter_rules.over_limit(staff, place.program, step.minor):
        step.approval = i18n.gettext(
            "%(total)s is above the clerk's limit of %(limit)s: a manager or the owner approves it here.",
            total=i18n.money(step.minor, place.program.currency),
            limit=i18n.money(counter_rules.counter_limits(place.program).sale_limit or 0, place.program.currency),
        )
    return staff, place, step


@post("/counter/members/{member_id:uuid}/top-up/review", opt=COUNTER, status_code=200)
async def review_top_up(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[TopUpForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Show the top-up (amount, bonus, tender) before it is recorded."""
    staff, place, step = await _top_up_request(request, member_id, data)
    if not step.errors:
        step.step = "review"
    return await member_panel(staff, place, member_id, top_up=step, open="top-up")


@post("/counter/members/{member_id:uuid}/top-up/confirm", opt=COUNTER, status_code=200)
async def confirm_top_up(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[TopUpForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Record the top-up reviewed (once per form), approved by a manager above the clerk's limit."""
    staff, place, step = await _top_up_request(request, member_id, data)
    if step.errors:
        return await member_panel(staff, place, member_id, top_up=step, open="top-up")
    step.step = "review"
    try:
        typed = {"approver": data.approver, "approver_password": data.approver_password}
        approver = await _approver(request, staff, place, typed)
        result = await counter_rules.top_up(
            staff,
            place.program,
            place.store_id,
            member_id,
            step.minor,
            method=step.tender,
            plan=step.plan or None,
            idempotency_key=f"console:{step.key}",
            approver=approver,
        )
    except (LoginFailed, LoginThrottled, ApprovalRefused, ApprovalRequired) as refused:
        step.approval = refused.detail(_language())
        return await member_panel(staff, place, member_id, top_up=step, open="top-up")
    except MembershipError as error:
        step.step, step.errors = "form", {"amount": error.detail(_language())}
        return await member_panel(staff, place, member_id, top_up=step, open="top-up")
    currency = place.program.currency
    notice = i18n.gettext("Topped up %(amount)s.") % {"amount": i18n.money(result.amount, currency)}
    if result.bonus:
        notice += " " + i18n.gettext("Bonus %(bonus)s.") % {"bonus": i18n.money(result.bonus, currency)}
    return await member_panel(staff, place, member_id, notice=notice)


@dataclasses.dataclass
class PaidForm:
    """A paid membership sold at the counter: the plan, how it is paid, the form's key."""

    plan: str = ""
    method: str = "cash"
    key: str = ""
    store: str = ""


@post("/counter/members/{member_id:uuid}/paid-membership", opt=COUNTER, status_code=200)
async def sell_paid_membership(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[PaidForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Sell (or renew) a paid membership (付费会员): the tier applies at once."""
    staff, place = await counter_member(request, member_id, data.store)
    try:
        bought = await paid.buy(
            member_id,
            data.plan,
            data.method,
            place.store_id,
            idempotency_key=f"console:{data.key}" if data.key else None,
            actor=staff.actor,
        )
    except MembershipError as error:
        text = refusal_fields(error, place.program.currency)
        return await member_panel(staff, place, member_id, paid_error=next(iter(text.values())), open="paid")
    notice = i18n.gettext(
        "Paid membership sold: %(fee)s, until %(until)s.",
        fee=i18n.money(bought.fee, place.program.currency),
        until=i18n.when(bought.ends_at, place.program.time_zone, "short"),
    )
    return await member_panel(staff, place, member_id, notice=notice)


ROUTES = [
    cart_line,
    review_sale,
    edit_sale,
    confirm_sale,
    review_top_up,
    confirm_top_up,
    sell_paid_membership,
]
