"""The counter page (前台): identify a member by card, QR code or phone — typed, scanned or swiped
on a card reader — see their balances, record a purchase, redeem points, top up.

The page follows the store's card readers over server-sent events (the same stream as the
API's ``/reader-reads/stream``): a swipe opens the member; an unknown card offers to issue it to
a member. Every form carries an idempotency key, so a double click records one purchase.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import get_currency_precision
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import ServerSentEvent, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import Workplace, member_of_merchant, workplace
from membership.coupons import service as coupons
from membership.errors import MemberNotFound, MembershipError, Reason, ValidationError
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.ledger.top_up_plans import top_up_plans
from membership.members import service as members
from membership.members.credentials import credential_kinds
from membership.plugins import hooks
from membership.readers.api import REPLAY_SECONDS, read_events
from membership.sales import service as sales
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo

COUNTER = {"permission": Permission.USE_COUNTER}
STREAM_SECONDS = 300
ACTIONS = ("purchase", "redeem", "top-up")


def parse_amount(text: str, currency: str = "CNY", field: str = "amount", minimum: int = 1) -> int:
    """A typed amount (``"12.5"``, ``"12.50"``, ``"¥1,200"``) in ``currency``'s minor units,
    exactly (no floats), at least ``minimum``; errors name ``field``."""
    currency_digits = get_currency_precision(currency)
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", cleaned):  # digits only: no "1e5", "NaN" or "-3"
        raise ValidationError(field=field, reason=Reason("a number such as 12.50", "应为数字，如 12.50"))
    minor = Decimal(cleaned).scaleb(currency_digits)
    if minor != minor.to_integral_value() or minor < minimum:
        if minimum <= 0:
            reason = Reason(
                f"0 or more with at most {currency_digits} decimals", f"应为 ≥ 0 的金额，最多 {currency_digits} 位小数"
            )
        else:
            reason = Reason(
                f"a positive amount with at most {currency_digits} decimals",
                f"应为正数金额，最多 {currency_digits} 位小数",
            )
        raise ValidationError(field=field, reason=reason)
    return int(minor)


def amount_text(minor: int, currency: str = "CNY") -> str:
    """``minor`` units as one types them, so :func:`parse_amount` reads them back: ``"12.50"``."""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency)))


def identify_kinds() -> list[str]:
    """The registered kinds staff present at the counter (cards, codes, phones, a plugin's)."""
    return [name for name, spec in credential_kinds().items() if spec.at_counter]


def issuable_kinds() -> list[str]:
    """The kinds an unknown read can be issued as: cards read or typed at the counter (not QR
    codes, which the system makes, nor phones, which are in the profile)."""
    kinds = credential_kinds().items()
    return [name for name, spec in kinds if spec.at_counter and spec.issuable and spec.generate is None]


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
    """Find the member a typed or scanned card, code, phone or member number names."""
    staff = current_staff(request)
    place = await workplace(staff, store)
    q = q.strip()
    if not q:
        text = i18n.gettext("Type or scan a card, member code or phone number.")
        return Template("console/message.html", context={"text": text, "error": False})
    found = await members.search_members(place.program.id, q, page_size=5)
    if found[1] == 1:
        return await _member_panel(staff, place, found[0][0].id)
    if found[1] > 1:
        return Template("counter/choices.html", context={"members": found[0], "store": place.store_id})
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
    place = await workplace(staff, _uuid_or_none(data.store))
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
    return await _member_panel(staff, place, found[0].id, notice=i18n.gettext("Card issued."))


@get("/counter/members/{member_id:uuid}", opt=COUNTER)
async def member_panel(
    request: Request, member_id: FromPath[uuid.UUID], store: FromQuery[uuid.UUID | None] = None
) -> Template:
    """The member's panel: who, tier, balances, and the counter's actions."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    return await _member_panel(staff, await workplace(staff, store), member_id)


async def _member_panel(
    staff: StaffInfo, place: Workplace, member_id: uuid.UUID, notice: str = "", error: str = ""
) -> Template:
    """The panel of a member of ``place``'s program (found there, or checked by the caller)."""
    usable = await coupons.recent_coupons(member_id, 10, usable_on=dt.datetime.now(place.program.zone).date())
    member = await members.get_member(member_id)
    context = {
        "member": member,
        "benefits": hooks().tier_benefits(place.program, member.tier),
        "notes": await hooks().counter_notes(place.program, member_id, i18n.current_language()),
        "balances": await ledger.balances(member_id),
        "coupons": usable,
        "plans": top_up_plans(place.program.settings),
        "place": place,
        "staff": staff,
        "key": uuid.uuid4().hex,
        "notice": notice,
        "error": error,
    }
    return Template("counter/member.html", context=context)


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@dataclasses.dataclass
class ActionForm:
    """A counter action on a member: an amount or points, and the form's idempotency key."""

    amount: str = ""
    points: str = ""
    receipt: str = ""
    coupons: str = ""
    plan: str = ""
    key: str = ""
    store: str = ""


async def _act(staff: StaffInfo, member_id: uuid.UUID, data: ActionForm, action: str) -> Template:
    place = await workplace(staff, _uuid_or_none(data.store))
    await member_of_merchant(staff, member_id)
    key = f"console:{data.key}" if data.key else None
    try:
        if action == "purchase":
            amount = parse_amount(data.amount, place.program.currency)
            result = await sales.record_purchase(
                place.program.id,
                place.store_id,
                member_id,
                [LineInput("COUNTER", 1, amount, name="前台消费")],
                receipt_no=data.receipt.strip() or None,
                idempotency_key=key,
                actor=staff.actor,
                coupons=data.coupons.replace(",", " ").split(),
            )
            notice = i18n.gettext("Purchase of %(amount)s recorded: %(points)s points earned.") % {
                "amount": i18n.money(result.total, place.program.currency),
                "points": i18n.number(result.points_earned),
            }
            if result.discount:
                notice += " " + i18n.gettext("Coupons took off %(discount)s.") % {
                    "discount": i18n.money(result.discount, place.program.currency)
                }
        elif action == "redeem":
            points = _whole(data.points, "points")
            await ledger.redeem_points(member_id, points, place.store_id, idempotency_key=key, actor=staff.actor)
            notice = i18n.gettext("%(points)s points redeemed.") % {"points": i18n.number(points)}
        else:
            plan = next((p for p in top_up_plans(place.program.settings) if p.code == data.plan), None)
            amount = plan.pay if plan and not data.amount.strip() else parse_amount(data.amount, place.program.currency)
            result = await ledger.top_up(
                member_id, amount, place.store_id, idempotency_key=key, actor=staff.actor, plan=data.plan or None
            )
            notice = i18n.gettext("Topped up %(amount)s.") % {"amount": i18n.money(amount, place.program.currency)}
            if result.bonus:
                notice += " " + i18n.gettext("Bonus %(bonus)s.") % {
                    "bonus": i18n.money(result.bonus, place.program.currency)
                }
    except MembershipError as error:
        return await _member_panel(staff, place, member_id, error=error.detail(i18n.current_language()))
    return await _member_panel(staff, place, member_id, notice=notice)


def _whole(text: str, field: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValidationError(field=field, reason=Reason("a whole number", "应为整数")) from None
    if value <= 0:
        raise ValidationError(field=field, reason=Reason("more than 0", "应大于 0"))
    return value


@post("/counter/members/{member_id:uuid}/{action:str}", opt=COUNTER, status_code=200)
async def member_action(
    request: Request,
    member_id: FromPath[uuid.UUID],
    action: FromPath[str],
    data: Annotated[ActionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Record a purchase of the typed amount (消费), redeem points (积分兑换) or top up (充值)."""
    if action not in ACTIONS:
        raise NotFoundException()
    return await _act(current_staff(request), member_id, data, action)


@get("/counter/reads", opt=COUNTER)
async def reader_stream(request: Request, store: FromQuery[uuid.UUID | None] = None) -> ServerSentEvent:
    """The store's card reads as they happen (the page reconnects after ``STREAM_SECONDS``)."""
    place = await workplace(current_staff(request), store)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=REPLAY_SECONDS)
    return ServerSentEvent(
        read_events(place.program.id, place.store_id, since, None, STREAM_SECONDS), retry_duration=1000
    )


ROUTES = [counter_page, identify, unknown_card, issue_card, member_panel, member_action, reader_stream]
