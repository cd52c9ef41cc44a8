"""Console pages for members: search, the member 360° view, revealing personal data (audited),
adjusting points with a reason, blocking a card."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import member_of_merchant, staff_program, workplace
from membership.coupons.service import recent_coupons
from membership.db import use_case
from membership.errors import CredentialNotFound, MembershipError, Reason, ValidationError
from membership.ledger import service as ledger
from membership.members import rights_console
from membership.members import service as members
from membership.members.consents import consent_history
from membership.members.credentials import SECRET_HINT, credential_kinds, issuable_kind, shown
from membership.members.notes import member_notes
from membership.members.spend import spend_summary
from membership.org.service import ProgramConfig, get_program
from membership.sales.service import member_sales
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo
from membership.tiers.paid import memberships as paid_memberships
from membership.tiers.policy import tier_config
from membership.tiers.service import history as tier_history
from membership.transfer import console as transfer_console

PAGE_SIZE = 20
LEDGER_PAGE_SIZE = 30
LOTS_PAGE_SIZE = 20
VIEW = {"permission": Permission.VIEW_MEMBERS}
CREDENTIALS = {"permission": Permission.MANAGE_CREDENTIALS}


def kind_names() -> dict[str, str]:
    """The registered credential kinds' names in the staff member's language (capitalised)."""
    language = i18n.current_language()
    return {name: (label := spec.label(language))[:1].upper() + label[1:] for name, spec in credential_kinds().items()}


def issuable_kinds() -> list[str]:
    """The kinds staff issue at the console: issued to members and presented at the counter
    (member cards, magstripe cards, barcodes, QR codes, a plugin's cards; not openids, which the
    app binds, nor phones, which are in the profile)."""
    return [name for name, spec in credential_kinds().items() if spec.issuable and spec.at_counter]


def tier_names(program: ProgramConfig) -> dict[str, str]:
    """The program's tier names by code (a code no longer configured shows as itself)."""
    return {tier.code: tier.name for tier in tier_config(program.settings).tiers}


