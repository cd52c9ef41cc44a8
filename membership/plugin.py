"""The public API for plugins: everything a plugin may import, and nothing else.

Packs in ``plugins/`` and drivers and channels in ``contrib/`` import from here only (an
import-linter contract, run by tox, fails otherwise); what is not listed in ``__all__`` is the
kernel's own and may change in any release. What is listed here keeps its name and meaning
within a major version.

Example::

    from membership.plugin import Award, PluginMeta, hookimpl, plugin_settings

    class Settings(msgspec.Struct):
        wine_multiplier: int = 2

    @hookimpl
    def membership_plugin_meta():
        return PluginMeta("酒类加倍", "Wine bonus", "酒类商品积分加倍", "More points on wine", Settings)

    @hookimpl
    def membership_points_awards(context):
        settings = plugin_settings(context.program, "wine-bonus", Settings)
        wine = sum(line.amount for line in context.lines if line.category == "wine")
        return [Award("wine", wine * (settings.wine_multiplier - 1) // 100, "酒类加倍")] if wine else None

The groups:

* **hooks** — ``hookimpl``; the types hooks receive and return: ``EarnContext``, ``LineInput``,
  ``PriceContext`` (member prices), ``Award``, ``MemberFacts``, ``RedeemContext``,
  ``PointsExpiry``, ``TierMetrics``, the condition kinds of points rules (``LineCondition``,
  ``OrderCondition``, their ``ConditionParams`` and ``OrderFacts``; ``RuleCondition`` their base),
  ``TierBenefits``, ``ProgramConfig``, ``CredentialKindSpec``; ``Event`` (``membership_event``);
  the kinds of rewards priced in points (``RewardKind`` with its ``RewardParams`` and the
  ``CouponTerms`` of the coupon a redemption gives); the kinds of promotions at the till
  (``PromotionKind`` with its ``PromotionParams``).
* **event payloads** — ``payload_of(event)`` turns a listener's ``event.data`` into the typed
  payload of its name (:mod:`membership.event_payloads`; ``Payload`` is their base):
  ``MemberEnrolled``, ``MembersImported``, ``MemberErased``, ``MemberMerged``, ``MemberMergeUndone``,
  ``MemberSignedIn``,
  ``ReferralRewarded``, ``CredentialIssued``, ``CredentialBlocked``, ``CredentialReplaced``,
  ``PurchaseRecorded``, ``SaleRefunded``, ``PointsRedeemed``, ``PointsAdjusted``,
  ``PointsTransferred``, ``PointsTransferReversed``,
  ``PointsExpired``, ``PointsExpiring``, ``PointsReleased``, ``StoredValueToppedUp``,
  ``StoredValueCashedOut``, ``TierChanged``, ``PaidMembershipBought``, ``PaidMembershipExpired``,
  ``CouponIssued``, ``CouponRedeemed``.
* **per-program plugins** — ``PluginMeta``, ``plugin_settings``, ``plugin_enabled``,
  ``plugin_programs`` (the programs a plugin is on for: what its jobs work through).
* **errors** — ``Reason`` (an English and a Chinese text), ``MembershipError`` and the common
  kinds: ``ValidationError``, ``NotFound``, ``Conflict``, ``Forbidden``.
* **extension base classes** — ``ReaderDriver`` with ``CredentialRead``, ``ReadFault``, ``ReaderEvent``,
  ``RepeatFilter``, ``SerialSettings``; ``Channel`` with ``Message``, ``DeliveryReport``; ``Report`` with
  ``ReportResult`` and ``ReportColumn`` (a column's heading, unit and whether it adds up); ``Job``
  with ``JobResult``; ``ConsolePage``; ``DemoProfile`` (``membership demo --industry``).
* **reading the kernel's data** — ``get_program``, ``get_member`` (personal data masked),
  ``identify``, ``balances``, ``member_sales``, ``get_sale`` (a sale with its lines and what was refunded
  of them: what a listener of ``purchase.recorded`` or ``sale.refunded`` reads), ``list_stores`` (a
  merchant's stores), ``paid_plans`` (a program's paid plans, ``PaidPlan``: ``paid_plans(program.settings)``),
  ``paid_memberships`` (a member's paid memberships, newest first).
* **coupons** — ``coupon_templates`` (a program's templates), ``create_coupon_template``,
  ``issue_coupon`` (one coupon of a template for a plugin's own occasion, e.g. a completed stamp
  card: once per occasion, inside the plugin's use case).
* **writing through the kernel** — ``record_purchase`` (a purchase recorded for a member as a till
  records it: a plugin that learns of a sale another way, e.g. a receipt claimed later);
  ``buy_paid_membership`` (a paid plan bought or renewed, e.g. an annual pass sold by a pack's own
  page) and ``set_paid_plans`` (a program's plans, e.g. a pack's demo); ``issue_credential`` (a card
  or a kind a plugin registered, bound to a member: 发卡); ``enrol_member`` (入会 through a
  plugin's own form, e.g. a bank's with the ID number, KYC and consents it requires; the
  ``membership_check_enrolment`` hooks are asked as for every enrolment); ``reevaluate_tier`` (the
  tier a member qualifies for now applied outside a purchase, e.g. after a bank's monthly balances
  arrived); ``configure_tiers`` (a program's tiers and tier policy, e.g. a bank's demo with its
  普卡/金卡/白金卡/钻石卡).
* **consents** — ``set_member_consent`` (give or withdraw a member's consent to one purpose,
  kept in the profile and in its history, e.g. a bank's 营销短信 or 第三方共享) and
  ``member_consent_history`` (every recorded change, oldest first).
* **a plugin's secrets about a member** — ``seal_member_secret`` and ``open_member_secret``: a
  value (a pass's QR-code key) sealed under the member's data key for the plugin's own table,
  readable after a key rotation, unreadable once the member is erased.
* **a plugin's own tables** — ``use_case`` (one transaction), ``fetch``, ``fetch_one``,
  ``execute``, ``new_id``, ``is_sqlite``, ``emit``: SQL on the plugin's own tables (declared
  through ``membership_piccolo_apps``); the kernel's tables are read through the functions above.
  ``conflict_target`` names a unique key in ``ON CONFLICT`` as the database holds it (on Citus a
  table carrying the program is keyed with it too: docs/scaling.md).
* **API routes** — ``Scope``, ``current_key``, ``program_for``, ``member_for`` (a route of a plugin
  checks that its key may see the program or member it names, as the kernel's do), ``store_for``
  (the store a write happens at: the program's merchant's, open, and the key's own when it is bound
  to one).
* **console pages** — ``staff_program`` (the program a logged-in staff member's pages work on:
  ``await staff_program(request.state.staff)``).

Tests use :mod:`membership.testing` (fixtures, factories, an API client).
"""

