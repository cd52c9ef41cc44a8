"""REST routes for members and credentials: enrol, search, profile, cards, card-swipe identify."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, patch, post
from litestar.params import FromPath, FromQuery, QueryParameter

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import BALANCES_EXAMPLE, NEXT_EXPIRY_EXAMPLE, BalancesOut, NextExpiryOut, Page, PageSize
from membership.api.security import current_key, member_for, member_store, program_for, require, store_for
from membership.errors import CredentialNotFound, Forbidden, MemberNotFound
from membership.ledger.service import MemberAccounts, next_expiry
from membership.members import merge_api, rights_api, service
from membership.members.credentials import NAME_PATTERN, CredentialKindName, credential_kinds
from membership.org.service import get_program

TAGS = ["members"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Gender = Literal["male", "female", "unknown"]
Calendar = Literal["solar", "lunar"]
Tags = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=50)]], msgspec.Meta(max_length=50)]
CredentialValue = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

MEMBER_EXAMPLE = {
    "id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
    "program_id": "5f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "member_no": "620000123457",
    "name": "王芳",
    "gender": "female",
    "birthday": "1990-08-15",
    "birthday_calendar": "solar",
    "phone": "138****5678",
    "email": "w***@example.com",
    "id_number": None,
    "address": None,
    "preferences": {},
    "tags": ["vip"],
    "source_channel": "store",
    "consents": {"marketing_sms": True},
    "created_store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "tier": "silver",
    "status": "active",
    "created_at": "2026-11-23T08:30:00Z",
}


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new member (入会). Phone, e-mail and ID number are encrypted at rest."""

    name: Name
    phone: Text200 | None = None
    email: Text200 | None = None
    gender: Gender = "unknown"
    birthday: dt.date | None = None
    birthday_calendar: Calendar = "solar"
    id_number: Text200 | None = None
    address: Text200 | None = None
    tags: Tags = []
    preferences: dict[str, Any] = {}
    consents: dict[str, bool] = {}
    source_channel: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] = "store"
    store_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    referrer: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="推荐人会员号")] | None = None


class MemberPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Profile changes: only the fields present change; ``null`` clears an optional one."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Text200 | msgspec.UnsetType | None = msgspec.UNSET
    email: Text200 | msgspec.UnsetType | None = msgspec.UNSET
    gender: Gender | msgspec.UnsetType = msgspec.UNSET
    birthday: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    birthday_calendar: Calendar | msgspec.UnsetType = msgspec.UNSET
    id_number: Text200 | msgspec.UnsetType | None = msgspec.UNSET
    address: Text200 | msgspec.UnsetType | None = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    preferences: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    consents: dict[str, bool] | msgspec.UnsetType = msgspec.UNSET


class MemberOut(msgspec.Struct):
    """A member; phone, e-mail, ID number and address are masked unless revealed.
    ``next_expiry``: their next-expiring points (``GET /members/{id}`` only; null when none will
    expire)."""

    id: uuid.UUID
    program_id: uuid.UUID
    member_no: str
    name: str
    gender: str
    birthday: dt.date | None
    birthday_calendar: str
    phone: str | None
    email: str | None
    id_number: str | None
    address: str | None
    preferences: dict[str, Any]
    tags: list[str]
    source_channel: str
    consents: dict[str, bool]
    created_store_id: uuid.UUID | None
    tier: str | None
    status: str
    created_at: dt.datetime
    next_expiry: NextExpiryOut | None = None

    @classmethod
    def of(cls, view: service.MemberView) -> MemberOut:
        """From the service's view."""
        return cls(**{f.name: getattr(view, f.name) for f in dataclasses.fields(view)})


class MemberPageOut(msgspec.Struct):
    """One page of members, newest first."""

    items: list[MemberOut]
    page: int
    page_size: int
    total: int


class CredentialIn(msgspec.Struct, forbid_unknown_fields=True):
    """A card, QR token, barcode, openid or a plugin's kind to bind (发卡): ``kind`` is one of
    ``GET /credential-kinds`` that is ``issuable``. Leave ``value`` out for a kind that is
    ``generated`` (``qr_token``) to have one made."""

    kind: CredentialKindName
    value: CredentialValue | None = None
    store_id: uuid.UUID | None = None


class CredentialBlockIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why a credential is blocked; ``lost`` marks it 挂失."""

    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""
    lost: bool = False


class CredentialReplaceIn(msgspec.Struct, forbid_unknown_fields=True):
    """The new card's value (补卡/换卡); generated for a ``qr_token`` when left out."""

    value: CredentialValue | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CredentialOut(msgspec.Struct):
    """A credential; ``hint`` is what staff may see of its value (the kind's mask: the last four
    characters, ``622202******1234`` for a bank card; empty for a secret kind); ``value`` is
    returned only when it was just issued, and never for a secret kind."""

    id: uuid.UUID
    kind: str
    hint: str
    state: str
    value: str | None = None


