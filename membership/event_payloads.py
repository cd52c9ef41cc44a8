"""What each event carries: one payload type per event name.

The kernel emits an :class:`~membership.events.Event` whose ``data`` holds exactly the fields of
the event's payload type here (a test scans every ``emit(Event(...))`` in the kernel and fails
when a name has no type, or when the keys and the fields differ). A listener receives ``data``
as JSON values (ids, dates and times as text); :func:`payload_of` turns it into the typed
payload::

    from membership.plugin import PurchaseRecorded, hookimpl, payload_of

    @hookimpl
    async def membership_event(event):
        if event.name == "purchase.recorded":
            sale: PurchaseRecorded = payload_of(event)
            await tell_the_crm(event.member_id, sale.sale_id, sale.total)

Every event also has ``program_id``, ``member_id`` (None where the event is the program's, such as
``points.released``), ``occurred_at`` and ``id`` (the same id on every retry: de-duplicate by it).
Amounts are integers in the program currency's minor unit (fen); points are whole points.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import ClassVar, TypeVar

import msgspec

from membership.events import Event

P = TypeVar("P", bound="Payload")

PAYLOADS: dict[str, type[Payload]] = {}
"""Every event name the kernel emits, with its payload type."""


class Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The base of every payload type; ``event`` is the name of the event it belongs to."""

    event: ClassVar[str] = ""


def _payload(name: str) -> Callable[[type[P]], type[P]]:
    """Class decorator: the payload type of the event ``name``."""

    def register(cls: type[P]) -> type[P]:
        if name in PAYLOADS:
            raise ValueError(f"two payload types for the event {name!r}")
        cls.event = name
        PAYLOADS[name] = cls
        return cls

    return register


def payload_of(event: Event) -> Payload:
    """``event.data`` as the typed payload of ``event.name`` (ids, dates and times parsed from
    text). Raises ``LookupError`` for a name the kernel does not emit (a plugin's own event) and
    ``msgspec.ValidationError`` for data that does not fit the type."""
    schema = PAYLOADS.get(event.name)
    if schema is None:
        raise LookupError(f"no payload type for the event {event.name!r}: {', '.join(sorted(PAYLOADS))}")
    return msgspec.convert(event.data, schema, strict=False)


def payload_fields(schema: type[Payload]) -> list[str]:
    """The keys a payload type's events carry in ``data`` (as written, e.g. ``from``)."""
    info = msgspec.structs.fields(schema)
    return [field.encode_name for field in info]


# -- members -----------------------------------------------------------------------------------


@_payload("member.enrolled")
class MemberEnrolled(Payload, frozen=True):
    """``member.enrolled``: a member joined (入会), at the till, in the console or by the API."""

    store_id: uuid.UUID | None
    """The store they enrolled at, if any."""
    actor: str
    """Who enrolled them (a staff name, ``api:<key>``, ``system``)."""
    referrer: uuid.UUID | None
    """The member who referred them (推荐人), if any."""


@_payload("members.imported")
class MembersImported(Payload, frozen=True):
    """``members.imported``: one chunk of an import wrote these members (``member_id`` is None)."""

    members: list[uuid.UUID]
    """The new members' ids."""
    actor: str
    """Who ran the import."""


@_payload("member.erased")
class MemberErased(Payload, frozen=True):
    """``member.erased``: the member's personal data was erased (their financial entries stay,
    anonymised). Carries nothing: drop what you keep about ``event.member_id``."""


@_payload("member.merged")
class MemberMerged(Payload, frozen=True):
    """``member.merged``: other members were merged into ``event.member_id`` (会员合并): their
    cards, ledgers, tier history, coupons, sales and paid memberships are this member's now. A
    pack moves what it keeps about the ``merged`` members here."""

    merge_id: uuid.UUID
    """The merge (undo it with ``POST /member-merges/{id}/undo`` within a day)."""
    merged: list[uuid.UUID]
    """The members merged in: they forward to ``event.member_id`` now."""


@_payload("member.merge_undone")
class MemberMergeUndone(Payload, frozen=True):
    """``member.merge_undone``: a merge into ``event.member_id`` was undone; the ``merged``
    members are members of their own again, with what they brought."""

    merge_id: uuid.UUID
    """The merge undone."""
    merged: list[uuid.UUID]
    """The members restored."""


@_payload("member.signed_in")
class MemberSignedIn(Payload, frozen=True):
    """``member.signed_in``: the member's daily sign-in (每日签到)."""

    day: dt.date
    """The day signed in, in the program's zone."""
    streak: int
    """Consecutive days signed in, this one included."""


@_payload("referral.rewarded")
class ReferralRewarded(Payload, frozen=True):
    """``referral.rewarded``: ``event.member_id`` earned a reward for referring a new member."""

    referee: uuid.UUID
    """The new member they referred."""


# -- credentials -------------------------------------------------------------------------------


@_payload("credential.issued")
class CredentialIssued(Payload, frozen=True):
    """``credential.issued``: a card, QR token or other credential was bound to the member (发卡)."""

    credential_id: uuid.UUID
    """The credential's id."""
    kind: str
    """Its kind (``card_uid``, ``qr_token``, … or one a plugin registered)."""


@_payload("credential.blocked")
class CredentialBlocked(Payload, frozen=True):
    """``credential.blocked``: a credential was blocked or reported lost (挂失)."""

    credential_id: uuid.UUID
    """The credential's id."""
    state: str
    """``blocked`` or ``lost``."""


@_payload("credential.replaced")
class CredentialReplaced(Payload, frozen=True):
    """``credential.replaced``: a credential was replaced by a new one (补卡)."""

    old: uuid.UUID
    """The replaced credential's id."""
    new: uuid.UUID
    """The new credential's id."""


