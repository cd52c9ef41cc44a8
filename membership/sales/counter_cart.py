"""The counter's sale form as typed (a cart of lines, coupons, how it is paid) and what it
means: lines in minor units, payments that add up to what the member owes. Everything is
typed in yuan (never fen); each mistake is reported beside its own input, in the staff member's
language.

The cart travels in the form itself (one input per line and field, in order), so the review and
the confirmation post exactly what the clerk saw, and nothing is kept on the server between them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from membership.console import i18n
from membership.errors import MembershipError, Reason, ValidationError
from membership.giftcards import service as giftcards
from membership.ledger.rules import LineInput
from membership.sales.amounts import parse_amount
from membership.sales.service import TENDERS, PaymentInput

COUNTER_SKU = "COUNTER"  # a line typed with a price and no SKU (an amount at the counter)
MAX_QUANTITY = 9_999
LINE_FIELDS = ("sku", "name", "category", "quantity", "price")
CART_FIELDS = (
    "coupon_codes",
    "promotion_codes",
    "stored_value",
    "points",
    "gift_card",
    "gift_card_amount",
    "tender",
    "receipt",
    "key",
)


class CartErrors(Exception):
    """What is wrong with a cart, by input (``line-2-price``, ``stored_value``, ``form``…)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(", ".join(errors))


@dataclasses.dataclass
class CartLine:
    """One line as typed: SKU, name, category, quantity and unit price in yuan."""

    sku: str = ""
    name: str = ""
    category: str = ""
    quantity: str = "1"
    price: str = ""

    def is_blank(self) -> bool:
        """True for a row left empty (it is dropped, not refused)."""
        return not (self.sku.strip() or self.name.strip() or self.price.strip())


@dataclasses.dataclass
class Cart:
    """The sale form as posted: its lines, the coupons ticked or scanned, the promotion codes
    typed (促销码), the parts paid with stored value (yuan) and points, the tender that takes the
    rest, an optional receipt number, and the form's idempotency key."""

    lines: list[CartLine] = dataclasses.field(default_factory=list)
    coupons: list[str] = dataclasses.field(default_factory=list)
    coupon_codes: str = ""
    promotion_codes: str = ""
    stored_value: str = ""
    points: str = ""
    tender: str = "cash"
    receipt: str = ""
    key: str = ""
    gift_card: str = ""
    gift_card_amount: str = ""
    rewards: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_form(cls, form: Any) -> Cart:
        """The cart a posted form (a multi-dict with ``getall``) holds."""
        columns = {name: form.getall(name, []) for name in LINE_FIELDS}
        count = max((len(values) for values in columns.values()), default=0)
        lines = [
            CartLine(**{name: _at(columns[name], i, "1" if name == "quantity" else "") for name in LINE_FIELDS})
            for i in range(count)
        ]
        return cls(
            lines=lines,
            coupons=list(dict.fromkeys(code.strip() for code in form.getall("coupon", []) if code.strip())),
            coupon_codes=form.get("coupon_codes", "") or "",
            promotion_codes=form.get("promotion_codes", "") or "",
            stored_value=form.get("stored_value", "") or "",
            points=form.get("points", "") or "",
            tender=form.get("tender", "cash") or "cash",
            receipt=form.get("receipt", "") or "",
            key=form.get("key", "") or "",
            gift_card=form.get("gift_card", "") or "",
            gift_card_amount=form.get("gift_card_amount", "") or "",
            rewards=list(dict.fromkeys(code.strip() for code in form.getall("reward", []) if code.strip())),
        )

    def fields(self) -> list[tuple[str, str]]:
        """Every input as ``(name, value)``, in order: the hidden copy a review posts back."""
        pairs: list[tuple[str, str]] = []
        for line in self.lines:
            pairs += [(name, getattr(line, name)) for name in LINE_FIELDS]
        pairs += [("coupon", code) for code in self.coupons]
        pairs += [("reward", code) for code in self.rewards]
        pairs += [(name, getattr(self, name)) for name in CART_FIELDS]
        return pairs

    def codes(self) -> list[str]:
        """The coupon codes ticked and scanned, each once."""
        typed = re.split(r"[\s,，]+", self.coupon_codes.strip()) if self.coupon_codes.strip() else []
        return list(dict.fromkeys([*self.coupons, *typed]))


