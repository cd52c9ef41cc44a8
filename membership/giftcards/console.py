"""Console page for gift cards (礼品卡): a card's balance looked up by its code (typed or
scanned, posted so the code stays out of addresses and logs), what the cards hold together, the
cards sold (codes masked, by status, 50 a page), and the gift-card products (SKU, name, face value
in yuan) added or changed in a form with errors beside their field. Clerks look balances up;
changing products needs the program's configuration permission. Cards are sold at the counter as
ordinary lines and spent there as a payment."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.errors import MembershipError
from membership.giftcards import service
from membership.org.service import ProgramConfig
from membership.sales.amounts import amount_text, parse_amount
from membership.staff.roles import Permission

COUNTER = {"permission": Permission.USE_COUNTER}
CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PAGE = "/console/gift-cards"
PAGE_SIZE = 50


def status_names() -> dict[str, str]:
    """The cards' statuses in the page's language."""
    return {
        "unused": i18n.gettext("Unused"),
        "in_use": i18n.gettext("Partly spent"),
        "spent": i18n.gettext("Spent"),
        "void": i18n.gettext("Void"),
    }


async def _page(
    request: Request,
    program: ProgramConfig,
    status: int = 200,
    *,
    filter_status: str = "",
    page: int = 1,
    product: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    filter_status = filter_status if filter_status in service.STATES else ""
    page = max(1, page)
    cards, total = await service.cards_page(program.id, page, PAGE_SIZE, filter_status)
    products = await service.products(program.id)
    return forms.page(
        request,
        "giftcards/gift_cards.html",
        "gift_cards",
        status,
        program=program,
        cards=cards,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filter_status=filter_status,
        statuses=status_names(),
        products=products,
        product=product or {"sku": "", "name": "", "face_value": "", "active": True, "editing": ""},
        errors=errors or {},
        liability=await service.liability(program.id),
        **{"lookup_error": "", "found_card": None, **context},
    )


@get("/gift-cards", opt=COUNTER)
async def gift_cards_page(
    request: Request,
    status: FromQuery[str] = "",
    page: FromQuery[int] = 1,
    edit: FromQuery[str] = "",
    done: FromQuery[str] = "",
) -> Template:
    """The balance lookup, what the cards hold, the cards sold and the products (``edit``: the
    product form filled with that SKU's)."""
    program = await staff_program(current_staff(request))
    product = None
    for item in await service.products(program.id):
        if item.sku == edit:
            face = amount_text(item.face_value, program.currency)
            product = {
                "sku": item.sku,
                "name": item.name,
                "face_value": face,
                "active": item.active,
                "editing": item.sku,
            }
    notice = i18n.gettext("Gift card product saved.") if done == "saved" else ""
    return await _page(request, program, filter_status=status, page=page, product=product, notice=notice)


@post("/gift-cards/balance", opt=COUNTER, status_code=200)
async def look_up_balance(request: Request) -> Template:
    """A card's status and balance by the code typed or scanned; the code is shown masked."""
    program = await staff_program(current_staff(request))
    code = str((await request.form()).get("code", ""))
    try:
        found = await service.balance(program.id, code)
    except MembershipError as exc:
        return await _page(request, program, 404 if exc.status == 404 else 422, lookup_error=forms.error_text(exc))
    return await _page(request, program, found_card=found)


@post("/gift-cards/products", opt=CONFIGURE, status_code=303)
async def save_product(request: Request) -> Any:
    """Add a product, or change the one named by ``editing``: face value typed in yuan."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    editing = str(form.get("editing", "")).strip()
    typed = {
        "sku": editing or str(form.get("sku", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "face_value": str(form.get("face_value", "")).strip(),
        "active": form.get("active") == "on",
        "editing": editing,
    }
    try:
        face_value = parse_amount(typed["face_value"], program.currency, field="face_value")
        await service.save_product(
            program.id, typed["sku"], typed["name"], face_value, typed["active"], staff.actor, create=not editing
        )
    except MembershipError as exc:
        field = str(exc.params.get("field", "sku"))
        errors = {field if field in typed else "sku": forms.error_text(exc)}
        error = i18n.gettext("Please correct the marked fields.")
        return await _page(request, program, 422, product=typed, errors=errors, error=error)
    return forms.done(PAGE, "saved")


ROUTES = [gift_cards_page, look_up_balance, save_product]
