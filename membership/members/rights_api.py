"""REST routes for a member's rights over their personal data: a copy of everything (export),
erasure, and consent per purpose with its history (PIPL arts. 44-47)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.security import current_key, member_for
from membership.members import rights
from membership.members.consents import PURPOSE, consent_history

TAGS = ["members"]
MEMBER_ID = "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e"


class ErasureIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the member is erased (e.g. 本人申请注销): kept in the audit log."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ErasureOut(msgspec.Struct):
    """An erased member: personal data gone, amounts kept in the ledger."""

    member_id: uuid.UUID
    status: str


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True):
    """Consent given (true) or withdrawn (false), and through what it came."""

    granted: bool
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] = "api"


class ConsentChange(msgspec.Struct):
    """One recorded change of a consent."""

    purpose: str
    granted: bool
    source: str
    actor: str
    recorded_at: dt.datetime


class ConsentsOut(msgspec.Struct):
    """The member's consents now, and every change, oldest first."""

    current: dict[str, bool]
    history: list[ConsentChange]


HISTORY_EXAMPLE = {
    "current": {"marketing": False},
    "history": [
        {
            "purpose": "marketing",
            "granted": True,
            "source": "enrol",
            "actor": "api-key:till-1",
            "recorded_at": "2026-11-23T08:30:00Z",
        },
        {
            "purpose": "marketing",
            "granted": False,
            "source": "sms",
            "actor": "api-key:crm",
            "recorded_at": "2026-12-01T10:00:00Z",
        },
    ],
}


@get(
    "/members/{member_id:uuid}/export",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="A copy of everything held about a member (个人信息副本)",
    responses=answers(
        200,
        dict[str, Any],
        {"profile": {"id": MEMBER_ID, "name": "王芳", "phone": "+8613812345678"}, "credentials": [], "sales": []},
        403,
        404,
    ),
)
async def export_member(request: Request, member_id: FromPath[uuid.UUID]) -> dict[str, Any]:
    """Profile (unmasked), cards with their values, consent history, balances, points lots,
    ledger, sales with lines and refunds, coupons, tier history, paid memberships and sign-ins,
    as the member may ask for them (admin keys; audited)."""
    key = current_key(request)
    await member_for(key, member_id)
    return await rights.export_member(member_id, actor=key.actor)


@post(
    "/members/{member_id:uuid}/erasure",
    status_code=200,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Erase a member's personal data (注销)",
    responses=answers(200, ErasureOut, {"member_id": MEMBER_ID, "status": "erased"}, 403, 404, 409),
)
async def erase_member(
    request: Request, member_id: FromPath[uuid.UUID], data: Annotated[ErasureIn, body({"reason": "本人申请注销"})]
) -> ErasureOut:
    """Delete the member's data key and clear their profile; cards are blocked and their values
    dropped. Sales and ledger amounts stay, no longer linked to a person. Refused (409
    ``erasure_blocked``) while the member holds stored value; an erased member answers 409
    ``member_erased`` from then on. Admin keys; audited."""
    key = current_key(request)
    await member_for(key, member_id)
    await rights.erase_member(member_id, actor=key.actor, reason=data.reason)
    return ErasureOut(member_id, "erased")


@get(
    "/members/{member_id:uuid}/consents",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's consents and their history (授权记录)",
    responses=answers(200, ConsentsOut, HISTORY_EXAMPLE, 403, 404),
)
async def get_consents(request: Request, member_id: FromPath[uuid.UUID]) -> ConsentsOut:
    """What the member agreed to now, and every change with who recorded it and through what."""
    row = await member_for(current_key(request), member_id)
    history = [ConsentChange(**change) for change in await consent_history(member_id)]
    current = msgspec.json.decode(row["consents"]) if isinstance(row["consents"], str) else row["consents"] or {}
    return ConsentsOut(current, history)


@put(
    "/members/{member_id:uuid}/consents/{purpose:str}",
    opt={"scope": Scope.POS},
    tags=TAGS,
    summary="Give or withdraw consent to a purpose (授权 / 撤回)",
    responses=answers(200, ConsentsOut, HISTORY_EXAMPLE, 403, 404, 409),
)
async def set_consent(
    request: Request,
    member_id: FromPath[uuid.UUID],
    purpose: Annotated[str, msgspec.Meta(pattern=PURPOSE)],
    data: Annotated[ConsentIn, body({"granted": False, "source": "sms"})],
) -> ConsentsOut:
    """Record the member's consent to ``purpose`` (``marketing``, ``sms``, ``email``…); a
    withdrawal takes effect at once. Every change is kept with the key that recorded it."""
    key = current_key(request)
    await member_for(key, member_id)
    current = await rights.set_consent(member_id, purpose, data.granted, actor=key.actor, source=data.source)
    history = [ConsentChange(**change) for change in await consent_history(member_id)]
    return ConsentsOut(current, history)


ROUTES = [export_member, erase_member, get_consents, set_consent]