@get("/members", opt=VIEW, name="console-members")
async def member_list(request: Request, q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    """Find members by name, member number, phone or card (会员查询); 20 a page."""
    staff = current_staff(request)
    program = await staff_program(staff)
    page = max(1, page)
    found, total = await members.search_members(program.id, q, page=page, page_size=PAGE_SIZE)
    context = {
        "staff": staff,
        "active": "members",
        "tier_names": tier_names(program),
        "q": q,
        "members": found,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
    }
    return Template("members/list.html", context=context)


ENROL = {"permission": Permission.ENROL_MEMBERS}
ERROR_FIELDS = {
    "invalid_phone": "phone",
    "invalid_email": "email",
    "invalid_birthday": "birthday",
    "credential_exists": "card",
}


@dataclasses.dataclass
class EnrolForm:
    """The enrol form (入会登记); ``card`` is a card to issue at once (e.g. one just swiped)."""

    name: str = ""
    phone: str = ""
    gender: str = "unknown"
    birthday: str = ""
    birthday_calendar: str = "solar"
    email: str = ""
    card: str = ""
    marketing: str = ""


@get("/members/new", opt=ENROL)
async def enrol_page(request: Request, card: FromQuery[str] = "") -> Template:
    """The enrol form, empty (or with the card to issue)."""
    return _enrol_form(request, EnrolForm(card=card), {})


def _enrol_form(request: Request, form: EnrolForm, errors: dict[str, str], status: int = 200) -> Template:
    context = {"staff": current_staff(request), "active": "members", "form": form, "errors": errors}
    return Template("members/enrol.html", context=context, status_code=status, media_type=MediaType.HTML)


@post("/members/new", opt=ENROL, status_code=303)
async def enrol(request: Request, data: Annotated[EnrolForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Any:
    """Enrol the member (and issue the card) in one transaction; errors go next to their field."""
    staff = current_staff(request)
    place = await workplace(staff)
    profile: dict[str, Any] = {"name": data.name.strip(), "gender": data.gender, "source_channel": "console"}
    profile["consents"] = {"marketing": bool(data.marketing)}
    for field in ("phone", "email"):
        if getattr(data, field).strip():
            profile[field] = getattr(data, field).strip()
    if data.birthday.strip():
        profile["birthday_calendar"] = data.birthday_calendar
        try:
            profile["birthday"] = dt.date.fromisoformat(data.birthday.strip())
        except ValueError:
            return _enrol_form(request, data, {"birthday": i18n.gettext("Use the form 1990-05-17.")}, 422)
    try:
        member = await _enrol_with_card(place.program.id, profile, data.card.strip(), place.store_id, staff.actor)
    except MembershipError as exc:
        field = exc.params.get("field") if exc.code in ("validation_error", "duplicate_member") else None
        field = ERROR_FIELDS.get(exc.code, field)
        key = field if field in dataclasses.asdict(data) else "form"
        return _enrol_form(request, data, {key: exc.detail(i18n.current_language())}, 422)
    return Redirect(f"/console/members/{member.id}", status_code=303)


@use_case
async def _enrol_with_card(
    program_id: uuid.UUID, profile: dict[str, Any], card: str, store_id: uuid.UUID, actor: str
) -> members.MemberView:
    member = await members.enrol(program_id, profile, store_id=store_id, actor=actor)
    if card:
        await members.issue_credential(member.id, "card_uid", card, store_id=store_id, actor=actor)
    return member


@get("/members/{member_id:uuid}", opt=VIEW, name="console-member")
async def member_page(
    request: Request,
    member_id: FromPath[uuid.UUID],
    page: FromQuery[int] = 1,
    lots: FromQuery[int] = 1,
    done: FromQuery[str] = "",
    amount: FromQuery[int] = 0,
) -> Template:
    """The member 360°: profile, spend, tags, notes, cards, balances, points lots, ledger with
    reasons, purchases, consent (``page`` pages the ledger, ``lots`` the points lots; ``done``
    names what the member page's forms just did)."""
    await member_of_merchant(current_staff(request), member_id)
    program = await staff_program(current_staff(request))
    notices = {
        "profile": i18n.gettext("Profile saved."),
        "tags": i18n.gettext("Tags saved."),
        "note": i18n.gettext("Note kept."),
        "note-removed": i18n.gettext("Note removed."),
        "refunded": i18n.gettext("Refunded %(amount)s.", amount=i18n.money(amount, program.currency)),
    }
    notice = notices.get(done, "")
    return await _member_page(request, member_id, max(1, page), notice=notice, lots_page=max(1, lots))


async def _points_lots(member_id: uuid.UUID, page: int) -> dict[str, Any]:
    """The member's points lots for the page, and the names of their states."""
    lots, total = await ledger.points_lots_page(member_id, page, LOTS_PAGE_SIZE)
    return {
        "lots": lots,
        "lots_page": page,
        "lots_pages": max(1, -(-total // LOTS_PAGE_SIZE)),
        "lot_states": {
            "pending": i18n.gettext("pending"),
            "available": i18n.gettext("available"),
            "expired": i18n.gettext("expired"),
            "spent": i18n.gettext("spent"),
        },
    }


async def _member_page(
    request: Request,
    member_id: uuid.UUID,
    page: int = 1,
    notice: str = "",
    error: str = "",
    lots_page: int = 1,
    status: int = 200,
    **forms_shown: Any,
) -> Template:
    """The member 360° of a member the caller has checked belongs to the staff member's merchant
    (``forms_shown``: a refused form of :mod:`membership.members.profile_console`, as typed)."""
    staff = current_staff(request)
    member = await members.get_member(member_id)
    program = await get_program(member.program_id)
    entries, total = await ledger.ledger_page(member_id, page, LEDGER_PAGE_SIZE)
    accounts = await ledger.member_accounts(member_id)
    balances, expiring = accounts.balances(), accounts.expiring
    context = {
        "staff": staff,
        "active": "members",
        "member": member,
        "program": program,
        "tier_names": tier_names(program),
        "balances": balances,
        "expiring": expiring,
        "next_expiry": await ledger.next_expiry(accounts),
        **(await _points_lots(member_id, lots_page)),
        "credentials": await members.list_credentials(member_id),
        "kind_names": kind_names(),
        "issuable_kinds": issuable_kinds(),
        "generated_kinds": [name for name, spec in credential_kinds().items() if spec.generate is not None],
        "shown": shown,
        "state_names": {
            "active": i18n.gettext("Active"),
            "lost": i18n.gettext("Lost"),
            "blocked": i18n.gettext("Blocked"),
            "replaced": i18n.gettext("Replaced"),
        },
        "entries": entries,
        "page": page,
        "pages": max(1, -(-total // LEDGER_PAGE_SIZE)),
        "sales": await member_sales(member_id),
        "tier_history": (await tier_history(member_id, page_size=10))[0],
        "paid": (await paid_memberships(member_id))[0],
        "coupons": await recent_coupons(member_id),
        "coupon_states": {
            "issued": i18n.gettext("usable"),
            "redeemed": i18n.gettext("used"),
            "expired": i18n.gettext("expired"),
            "void": i18n.gettext("void"),
        },
        "tier_reasons": {
            "upgrade": i18n.gettext("upgrade"),
            "renewal": i18n.gettext("kept for another period"),
            "downgrade": i18n.gettext("downgrade"),
            "paid": i18n.gettext("paid membership"),
            "paid_expired": i18n.gettext("paid membership ended"),
            "refund": i18n.gettext("taken back with a refund"),
        },
        "paid_states": {
            "active": i18n.gettext("Active"),
            "expired": i18n.gettext("expired"),
            "refunded": i18n.gettext("refunded"),
        },
        "revealed": False,
        "consent_history": await consent_history(member_id),
        "account_names": {
            "points": i18n.gettext("Points"),
            "points_pending": i18n.gettext("Points pending"),
            "points_debt": i18n.gettext("Points debt"),
            "stored_value": i18n.gettext("Stored value"),
            "stored_value_bonus": i18n.gettext("Bonus"),
            "growth": i18n.gettext("Growth"),
        },
        "key": uuid.uuid4().hex,
        "notice": notice,
        "error": error,
        "spend": await spend_summary(member_id),
        "notes": await member_notes(member_id),
        "gender_names": {
            "unknown": i18n.gettext("Not given"),
            "female": i18n.gettext("Female"),
            "male": i18n.gettext("Male"),
        },
        "profile_form": None,
        "profile_errors": {},
        "note_error": "",
        "note_text": "",
        **forms_shown,
    }
    return Template("members/member.html", context=context, status_code=status)


@post("/members/{member_id:uuid}/reveal", opt={"permission": Permission.REVEAL_PERSONAL_DATA}, status_code=200)
async def reveal(request: Request, member_id: FromPath[uuid.UUID]) -> Template:
    """Show the member's personal data unmasked; the audit log records who looked."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    member = await members.get_member(member_id, reveal=True, actor=staff.actor)
    return Template("members/personal.html", context={"member": member, "revealed": True, "staff": staff})


@dataclasses.dataclass
class AdjustForm:
    """A manual points adjustment: signed points and the reason (required)."""

    points: str = ""
    reason: str = ""
    key: str = ""


@post("/members/{member_id:uuid}/points", opt={"permission": Permission.ADJUST_POINTS}, status_code=200)
async def adjust_points(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[AdjustForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Add or remove points by hand (手工调整积分), with a reason the ledger keeps."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    try:
        try:
            points = int(data.points.strip())
        except ValueError:
            raise ValidationError(
                field="points", reason=Reason("a whole number such as 100 or -50", "应为整数，如 100 或 -50")
            ) from None
        await ledger.adjust_points(
            member_id,
            points,
            data.reason.strip(),
            staff.actor,
            idempotency_key=f"console:{data.key}" if data.key else None,
        )
    except MembershipError as exc:
        return await _member_page(request, member_id, error=exc.detail(i18n.current_language()))
    notice = i18n.gettext("Points adjusted by %(points)s.") % {"points": f"{points:+,}"}
    return await _member_page(request, member_id, notice=notice)


@dataclasses.dataclass
class BlockForm:
    """Block a card: why, whether it was lost (挂失), and the confirmation (``confirm=yes``)."""

    reason: str = ""
    lost: str = ""
    confirm: str = ""


async def _credential_of_merchant(staff: StaffInfo, credential_id: uuid.UUID) -> dict[str, Any]:
    """The credential's row, when its member belongs to the staff member's merchant."""
    row = await members.credential_row(credential_id)
    try:
        await member_of_merchant(staff, row["member_id"])
    except MembershipError:
        raise CredentialNotFound(kind=str(credential_id)) from None
    return row


@post("/credentials/{credential_id:uuid}/block", opt=CREDENTIALS, status_code=200)
async def block_credential(
    request: Request,
    credential_id: FromPath[uuid.UUID],
    data: Annotated[BlockForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Block a card or report it lost, once confirmed; identifying with it fails from now on."""
    staff = current_staff(request)
    row = await _credential_of_merchant(staff, credential_id)
    if data.confirm != "yes":
        return await _member_page(request, row["member_id"], error=forms.not_confirmed(), status=422)
    try:
        await members.block_credential(credential_id, staff.actor, data.reason.strip(), lost=bool(data.lost))
    except MembershipError as exc:
        return await _member_page(request, row["member_id"], error=exc.detail(i18n.current_language()))
    notice = i18n.gettext("Card reported lost.") if data.lost else i18n.gettext("Card blocked.")
    return await _member_page(request, row["member_id"], notice=notice)


@dataclasses.dataclass
class ReplaceForm:
    """A new card for a lost, worn or blocked one (补卡/换卡); empty value for a new QR token."""

    value: str = ""
    reason: str = ""


@post("/credentials/{credential_id:uuid}/replace", opt=CREDENTIALS, status_code=200)
async def replace_credential(
    request: Request,
    credential_id: FromPath[uuid.UUID],
    data: Annotated[ReplaceForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Replace the card with a new one of the same kind; balances stay with the member."""
    staff = current_staff(request)
    row = await _credential_of_merchant(staff, credential_id)
    try:
        new = await members.replace_credential(
            credential_id, data.value.strip() or None, staff.actor, data.reason.strip() or "replaced at the console"
        )
    except MembershipError as exc:
        return await _member_page(request, row["member_id"], error=exc.detail(i18n.current_language()))
    notice = i18n.gettext("Card replaced: the new one ends in %(hint)s.", hint=new["hint"] or SECRET_HINT)
    return await _member_page(request, row["member_id"], notice=notice)


@dataclasses.dataclass
class IssueForm:
    """A card, magstripe, barcode, QR code or a plugin's kind to bind to the member (empty
    value: a new QR token)."""

    kind: str = "card_uid"
    value: str = ""


@post("/members/{member_id:uuid}/credentials", opt=CREDENTIALS, status_code=200)
async def issue_credential(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[IssueForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Issue a credential to the member at the staff member's store (发卡)."""
    staff = current_staff(request)
    await member_of_merchant(staff, member_id)
    place = await workplace(staff)
    try:
        if issuable_kind(data.kind).name not in issuable_kinds():
            known = ", ".join(issuable_kinds())
            raise ValidationError(field="kind", reason=Reason(f"one of {known}", f"只能是 {known} 之一"))
        new = await members.issue_credential(
            member_id, data.kind, data.value.strip() or None, store_id=place.store_id, actor=staff.actor
        )
    except MembershipError as exc:
        return await _member_page(request, member_id, error=exc.detail(i18n.current_language()))
    return await _member_page(
        request, member_id, notice=i18n.gettext("Card issued: it ends in %(hint)s.", hint=new["hint"] or SECRET_HINT)
    )


ROUTES = [
    member_list,
    enrol_page,
    enrol,
    member_page,
    reveal,
    adjust_points,
    block_credential,
    replace_credential,
    issue_credential,
    *rights_console.ROUTES,
    *transfer_console.ROUTES,
]