# -- sales -------------------------------------------------------------------------------------


@_payload("purchase.recorded")
class PurchaseRecorded(Payload, frozen=True):
    """``purchase.recorded``: a member's purchase (消费) was recorded."""

    sale_id: uuid.UUID
    """The sale's id."""
    store_id: uuid.UUID
    """Where it was made."""
    total: int
    """What the member paid: the lines less coupon discounts (minor units)."""
    discount: int
    """What coupons took off the lines (minor units)."""
    points_earned: int
    """Points the sale earned."""


@_payload("sale.refunded")
class SaleRefunded(Payload, frozen=True):
    """``sale.refunded``: a sale or some of its lines were refunded (退货)."""

    sale_id: uuid.UUID
    """The refunded sale's id."""
    amount: int
    """What was given back (minor units)."""
    debt: int
    """Points the member had already spent and now owes (repaid by later earnings)."""


# -- points ------------------------------------------------------------------------------------


@_payload("points.redeemed")
class PointsRedeemed(Payload, frozen=True):
    """``points.redeemed``: points were redeemed for a gift or service (积分兑换)."""

    points: int
    """Points taken."""
    store_id: uuid.UUID | None
    """Where, if at a store."""


@_payload("points.adjusted")
class PointsAdjusted(Payload, frozen=True):
    """``points.adjusted``: staff or an integration adjusted the member's points by hand."""

    points: int
    """Points added (negative: taken)."""
    reason: str
    """The reason given."""
    actor: str
    """Who adjusted them."""


@_payload("points.transferred")
class PointsTransferred(Payload, frozen=True):
    """``points.transferred``: ``event.member_id`` gave points to another member (积分转赠)."""

    transfer_id: uuid.UUID
    """The transfer (``GET /points-transfers/{id}``)."""
    to_member_id: uuid.UUID
    """The member who received them."""
    points: int
    """Points given."""


@_payload("points.transfer_reversed")
class PointsTransferReversed(Payload, frozen=True):
    """``points.transfer_reversed``: an admin reversed a transfer ``event.member_id`` made."""

    transfer_id: uuid.UUID
    """The transfer."""
    points: int
    """Points given back to ``event.member_id`` (those that expired meanwhile are not)."""
    debt: int
    """Points the receiver had already spent: now their debt."""


@_payload("points.expired")
class PointsExpired(Payload, frozen=True):
    """``points.expired``: the member's points lots reached their expiry and were written off."""

    lots: int
    """How many lots expired."""
    points: int
    """Points written off."""


@_payload("points.expiring")
class PointsExpiring(Payload, frozen=True):
    """``points.expiring``: the member has points that expire soon (the warning job; once per lot)."""

    points: int
    """Points that expire by ``expires_at``."""
    expires_at: dt.datetime
    """The earliest expiry among them."""


@_payload("points.released")
class PointsReleased(Payload, frozen=True):
    """``points.released``: pending points became spendable (``member_id`` is None: one event
    per run of the release job and program)."""

    lots: int
    """How many pending lots were released."""
    points: int
    """Points released."""


# -- stored value ------------------------------------------------------------------------------


@_payload("stored_value.topped_up")
class StoredValueToppedUp(Payload, frozen=True):
    """``stored_value.topped_up``: stored value was added (储值充值)."""

    amount: int
    """The amount paid in (minor units)."""
    bonus: int
    """The bonus a top-up plan added (充100送20: 2000)."""
    store_id: uuid.UUID | None
    """Where, if at a store."""
    plan: str | None
    """The top-up plan's code, if one was used."""


@_payload("stored_value.cashed_out")
class StoredValueCashedOut(Payload, frozen=True):
    """``stored_value.cashed_out``: the member's stored value was paid back to them (退储值)."""

    amount: int
    """The amount paid back (minor units)."""
    bonus_forfeited: int
    """Bonus value that was given up with it."""


# -- tiers and paid membership ------------------------------------------------------------------


@_payload("tier.changed")
class TierChanged(Payload, frozen=True):
    """``tier.changed``: the member's tier (等级) changed."""

    from_tier: str | None = msgspec.field(name="from")
    """The tier before (``data["from"]``; None: no tier)."""
    to_tier: str | None = msgspec.field(name="to")
    """The tier after (``data["to"]``; None: no tier)."""
    reason: str
    """Why: ``upgrade``, ``renewal``, ``downgrade``, ``refund``, ``paid`` or ``paid_expired``."""


@_payload("paid_membership.bought")
class PaidMembershipBought(Payload, frozen=True):
    """``paid_membership.bought``: the member bought a paid membership (付费会员)."""

    plan: str
    """The plan's code."""
    ends_at: dt.datetime
    """When it ends."""


@_payload("paid_membership.expired")
class PaidMembershipExpired(Payload, frozen=True):
    """``paid_membership.expired``: a paid membership reached its end."""

    membership_id: uuid.UUID
    """The paid membership's id."""


# -- coupons -----------------------------------------------------------------------------------


@_payload("coupon.issued")
class CouponIssued(Payload, frozen=True):
    """``coupon.issued``: a coupon (优惠券) was issued to the member."""

    code: str
    """The coupon's code."""
    template: str
    """The code of the template it was issued from."""
    valid_until: dt.date
    """Its last valid day (inclusive, in the program's zone)."""


@_payload("coupon.redeemed")
class CouponRedeemed(Payload, frozen=True):
    """``coupon.redeemed``: a coupon was used in a purchase."""

    code: str
    """The coupon's code."""
    template: str
    """The code of its template."""
    sale_id: uuid.UUID
    """The sale it was used in."""
    discount: int
    """What it took off (minor units)."""