from __future__ import annotations

from membership.access.service import Scope
from membership.analytics.interface import Report, ReportColumn, ReportResult
from membership.api.security import current_key, member_for, program_for, store_for
from membership.console.pages import ConsolePage
from membership.console.workplace import staff_program
from membership.coupons.service import create_template as create_coupon_template
from membership.coupons.service import issue_coupon
from membership.coupons.service import list_templates as coupon_templates
from membership.db import emit, execute, fetch, fetch_one, is_sqlite, new_id, use_case
from membership.db.citus import conflict_target
from membership.demo.service import DemoProfile
from membership.errors import Conflict, Forbidden, MembershipError, NotFound, Reason, ValidationError
from membership.event_payloads import (
    CouponIssued,
    CouponRedeemed,
    CredentialBlocked,
    CredentialIssued,
    CredentialReplaced,
    MemberEnrolled,
    MemberErased,
    MemberMerged,
    MemberMergeUndone,
    MemberSignedIn,
    MembersImported,
    PaidMembershipBought,
    PaidMembershipExpired,
    Payload,
    PointsAdjusted,
    PointsExpired,
    PointsExpiring,
    PointsRedeemed,
    PointsReleased,
    PointsTransferred,
    PointsTransferReversed,
    PurchaseRecorded,
    ReferralRewarded,
    SaleRefunded,
    StoredValueCashedOut,
    StoredValueToppedUp,
    TierChanged,
    payload_of,
)
from membership.events import Event
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job, JobResult
from membership.ledger.conditions import ConditionParams, LineCondition, OrderCondition, OrderFacts, RuleCondition
from membership.ledger.rulebook import MemberFacts
from membership.ledger.rules import Award, EarnContext, LineInput, PointsExpiry, RedeemContext
from membership.ledger.service import balances
from membership.members.consents import consent_history as member_consent_history
from membership.members.credentials import CredentialKindSpec
from membership.members.plugin_secrets import open_member_secret, seal_member_secret
from membership.members.rights import set_consent as set_member_consent
from membership.members.service import enrol as enrol_member
from membership.members.service import get_member, identify, issue_credential
from membership.notifications.interface import Channel, DeliveryReport, Message
from membership.org.program_plugins import PluginMeta, plugin_settings
from membership.org.program_plugins import enabled as plugin_enabled
from membership.org.program_plugins import enabled_programs as plugin_programs
from membership.org.service import ProgramConfig, get_program, list_stores
from membership.promotions.kinds import PromotionKind, PromotionParams
from membership.readers.interface import (
    CredentialRead,
    ReaderDriver,
    ReaderEvent,
    ReadFault,
    RepeatFilter,
    SerialSettings,
)
from membership.rewards.kinds import CouponTerms, RewardKind, RewardParams
from membership.sales.detail import get_sale
from membership.sales.prices import PriceContext
from membership.sales.service import member_sales, record_purchase
from membership.tiers.paid import buy as buy_paid_membership
from membership.tiers.paid import memberships as paid_memberships
from membership.tiers.paid import set_plans as set_paid_plans
from membership.tiers.policy import PaidPlan, TierBenefits, TierMetrics, paid_plans
from membership.tiers.service import configure as configure_tiers
from membership.tiers.service import reevaluate_member as reevaluate_tier