class CredentialKindOut(msgspec.Struct):
    """A registered credential kind: its ``name`` (what requests send as ``kind``), what staff
    call it, whether it is ``secret`` (never shown, no hint), ``issuable`` (bound by
    ``POST /members/{id}/credentials``), presented ``at_counter`` (readers, typing; tried by the
    member search) and ``generated`` (issued without a value, one is made)."""

    name: str
    label_zh: str
    label_en: str
    secret: bool
    issuable: bool
    at_counter: bool
    generated: bool


class IdentifyOut(msgspec.Struct):
    """The member a swiped card, scanned code or typed phone belongs to, with balances and their
    next-expiring points (null: none will expire)."""

    member_id: uuid.UUID
    member_no: str
    name: str
    tier: str | None
    balances: BalancesOut
    next_expiry: NextExpiryOut | None = None


CREDENTIAL_EXAMPLE = {
    "id": "3e4f5a6b-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "kind": "card_uid",
    "hint": "7A21",
    "state": "active",
    "value": "04A1B2C37A21",
}


def _profile(data: msgspec.Struct, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        name: value
        for name in data.__struct_fields__
        if name not in skip and (value := getattr(data, name)) is not msgspec.UNSET
    }


@post(
    "/members",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Enrol a member (入会)",
    responses=answers(201, MemberOut, MEMBER_EXAMPLE, 404, 409, description="Created"),
)
async def enrol_member(
    request: Request,
    data: Annotated[
        MemberIn,
        body({"name": "王芳", "phone": "13812345678", "gender": "female", "birthday": "1990-08-15"}),
    ],
) -> MemberOut:
    """Validate, de-duplicate (phone, e-mail, ID number) and enrol; the answer is masked."""
    key = current_key(request)
    program = await program_for(key, data.program_id)
    store = await store_for(key, program, data.store_id)
    profile = {k: v for k, v in _profile(data, skip=("store_id", "program_id", "referrer")).items() if v is not None}
    view = await service.enrol(program.id, profile, store_id=store, actor=key.actor, referrer=data.referrer)
    return MemberOut.of(view)