def _at(values: Sequence[str], i: int, default: str) -> str:
    return values[i] if i < len(values) else default


@dataclasses.dataclass(frozen=True)
class Order:
    """A cart read: the lines, what stored value and points pay (minor units; points), the
    tender for the rest, the coupon codes, the receipt number and the promotion codes typed."""

    lines: list[LineInput]
    stored_value: int
    points: int
    tender: str
    coupons: list[str]
    receipt_no: str | None
    gift_card: str = ""  # the card's code, canonical
    gift_card_amount: int = 0
    promotion_codes: tuple[str, ...] = ()
    rewards: tuple[str, ...] = ()  # rewards of the points mall redeemed in the sale


def reason_of(error: ValidationError) -> str:
    """A refusal's reason alone, in the staff member's language (the input's label is beside it)."""
    reason = error.params.get("reason")
    if isinstance(reason, Reason):
        return reason.zh if i18n.current_language() == "zh_CN" else reason.en
    return error.detail("zh" if i18n.current_language() == "zh_CN" else "en")


def whole_number(text: str, minimum: int = 1, maximum: int = MAX_QUANTITY) -> int:
    """A typed whole number from ``minimum`` to ``maximum``; ``ValueError`` with the message."""
    cleaned = re.sub(r"[\s,，]", "", text)
    if not re.fullmatch(r"\d+", cleaned):
        raise ValueError(i18n.gettext("a whole number, such as 2"))
    value = int(cleaned)
    if not minimum <= value <= maximum:
        raise ValueError(i18n.gettext("from %(low)s to %(high)s", low=minimum, high=i18n.number(maximum)))
    return value


def read_cart(cart: Cart, currency: str) -> Order:
    """The order a cart asks for; ``CartErrors`` with every input's mistake at once."""
    errors: dict[str, str] = {}
    lines = []
    for no, line in enumerate(cart.lines, 1):
        if line.is_blank():
            continue
        sku = line.sku.strip() or COUNTER_SKU
        if len(sku) > 64:
            errors[f"line-{no}-sku"] = i18n.gettext("at most 64 characters")
        try:
            quantity = whole_number(line.quantity or "1")
        except ValueError as exc:
            errors[f"line-{no}-quantity"] = str(exc)
            quantity = 1
        try:
            price = parse_amount(line.price, currency, minimum=0)
        except ValidationError as exc:
            errors[f"line-{no}-price"] = i18n.gettext("required") if not line.price.strip() else reason_of(exc)
            price = 0
        name = line.name.strip()[:200] or (i18n.gettext("Counter sale") if sku == COUNTER_SKU else "")
        lines.append(LineInput(sku, quantity, price, name=name, category=line.category.strip()[:64]))
    if not lines and not errors:
        errors["lines"] = i18n.gettext("Add at least one item: scan or type its code, or type a price.")
    stored_value = points = 0
    if cart.stored_value.strip():
        try:
            stored_value = parse_amount(cart.stored_value, currency, minimum=0)
        except ValidationError as exc:
            errors["stored_value"] = reason_of(exc)
    if cart.points.strip():
        try:
            points = whole_number(cart.points, minimum=0, maximum=10**9)
        except ValueError as exc:
            errors["points"] = str(exc)
    gift_card, gift_card_amount = _gift_card(cart, currency, errors)
    if cart.tender not in TENDERS:
        errors["tender"] = i18n.gettext("choose one of the list")
    receipt = cart.receipt.strip()
    if len(receipt) > 64:
        errors["receipt"] = i18n.gettext("at most 64 characters")
    if errors:
        raise CartErrors(errors)
    promotion_codes = tuple(re.split(r"[\s,，]+", cart.promotion_codes.strip())) if cart.promotion_codes.strip() else ()
    return Order(
        lines,
        stored_value,
        points,
        cart.tender,
        cart.codes(),
        receipt or None,
        gift_card,
        gift_card_amount,
        promotion_codes,
        tuple(cart.rewards),
    )


