"""The counter page (收银台): identify a member by card, QR code or phone — typed, scanned or
swiped on a card reader — see their balances and take a sale, a top-up, a redemption or a paid
membership (:mod:`membership.sales.counter_sale`); void or refund a sale and print its receipt
(:mod:`membership.sales.counter_void`).

The page follows the store's card readers over server-sent events (the same stream as the
API's ``/reader-reads/stream``): a swipe opens the member; an unknown card offers to issue it to
a member; a phone number nobody holds offers to enrol its owner. Every form carries an
idempotency key, so a double click records once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import ServerSentEvent, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import Workplace, member_of_merchant, workplace
from membership.coupons import service as coupons
from membership.errors import MemberNotFound, MembershipError, Reason, ValidationError
from membership.ledger import service as ledger
from membership.ledger.top_up_plans import top_up_plans
from membership.members import service as members
from membership.members.credentials import credential_kinds
from membership.members.personal_data import normalize_phone
from membership.org.settings_form import point_value_text
from membership.plugins import hooks
from membership.readers.api import REPLAY_SECONDS, read_events
from membership.rewards.service import redeemable_rewards
from membership.sales import recent
from membership.sales import service as sales
from membership.sales.amounts import amount_text as amount_text
from membership.sales.amounts import parse_amount as parse_amount
from membership.sales.counter_cart import COUNTER_SKU, Cart, CartLine
from membership.sales.counter_rules import counter_limits
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo
from membership.tiers.policy import paid_plans

COUNTER = {"permission": Permission.USE_COUNTER}
STREAM_SECONDS = 300


def tender_names() -> dict[str, str]:
    """The tenders a clerk takes the rest of a sale with, as the staff member reads them."""
    return {
        "cash": i18n.gettext("Cash"),
        "card": i18n.gettext("Bank card"),
        "wechat_pay": i18n.gettext("WeChat Pay"),
        "alipay": i18n.gettext("Alipay"),
    }


def payment_names() -> dict[str, str]:
    """Every payment method of a sale, as the staff member reads it."""
    return {
        **tender_names(),
        "stored_value": i18n.gettext("Stored-value card"),
        "points": i18n.gettext("Points"),
        "gift_card": i18n.gettext("Gift card"),
    }


def discount_text(pct: int) -> str:
    """A tier discount as a Chinese reader writes it (5 → 95折, 10 → 9折) or ``5% off``."""
    if i18n.current_language() != "zh_CN":
        return i18n.gettext("%(pct)s%% off", pct=pct)
    keep = 100 - pct
    return f"{keep // 10 if keep % 10 == 0 else keep}折"


def identify_kinds() -> list[str]:
    """The registered kinds staff present at the counter (cards, codes, phones, a plugin's)."""
    return [name for name, spec in credential_kinds().items() if spec.at_counter]


def issuable_kinds() -> list[str]:
    """The kinds an unknown read can be issued as: cards read or typed at the counter (not QR
    codes, which the system makes, nor phones, which are in the profile)."""
    kinds = credential_kinds().items()
    return [name for name, spec in kinds if spec.at_counter and spec.issuable and spec.generate is None]


def _phone(text: str) -> str | None:
    """``text`` as a phone number (E.164) when it is one, else None (a card number, a code)."""
    if not any(ch.isdigit() for ch in text) or any(ch.isalpha() for ch in text):
        return None
    try:
        return normalize_phone(text)
    except MembershipError:
        return None


@get("/counter", opt=COUNTER, name="console-counter")
async def counter_page(request: Request, store: FromQuery[uuid.UUID | None] = None) -> Template:
    """The counter page."""
    staff = current_staff(request)
    place = await workplace(staff, store)
    return Template(
        "counter/page.html", context={"staff": staff, "place": place, "active": "counter", "kinds": identify_kinds()}
    )


@get("/counter/identify", opt=COUNTER)
async def identify(request: Request, q: FromQuery[str] = "", store: FromQuery[uuid.UUID | None] = None) -> Template:
    """Find the member a typed or scanned card, code, phone or member number names; a phone
    number nobody holds offers to enrol, any other unknown value to issue it as a card."""
    staff = current_staff(request)
    place = await workplace(staff, store)
    q = q.strip()
    if not q:
        text = i18n.gettext("Type or scan a card, member code or phone number.")
        return Template("console/message.html", context={"text": text, "error": False})
    found = await members.search_members(place.program.id, q, page_size=5)
    if found[1] == 1:
        return await member_panel(staff, place, found[0][0].id)
    if found[1] > 1:
        return Template("counter/choices.html", context={"members": found[0], "store": place.store_id})
    if _phone(q):
        return _unknown_phone(staff, place, EnrolForm(phone=q), {})
    return Template("counter/unknown.html", context=_unknown_context(q, "card_uid", place.store_id))


def _unknown_context(value: str, kind: str, store_id: uuid.UUID) -> dict[str, Any]:
    return {
        "value": value,
        "kind": kind if kind in issuable_kinds() else "card_uid",
        "store": store_id,
        "key": uuid.uuid4().hex,
        "error": "",
    }


@get("/counter/unknown", opt=COUNTER)
async def unknown_card(
    request: Request,
    value: FromQuery[str],
    kind: FromQuery[str] = "card_uid",
    store: FromQuery[uuid.UUID | None] = None,
) -> Template:
    """An unknown card a reader saw: offer to issue it to a member (发卡)."""
    place = await workplace(current_staff(request), store)
    return Template("counter/unknown.html", context=_unknown_context(value, kind, place.store_id))


@dataclasses.dataclass
class IssueForm:
    """Issue an unknown card to an existing member, named by member number or phone."""

    value: str = ""
    kind: str = "card_uid"
    member: str = ""
    store: str = ""


@post("/counter/issue", opt={"permission": Permission.MANAGE_CREDENTIALS}, status_code=200)
async def issue_card(
    request: Request, data: Annotated[IssueForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template:
    """Bind the card to the member and open them."""
    staff = current_staff(request)
    place = await workplace(staff, uuid_or_none(data.store))
    try:
        if data.kind not in issuable_kinds():
            known = ", ".join(issuable_kinds())
            raise ValidationError(field="kind", reason=Reason(f"one of {known}", f"只能是 {known} 之一"))
        found, total = await members.search_members(place.program.id, data.member, page_size=2)
        if total == 0:
            raise MemberNotFound(member_id=data.member or "—")
        if total > 1:
            raise ValidationError(field="member", reason=i18n.gettext("more than one member matches"))
        await members.issue_credential(found[0].id, data.kind, data.value, store_id=place.store_id, actor=staff.actor)
    except MembershipError as error:
        context = {
            **_unknown_context(data.value, data.kind, place.store_id),
            "error": error.detail(i18n.current_language()),
        }
        return Template("counter/unknown.html", context=context)
    return await member_panel(staff, place, found[0].id, notice=i18n.gettext("Card issued."))


@dataclasses.dataclass
class EnrolForm:
    """Enrol the owner of a phone number nobody holds, from the counter (入会)."""

    phone: str = ""
    name: str = ""
    marketing: str = ""
    store: str = ""


def _unknown_phone(staff: StaffInfo, place: Workplace, form: EnrolForm, errors: dict[str, str]) -> Template:
    context = {"form": form, "errors": errors, "place": place, "may_enrol": staff.can(Permission.ENROL_MEMBERS)}
    return Template("counter/unknown_phone.html", context=context)


@post("/counter/enrol", opt={"permission": Permission.ENROL_MEMBERS}, status_code=200)
async def enrol(
    request: Request, data: Annotated[EnrolForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template:
    """Enrol the phone's owner with the name typed, and open them at the counter."""
    staff = current_staff(request)
    place = await workplace(staff, uuid_or_none(data.store))
    if not data.name.strip():
        return _unknown_phone(staff, place, data, {"name": i18n.gettext("required")})
    profile = {
        "name": data.name.strip(),
        "phone": data.phone.strip(),
        "source_channel": "counter",
        "consents": {"marketing": bool(data.marketing)},
    }
    try:
        member = await members.enrol(place.program.id, profile, store_id=place.store_id, actor=staff.actor)
    except MembershipError as error:
        field = "phone" if error.code in ("invalid_phone", "duplicate_member") else "name"
        return _unknown_phone(staff, place, data, {field: error.detail(i18n.current_language())})
    return await member_panel(staff, place, member.id, notice=i18n.gettext("Enrolled."))


@get("/counter/members/{member_id:uuid}", opt=COUNTER)
async def member_page(
    request: Request, member_id: FromPath[uuid.UUID], store: FromQuery[uuid.UUID | None] = None
) -> Template:
    """The member's panel: who, tier, balances, and the counter's actions."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    return await member_panel(staff, await workplace(staff, store), member_id)


async def member_panel(
    staff: StaffInfo,
    place: Workplace,
    member_id: uuid.UUID,
    notice: str = "",
    error: str = "",
    **steps: Any,
) -> Template:
    """The panel of a member of ``place``'s program (found there, or checked by the caller).
    ``steps`` replace the empty forms: ``sale`` (:class:`SaleStep`), ``top_up``
    (:class:`TopUpStep`), ``redeem_error``, ``paid_error``; ``open`` names the section shown open."""
    program = place.program
    today = dt.datetime.now(program.zone).date()
    member = await members.get_member(member_id)
    benefits = hooks().tier_benefits(program, member.tier)
    language = "zh" if i18n.current_language() == "zh_CN" else "en"
    limits = counter_limits(program)
    items, seen = await recent.recent_items(place.store_id)
    context = {
        "member": member,
        "benefits": benefits,
        "discount": discount_text(benefits.discount_pct) if benefits and benefits.discount_pct else "",
        "notes": await hooks().counter_notes(program, member_id, i18n.current_language()),
        "balances": await ledger.balances(member_id),
        "coupons": await coupons.recent_coupons(member_id, 20, usable_on=today),
        "rewards": await redeemable_rewards(program, place.store_id, today),
        "plans": top_up_plans(program.settings),
        "paid_plans": paid_plans(program.settings),
        "recent_sales": await sales.member_sales(member_id, 5),
        "items": [item for item in items if item.sku != COUNTER_SKU],
        "categories": await recent.known_categories(program.id, seen),
        "point_value": point_value_text(program.point_value_minor, program.currency, language),
        "limited": not staff.can(Permission.APPROVE_AT_COUNTER),
        "limits": limits,
        "tenders": tender_names(),
        "payments": payment_names(),
        "place": place,
        "staff": staff,
        "key": uuid.uuid4().hex,
        "notice": notice,
        "error": error,
        "sale": steps.get("sale") or SaleStep(cart=Cart(lines=[CartLine()], key=uuid.uuid4().hex)),
        "top_up": steps.get("top_up") or TopUpStep(key=uuid.uuid4().hex),
        "redeem_error": steps.get("redeem_error", ""),
        "paid_error": steps.get("paid_error", ""),
        "open": steps.get("open", ""),
    }
    return Template("counter/member.html", context=context)


@dataclasses.dataclass
class SaleStep:
    """Where the sale form is: ``form`` (with ``errors`` by input), ``review`` (the
    ``simulation`` of its ``lines`` and the ``payments`` it will take; ``approval`` when a
    manager must approve)
    or ``done`` (the recorded ``result``, with the ``gift_cards`` it sold)."""

    cart: Cart
    step: str = "form"
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    simulation: Any = None
    lines: list[Any] = dataclasses.field(default_factory=list)
    payments: list[Any] = dataclasses.field(default_factory=list)
    approval: str = ""
    result: Any = None
    gift_cards: list[Any] = dataclasses.field(default_factory=list)  # sold by the recorded sale

    def member_prices(self) -> dict[int, int]:
        """The reviewed lines' member prices (tier discounts, a pack's prices) by line number."""
        return {price.line_no: price.member_price for price in self.simulation.member_prices}


@dataclasses.dataclass
class TopUpStep:
    """Where the top-up form is: ``form`` (typed values, ``errors`` by input) or ``review``
    (``amount`` and ``bonus`` in minor units; ``approval`` when a manager must approve)."""

    key: str
    amount: str = ""
    plan: str = ""
    tender: str = "cash"
    step: str = "form"
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    minor: int = 0
    bonus: int = 0
    approval: str = ""


async def counter_member(request: Request, member_id: uuid.UUID, store: str) -> tuple[StaffInfo, Workplace]:
    """Who is at the counter and where (``store`` as the form sent it), for an action on a
    member of their merchant (else ``MemberNotFound``)."""
    staff = current_staff(request)
    place = await workplace(staff, uuid_or_none(store))
    await member_of_merchant(staff, member_id)
    return staff, place


def uuid_or_none(text: str) -> uuid.UUID | None:
    """A UUID typed in a form, or None when it is empty or not one."""
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@dataclasses.dataclass
class RedeemForm:
    """Points redeemed for a gift or a service (积分兑换)."""

    points: str = ""
    key: str = ""
    store: str = ""


@post("/counter/members/{member_id:uuid}/redeem", opt=COUNTER, status_code=200)
async def redeem(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[RedeemForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Redeem points (积分兑换); a mistake is shown beside the points."""
    staff, place = await counter_member(request, member_id, data.store)
    try:
        points = _whole(data.points)
        key = f"console:{data.key}" if data.key else None
        await ledger.redeem_points(member_id, points, place.store_id, idempotency_key=key, actor=staff.actor)
    except ValueError as exc:
        return await member_panel(staff, place, member_id, redeem_error=str(exc), open="redeem")
    except MembershipError as error:
        text = error.detail("zh" if i18n.current_language() == "zh_CN" else "en")
        return await member_panel(staff, place, member_id, redeem_error=text, open="redeem")
    notice = i18n.gettext("%(points)s points redeemed.") % {"points": i18n.number(points)}
    return await member_panel(staff, place, member_id, notice=notice)


def _whole(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(i18n.gettext("a whole number, such as 2")) from None
    if value <= 0:
        raise ValueError(i18n.gettext("more than 0"))
    return value


@get("/counter/reads", opt=COUNTER)
async def reader_stream(request: Request, store: FromQuery[uuid.UUID | None] = None) -> ServerSentEvent:
    """The store's card reads as they happen (the page reconnects after ``STREAM_SECONDS``)."""
    place = await workplace(current_staff(request), store)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=REPLAY_SECONDS)
    return ServerSentEvent(
        read_events(place.program.id, place.store_id, since, None, STREAM_SECONDS), retry_duration=1000
    )


ROUTES = [counter_page, identify, unknown_card, issue_card, enrol, member_page, redeem, reader_stream]