@get(
    "/members",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Search members",
    responses=answers(
        200, MemberPageOut, {"items": [MEMBER_EXAMPLE], "page": 1, "page_size": 20, "total": 1}, 403, 404
    ),
)
async def search_members(
    request: Request,
    q: Annotated[str, QueryParameter(max_length=100, description="Name fragment, phone, member number or card")] = "",
    tier: Annotated[str | None, QueryParameter(max_length=32)] = None,
    store: Annotated[uuid.UUID | None, QueryParameter(description="Store the member enrolled at")] = None,
    program_id: FromQuery[uuid.UUID | None] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> MemberPageOut:
    """Members of the key's program matching ``q`` (and ``tier``/``store``), newest first."""
    program = await program_for(current_key(request), program_id)
    views, total = await service.search_members(program.id, q, page, page_size, tier=tier, store_id=store)
    return MemberPageOut([MemberOut.of(v) for v in views], page, page_size, total)


@get(
    "/members/{member_id:uuid}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's profile",
    responses=answers(200, MemberOut, MEMBER_EXAMPLE, 403, 404),
)
async def get_member(
    request: Request,
    member_id: FromPath[uuid.UUID],
    reveal: Annotated[bool, QueryParameter(description="Unmasked personal data (admin scope; audited)")] = False,
) -> MemberOut:
    """The profile, masked; ``reveal=true`` (admin keys) shows personal data and is audited. An
    active member's answer says what of their points expires next. A member merged into another
    answers with the member it was merged into (its ``id`` says which)."""
    key = current_key(request)
    row = await member_for(key, member_id)
    if row["status"] == "merged":
        member_id = await service.survivor_of(member_id)
        row = await member_for(key, member_id)
    if reveal:
        require(key, Scope.ADMIN, "reveal personal data", "查看完整个人信息")
    out = MemberOut.of(await service.get_member(member_id, reveal=reveal, actor=key.actor))
    if row["status"] == "active":
        accounts = await MemberAccounts.load(await get_program(row["program_id"]), member_id)
        out.next_expiry = NextExpiryOut.of(await next_expiry(accounts))
    return out


@patch(
    "/members/{member_id:uuid}",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Change a member's profile",
    responses=answers(200, MemberOut, MEMBER_EXAMPLE, 403, 404, 409),
)
async def update_member(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[MemberPatch, body({"email": "wangfang@example.com", "tags": ["vip", "coffee"]})],
) -> MemberOut:
    """Change the fields present in the body; audited with the field names."""
    key = current_key(request)
    await member_for(key, member_id)
    return MemberOut.of(await service.update_profile(member_id, _profile(data), actor=key.actor))


@post(
    "/members/{member_id:uuid}/credentials",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Issue a card or code (发卡)",
    responses=answers(201, CredentialOut, CREDENTIAL_EXAMPLE, 403, 404, 409, description="Created"),
)
async def issue_credential(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[CredentialIn, body({"kind": "card_uid", "value": "04A1B2C37A21"})],
) -> CredentialOut:
    """Bind a credential to the member; refused when an active one has the same value."""
    key = current_key(request)
    row = await member_for(key, member_id)
    store = await member_store(key, row, data.store_id)
    issued = await service.issue_credential(member_id, data.kind, data.value, store, actor=key.actor)
    return CredentialOut(**issued)


async def _credential_for(request: Request, credential_id: FromPath[uuid.UUID]) -> dict[str, Any]:
    """The credential a write touches: another merchant's is not found; a key bound to a store
    may change only credentials issued at that store (or at none)."""
    key = current_key(request)
    row = await service.credential_row(credential_id)
    try:
        await member_for(key, row["member_id"])
    except MemberNotFound:  # another merchant's member: answer as if the card did not exist
        raise CredentialNotFound(kind=credential_id) from None
    if key.store_id is not None and row["store_id"] not in (None, key.store_id):
        raise Forbidden(action="change a card issued at another store", action_zh="变更其他门店发放的卡")
    return row


@post(
    "/credentials/{credential_id:uuid}/block",
    status_code=200,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Block a credential or report it lost (挂失)",
    responses=answers(200, CredentialOut, {**CREDENTIAL_EXAMPLE, "state": "lost", "value": None}, 403, 404),
)
async def block_credential(
    request: Request,
    credential_id: FromPath[uuid.UUID],
    data: Annotated[CredentialBlockIn, body({"reason": "顾客报失", "lost": True})],
) -> CredentialOut:
    """From now on the credential identifies nobody."""
    row = await _credential_for(request, credential_id)
    await service.block_credential(credential_id, actor=current_key(request).actor, reason=data.reason, lost=data.lost)
    state = "lost" if data.lost else "blocked"
    return CredentialOut(row["id"], row["kind"], row["value_hint"], state)


@post(
    "/credentials/{credential_id:uuid}/replace",
    status_code=201,
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Replace a card (补卡/换卡)",
    responses=answers(201, CredentialOut, CREDENTIAL_EXAMPLE, 403, 404, 409, description="Created"),
)
async def replace_credential(
    request: Request,
    credential_id: FromPath[uuid.UUID],
    data: Annotated[CredentialReplaceIn, body({"value": "04FFEE117A22", "reason": "旧卡损坏"})],
) -> CredentialOut:
    """Mark the old credential replaced and issue the new one; balances stay with the member."""
    await _credential_for(request, credential_id)
    new = await service.replace_credential(
        credential_id, data.value, actor=current_key(request).actor, reason=data.reason
    )
    return CredentialOut(**new)


@get(
    "/identify",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Who is this card? (刷卡识别)",
    responses=answers(
        200,
        IdentifyOut,
        {
            "member_id": MEMBER_EXAMPLE["id"],
            "member_no": "620000123457",
            "name": "王芳",
            "tier": "silver",
            "balances": BALANCES_EXAMPLE,
            "next_expiry": NEXT_EXPIRY_EXAMPLE,
        },
        403,
        404,
        409,
    ),
)
async def identify(
    request: Request,
    kind: Annotated[
        str,
        QueryParameter(
            pattern=NAME_PATTERN,
            description="Credential kind: a registered kind's name (card_uid, magstripe, qr_token, barcode,"
            " wechat_openid, phone, or one a plugin adds); the list is GET /api/v1/credential-kinds",
        ),
    ],
    value: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    program_id: FromQuery[uuid.UUID | None] = None,
) -> IdentifyOut:
    """The member a card UID, magstripe, QR token, barcode, phone, openid or a plugin's kind
    belongs to, with their tier, balances and next-expiring points: the card-swipe path of a till. An unknown kind is
    422 ``unknown_credential_kind``, naming the known ones."""
    program = await program_for(current_key(request), program_id)
    member_id = await service.identify(program.id, kind, value)
    row = await service.member_row(member_id, program_id=program.id)
    accounts = await MemberAccounts.load(program, member_id)
    soon = NextExpiryOut.of(await next_expiry(accounts))
    return IdentifyOut(member_id, row["member_no"], row["name"], row["tier"], BalancesOut.of(accounts.balances()), soon)


@get(
    "/credential-kinds",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The credential kinds members identify with",
    responses=answers(
        200,
        list[CredentialKindOut],
        [
            {
                "name": "card_uid",
                "label_zh": "会员卡",
                "label_en": "member card",
                "secret": False,
                "issuable": True,
                "at_counter": True,
                "generated": False,
            }
        ],
        403,
    ),
)
async def list_credential_kinds() -> list[CredentialKindOut]:
    """Every registered kind (the built-in ones first, then the plugins'): what ``kind`` may be
    when issuing, identifying or naming the buyer of a transaction."""
    return [
        CredentialKindOut(
            spec.name,
            spec.label_zh,
            spec.label_en,
            spec.secret,
            spec.issuable,
            spec.at_counter,
            spec.generate is not None,
        )
        for spec in credential_kinds().values()
    ]


ROUTES = [
    enrol_member,
    search_members,
    get_member,
    update_member,
    issue_credential,
    block_credential,
    replace_credential,
    identify,
    list_credential_kinds,
    *rights_api.ROUTES,
    *merge_api.ROUTES,
]