def _gift_card(cart: Cart, currency: str, errors: dict[str, str]) -> tuple[str, int]:
    """The gift card typed or scanned and what it pays (yuan typed); mistakes into ``errors``."""
    if not cart.gift_card.strip() and not cart.gift_card_amount.strip():
        return "", 0
    code = amount = None
    try:
        code = giftcards.normalize_code(cart.gift_card)
    except ValidationError as exc:
        errors["gift_card"] = reason_of(exc)
    try:
        amount = parse_amount(cart.gift_card_amount, currency)
    except ValidationError as exc:
        errors["gift_card"] = i18n.gettext("required") if not cart.gift_card_amount.strip() else reason_of(exc)
    return (code, amount) if code and amount else ("", 0)


def payments_for(order: Order, total: int, point_value: int, currency: str) -> list[PaymentInput]:
    """What pays the ``total``: the stored value, points and gift card typed, the tender for the rest.
    ``CartErrors`` when stored value and points come to more than the total."""
    points_worth = order.points * point_value
    rest = total - order.stored_value - points_worth - order.gift_card_amount
    if rest < 0:
        paid = i18n.money(order.stored_value + points_worth + order.gift_card_amount, currency)
        due = i18n.money(total, currency)
        if order.gift_card_amount:
            message = i18n.gettext(
                "Stored value, points and the gift card come to %(paid)s, more than the %(total)s due.",
                paid=paid,
                total=due,
            )
        else:
            message = i18n.gettext(
                "Stored value and points come to %(paid)s, more than the %(total)s due.", paid=paid, total=due
            )
        raise CartErrors({"stored_value" if order.stored_value else "points" if order.points else "gift_card": message})
    payments = []
    if order.gift_card_amount:
        payments.append(PaymentInput("gift_card", order.gift_card_amount, code=order.gift_card))
    if order.stored_value:
        payments.append(PaymentInput("stored_value", order.stored_value))
    if order.points:
        payments.append(PaymentInput("points", points=order.points))
    if rest or not payments:
        payments.append(PaymentInput(order.tender, rest))
    return payments


FIELD_OF_ERROR = {
    "insufficient_stored_value": "stored_value",
    "insufficient_points": "points",
    "redemption_not_allowed": "points",
    "duplicate_receipt": "receipt",
    "gift_card_not_found": "gift_card",
    "gift_card_void": "gift_card",
    "insufficient_gift_card_balance": "gift_card",
}


def refusal_fields(error: MembershipError, currency: str) -> dict[str, str]:
    """A service's refusal beside the input it concerns (amounts in yuan, not fen): stored
    value, points, coupons, the receipt number, else the form as a whole."""
    params = error.params
    if error.code == "insufficient_stored_value":
        text = i18n.gettext(
            "Not enough stored value: %(requested)s to pay, %(available)s available.",
            requested=i18n.money(int(params["requested"]), currency),
            available=i18n.money(int(params["available"]), currency),
        )
    elif error.code == "insufficient_points":
        text = i18n.gettext(
            "Not enough points: %(requested)s to pay with, %(available)s available.",
            requested=i18n.number(int(params["requested"])),
            available=i18n.number(int(params["available"])),
        )
    elif error.code == "insufficient_gift_card_balance":
        text = i18n.gettext(
            "The gift card holds %(available)s, less than %(requested)s.",
            requested=i18n.money(int(params["requested"]), currency),
            available=i18n.money(int(params["available"]), currency),
        )
    elif error.code == "coupon_min_spend":
        text = i18n.gettext(
            "Coupon %(code)s needs a spend of %(min_spend)s; these items come to %(total)s.",
            code=params["code"],
            min_spend=i18n.money(int(params["min_spend"]), currency),
            total=i18n.money(int(params["total"]), currency),
        )
    else:
        text = error.detail("zh" if i18n.current_language() == "zh_CN" else "en")
    if error.code.startswith("coupon_"):
        return {"coupons": text}
    if error.code.startswith("reward_"):
        return {"rewards": text}
    if error.params.get("field") == "promotion_codes":
        return {"promotion_codes": text}
    return {FIELD_OF_ERROR.get(error.code, "form"): text}