__all__ = [
    "Award",
    "Channel",
    "ConditionParams",
    "Conflict",
    "ConsolePage",
    "CouponIssued",
    "CouponRedeemed",
    "CouponTerms",
    "CredentialBlocked",
    "CredentialIssued",
    "CredentialKindSpec",
    "CredentialRead",
    "CredentialReplaced",
    "DeliveryReport",
    "DemoProfile",
    "EarnContext",
    "Event",
    "Forbidden",
    "Job",
    "JobResult",
    "LineCondition",
    "LineInput",
    "MemberEnrolled",
    "MemberErased",
    "MemberFacts",
    "MemberMergeUndone",
    "MemberMerged",
    "MemberSignedIn",
    "MembersImported",
    "MembershipError",
    "Message",
    "NotFound",
    "OrderCondition",
    "OrderFacts",
    "PaidMembershipBought",
    "PaidMembershipExpired",
    "PaidPlan",
    "Payload",
    "PluginMeta",
    "PointsAdjusted",
    "PointsExpired",
    "PointsExpiring",
    "PointsExpiry",
    "PointsRedeemed",
    "PointsReleased",
    "PointsTransferReversed",
    "PointsTransferred",
    "PriceContext",
    "ProgramConfig",
    "PromotionKind",
    "PromotionParams",
    "PurchaseRecorded",
    "ReadFault",
    "ReaderDriver",
    "ReaderEvent",
    "Reason",
    "RedeemContext",
    "ReferralRewarded",
    "RepeatFilter",
    "Report",
    "ReportColumn",
    "ReportResult",
    "RewardKind",
    "RewardParams",
    "RuleCondition",
    "SaleRefunded",
    "Scope",
    "SerialSettings",
    "StoredValueCashedOut",
    "StoredValueToppedUp",
    "TierBenefits",
    "TierChanged",
    "TierMetrics",
    "ValidationError",
    "balances",
    "buy_paid_membership",
    "configure_tiers",
    "conflict_target",
    "coupon_templates",
    "create_coupon_template",
    "current_key",
    "emit",
    "enrol_member",
    "execute",
    "fetch",
    "fetch_one",
    "get_member",
    "get_program",
    "get_sale",
    "hookimpl",
    "identify",
    "is_sqlite",
    "issue_coupon",
    "issue_credential",
    "list_stores",
    "member_consent_history",
    "member_for",
    "member_sales",
    "new_id",
    "open_member_secret",
    "paid_memberships",
    "paid_plans",
    "payload_of",
    "plugin_enabled",
    "plugin_programs",
    "plugin_settings",
    "program_for",
    "record_purchase",
    "reevaluate_tier",
    "seal_member_secret",
    "set_member_consent",
    "set_paid_plans",
    "staff_program",
    "store_for",
    "use_case",
]
