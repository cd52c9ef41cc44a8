"""Every hook a plugin can implement, grouped by family.

A plugin is a module or object with functions marked ``@hookimpl`` whose names match these
specs. An implementation may take fewer arguments than the spec (new arguments never break old
plugins) and may return an awaitable instead of a value: the kernel awaits it, before any
``wrapper=True`` implementation sees the results (wrappers themselves are plain generators:
``result = yield``). The hooks whose docs say "May return an awaitable" work this way; the ones
that do not (normalisers, tier benefits, expiry, registries) must answer at once.

Built-in behaviour is itself a set of plugins (``membership.builtin.*``, marked ``trylast``), so a
pack overrides a default by implementing the same hook; ``firstresult`` hooks stop at the first
non-None answer.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import random

    import typer

    from membership.analytics.interface import Report
    from membership.console.pages import ConsolePage
    from membership.demo.service import DemoProfile
    from membership.errors import Reason
    from membership.events import Event
    from membership.jobs.interface import Job
    from membership.ledger.conditions import RuleCondition
    from membership.ledger.rules import Award, EarnContext, PointsExpiry, RedeemContext
    from membership.members.credentials import CredentialKindSpec
    from membership.notifications.interface import Channel
    from membership.org.program_plugins import PluginMeta
    from membership.org.service import ProgramConfig
    from membership.promotions.kinds import PromotionKind
    from membership.readers.interface import ReaderDriver
    from membership.rewards.kinds import RewardKind
    from membership.sales.prices import PriceContext
    from membership.tiers.policy import TierBenefits, TierMetrics

hookspec = pluggy.HookspecMarker("membership")
hookimpl = pluggy.HookimplMarker("membership")


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def membership_normalize_credential(kind: str, value: str) -> str | None:
    """Return the canonical form of a credential value, or None to let the next plugin decide.

    Stops at the first non-None result. The built-in plugin upper-cases card UIDs and strips
    separators, trims QR/barcode tokens and turns phone numbers into E.164.

    :param kind: ``card_uid``, ``magstripe``, ``qr_token``, ``barcode``, ``phone``,
        ``wechat_openid`` or a kind a pack adds.
    :param value: the value as read or typed.
    :returns: the canonical value (what is hashed and stored), or None.

    Example::

        @hookimpl
        def membership_normalize_credential(kind, value):
            if kind == "card_uid" and len(value) == 8:  # this shop's readers print 4 bytes
                return value.upper().zfill(10)
    """


@hookspec(firstresult=True)
def membership_identify(program_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
    """Return the member a credential belongs to, or None when this plugin does not know it.

    Stops at the first non-None result. The built-in plugin looks the value up by keyed hash
    among issued credentials (and members' phone numbers for ``kind="phone"``) and raises
    ``CredentialBlocked``/``CredentialReplaced`` for cards that may not be used. A pack can
    resolve other identities first, e.g. a bank's customer number.

    :param program_id: the program the terminal works for.
    :param kind: the credential kind.
    :param value: the canonical value (after ``membership_normalize_credential``).
    :returns: the member's id, or None. May return an awaitable.

    Example::

        @hookimpl(tryfirst=True)
        async def membership_identify(program_id, kind, value):
            if kind == "bank_customer":
                return await lookup_core_banking(value)
    """


@hookspec
def membership_normalize_profile(profile: dict[str, Any]) -> None:
    """Tidy a member profile before it is validated and stored; change ``profile`` in place.

    Every implementation runs (the return value is ignored). The built-in plugin trims names,
    lower-cases e-mail addresses and upper-cases ID numbers.

    :param profile: the fields being enrolled or updated (``name``, ``phone``, ``email``,
        ``id_number``, ``address``, ``tags``, ``preferences``…); only the keys being written are
        present.
    :returns: nothing.

    Example::

        @hookimpl
        def membership_normalize_profile(profile):
            if "name" in profile:
                profile["name"] = opencc.convert(profile["name"])  # 繁体 → 简体
    """


@hookspec(firstresult=True)
def membership_find_duplicate(program_id: uuid.UUID, profile: dict[str, Any]) -> tuple[str, uuid.UUID] | None:
    """Return an existing member the new profile duplicates, or None.

    Stops at the first non-None result. Enrolment refuses a duplicate with ``DuplicateMember``.
    The built-in plugin matches on the phone number's keyed hash, then the e-mail's.

    :param program_id: the program being enrolled into.
    :param profile: the normalised profile as columns, with ``phone_hash``/``email_hash``/
        ``id_number_hash`` filled in, and ``phone_hashes``/``email_hashes``/``id_number_hashes``:
        the value's hash under every configured key (a member a key rotation has not reached yet
        still has the old key's hash, so match on all of them).
    :returns: ``(field, member_id)`` of the duplicate (``field`` names what matched), or None.
        May return an awaitable.

    Example::

        @hookimpl(tryfirst=True)
        async def membership_find_duplicate(program_id, profile):
            row = await fetch_one("SELECT id FROM member WHERE program_id = {} AND "
                                  "id_number_hash = {}", program_id, profile["id_number_hash"])
            return ("id_number", row["id"]) if row else None
    """


@hookspec(firstresult=True)
def membership_check_enrolment(program: ProgramConfig, profile: dict[str, Any]) -> Reason | str | None:
    """Return a reason to refuse an enrolment (入会), or None to allow it.

    Stops at the first non-None result (the refusal). Asked by every enrolment (API
    ``POST /members``, the console, ``enrol_member`` of a plugin's own form), after the profile was
    normalised and validated and before it is stored, for the program's plugins only (a
    per-program plugin that is off there is not asked); the enrolment is refused with 422
    ``enrolment_refused`` and the reason. A bulk import does not ask it (the members come from a
    system that already enrolled them). Use it for what a business requires before it takes a
    member: a bank's ID number, KYC and consents.

    :param program: the program being enrolled into.
    :param profile: the normalised profile (``name``, ``phone``, ``id_number``, ``consents``,
        ``preferences``…): only the keys the enrolment gave.
    :returns: a :class:`membership.errors.Reason` with its English and Chinese text (or plain
        text in the program's language), or None. May return an awaitable.

    Example::

        from membership.plugin import Reason

        @hookimpl
        def membership_check_enrolment(program, profile):
            if not profile.get("id_number"):
                return Reason("an ID number is required", "须登记身份证号")
            if not profile.get("consents", {}).get("personal_info"):
                return Reason("consent to personal data processing is required", "须同意个人信息处理授权")
    """


# -- credential kinds ----------------------------------------------------------------------


@hookspec
def membership_register_credential_kinds() -> list[CredentialKindSpec] | None:
    """Return the credential kinds the plugin adds (:class:`~membership.members.credentials.CredentialKindSpec`).

    Every implementation runs; a name registered by two plugins is refused with an error naming
    both. The API (issuing, ``GET /identify``, a transaction's ``credential``), the services, the
    readers and the console accept exactly the registered kinds, and refuse any other with 422
    ``unknown_credential_kind`` listing them; ``GET /api/v1/credential-kinds`` lists them with
    their labels. The built-in identity plugin registers ``card_uid``, ``magstripe``,
    ``qr_token``, ``barcode``, ``wechat_openid`` and ``phone`` this way.

    A kind's ``normalize`` gives the canonical value (unless a ``membership_normalize_credential``
    implementation answers first) and raises a ``ValidationError`` with a ``Reason`` for bad input;
    its ``mask`` is what staff see (the API's ``hint``). A ``secret`` kind (an ID-card number) keeps no hint and is
    never returned or shown: only its keyed hash finds it (a secret kind that gives its own ``mask``,
    a bank card's ``622202******1234``, keeps that mask and nothing more). Its value is still sealed under the
    member's data key, for a key rotation to recompute that hash under the new key (a hash alone
    cannot be moved: the credential would stop identifying anyone once the old key is retired) and
    for the member's own data export; erasing the member deletes it with their data key.

    :returns: a list of kind specs, or None.

    Example::

        from membership.plugin import CredentialKindSpec, Reason, ValidationError

        def bank_card(value):
            digits = value.replace(" ", "").replace("-", "")
            if not (digits.isdigit() and 12 <= len(digits) <= 19 and luhn(digits)):  # 校验位
                raise ValidationError(field="value", reason=Reason("not a bank card number", "不是有效的银行卡号"))
            return digits

        @hookimpl
        def membership_register_credential_kinds():
            return [CredentialKindSpec("bank_card", "银行卡", "bank card", normalize=bank_card, secret=True,
                                       mask=lambda v: v[:6] + "*" * (len(v) - 10) + v[-4:])]
    """


# --------------------------------------------------------------------------------------------
# Tier policy
# --------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def membership_tier_for(program: ProgramConfig, member_id: uuid.UUID, metrics: TierMetrics) -> str | None:
    """Return the tier code a member holds given their metrics, or None for no tier.

    Stops at the first non-None result. Called after every purchase and refund (a higher tier
    applies at once) and by the ``review-tiers`` job when a member's tier period ends (lower
    tiers apply then, as the program's tier policy says). The built-in policy takes the highest
    of the program's tiers whose ``threshold`` the policy's metric reaches (bounds inclusive).
    A bank's pack replaces it with assets-based tiers.

    :param program: the program's configuration.
    :param member_id: the member.
    :param metrics: growth, net spend, points and visits over the tier policy's rolling window.
    :returns: a tier code, or None. May return an awaitable.

    Example::

        @hookimpl(tryfirst=True)
        def membership_tier_for(program, member_id, metrics):
            return "vip" if metrics.spend >= 1_000_000 else "member"
    """


@hookspec(firstresult=True)
def membership_tiers_for(
    program: ProgramConfig, metrics: dict[uuid.UUID, TierMetrics]
) -> dict[uuid.UUID, str | None] | None:
    """Return the tier code (or None) of every member in ``metrics`` at once, or None to have each
    asked through ``membership_tier_for``.

    Stops at the first non-None result. The ``review-tiers`` job asks it for each chunk of
    members (thousands): one call instead of one per member. The built-in policy answers it only
    while no other plugin implements ``membership_tier_for``, so a pack that replaces the policy
    member by member is always asked member by member; a pack that can decide many members at
    once implements both.

    :param program: the program's configuration.
    :param metrics: each member's growth, net spend, points and visits over the policy's window.
    :returns: a tier code or None for every member of ``metrics``, or None. May return an
        awaitable.

    Example::

        @hookimpl(tryfirst=True)
        def membership_tiers_for(program, metrics):
            return {member_id: "vip" if m.spend >= 1_000_000 else "member" for member_id, m in metrics.items()}
    """


@hookspec(firstresult=True)
def membership_tier_benefits(program: ProgramConfig, tier: str) -> TierBenefits | None:
    """Return what a tier gives (points multiplier, discount, free items, upgrade coupons), or
    None when it is unknown here.

    Stops at the first non-None result. The built-in points rules add the benefit's
    ``points_multiplier_pct`` to base points.

    :param program: the program's configuration.
    :param tier: the tier code.
    :returns: the tier's benefits, or None.

    Example::

        @hookimpl(tryfirst=True)
        def membership_tier_benefits(program, tier):
            if tier == "black":
                return TierBenefits(tier, "黑金", points_multiplier_pct=300, discount_pct=12)
    """


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------


@hookspec
def membership_line_prices(context: PriceContext) -> list[tuple[int, int]] | None:
    """Return member prices (会员价) for lines of a sale, before it is priced.

    Every implementation runs; for each line the lowest price offered wins, and a price at or
    above the listed ``unit_price`` changes nothing. ``POST /transactions``, its ``simulate`` and
    the console's counter price lines here, so a simulation shows what the purchase will cost.
    The sale keeps each line's listed price and its member price; its ``discount`` includes what
    member prices took off (``member_discount``), the ``payments`` add up to what is left after
    coupons, which apply to the member prices, as do the points rules (``line.amount`` is what
    the member pays) and refunds (a refunded line gives back what was paid for it).

    :param context: the lines as the till sent them (``line_no`` is the position from 1), the
        member, their tier, the store, the time and the sale's attributes.
    :returns: a list of ``(line_no, unit_price)`` pairs in minor units, or None. May return an
        awaitable.

    Example::

        @hookimpl
        def membership_line_prices(context):
            if context.tier in ("gold", "diamond"):  # 金卡及以上会员 95 折
                return [(no, line.unit_price * 95 // 100) for no, line in enumerate(context.lines, 1)]
    """


# --------------------------------------------------------------------------------------------
# Points rules
# --------------------------------------------------------------------------------------------


@hookspec
def membership_points_awards(context: EarnContext) -> list[Award] | None:
    """Return the points a purchase earns, as awards that each name their rule and reason.

    Every implementation runs; their awards are added up. A ``wrapper=True`` implementation sees
    every implementation's answer, already awaited (``results = yield``: a list of lists of
    awards) and may return a changed one: that is where caps and stacking rules (best-of,
    exclusive) belong. The built-in rule grants 1 point per currency
    unit of ``context.earning_base`` (rounded down), times the tier's multiplier.

    :param context: the purchase (lines, totals, member, store, program, tier).
    :returns: a list of :class:`~membership.ledger.rules.Award`, or None. May return an
        awaitable.

    Example::

        @hookimpl
        def membership_points_awards(context):
            wine = sum(l.amount for l in context.lines if l.category == "wine")
            if wine:
                return [Award("wine-double", wine // 100, "酒类双倍积分")]
    """


@hookspec
def membership_growth_awards(context: EarnContext) -> list[Award] | None:
    """Return the growth (成长值) a purchase earns, as awards; every implementation runs.

    The built-in rule grants 1 growth per currency unit of ``context.earning_base``.

    :param context: the purchase.
    :returns: a list of awards (``points`` is the growth amount), or None. May return an
        awaitable.

    Example::

        @hookimpl
        def membership_growth_awards(context):
            return [Award("visit", 10, "到店一次 +10 成长值")]
    """


@hookspec(firstresult=True)
def membership_check_redemption(context: RedeemContext) -> Reason | str | None:
    """Return a reason to refuse a redemption, or None to allow it.

    Stops at the first non-None result (the refusal). The kernel itself already refuses
    redemptions above the balance; this hook adds business limits (minimum points, daily caps,
    blacklisted members).

    :param context: who redeems how many points, where, and why.
    :returns: a human reason (shown to the cashier): a :class:`membership.errors.Reason` with its
        English and Chinese text, or plain text in the program's language; or None. May return an
        awaitable.

    Example::

        from membership.errors import Reason

        @hookimpl
        def membership_check_redemption(context):
            if context.points < 100:
                return Reason("at least 100 points per redemption", "每次至少兑换 100 积分")
    """


@hookspec(firstresult=True)
def membership_points_expiry(program: ProgramConfig, earned_at: Any) -> PointsExpiry | None:
    """Return when points earned at ``earned_at`` expire, or None to let the next plugin decide.

    Stops at the first non-None result. The built-in policy follows the program's points policy
    (never, N days after earning, or the end of the month or year N months after; a program
    with only ``points_expiry_days`` expires points that many days after earning).

    :param program: the program's configuration (its ``time_zone`` matters for "end of year").
    :param earned_at: the UTC ``datetime`` the lot is created.
    :returns: a :class:`~membership.ledger.rules.PointsExpiry`, or None.

    Example::

        @hookimpl(tryfirst=True)
        def membership_points_expiry(program, earned_at):
            local = earned_at.astimezone(ZoneInfo(program.time_zone))
            end = datetime(local.year + 1, 12, 31, 23, 59, 59, tzinfo=local.tzinfo)
            return PointsExpiry(end.astimezone(UTC))  # 次年年底清零
    """


@hookspec
def membership_register_rule_conditions() -> list[type[RuleCondition]] | None:
    """Return condition kinds points rules may name in their ``conditions`` (规则条件).

    Every implementation runs; each class is a :class:`~membership.ledger.conditions.LineCondition`
    (which sold lines a rule counts) or an :class:`~membership.ledger.conditions.OrderCondition`
    (whether the purchase qualifies), with a unique ``name``, Chinese and English labels, its
    ``Params`` (a msgspec Struct of the condition's fields besides ``kind``) and ``describe``.
    The built-in kinds (``sku``, ``category``, ``brand``, ``label``, ``min_quantity``, ``code``)
    are registered this way; a name registered twice is refused. A rule is checked against the
    kinds when it is saved, and evaluated on every purchase and in ``simulate``, which says why a
    condition did not hold.

    :returns: a list of condition classes, or None.

    Example::

        from membership.plugin import OrderCondition, Reason

        class DineIn(OrderCondition):
            name, label_zh, label_en = "dine_in", "堂食", "dine-in"

            def check(self, params, order):
                if order.context.attributes.get("service_mode") != "dine_in":
                    return Reason("only for dine-in", "仅限堂食")
                return None

        @hookimpl
        def membership_register_rule_conditions():
            return [DineIn]
    """


@hookspec
def membership_register_reward_kinds() -> list[type[RewardKind]] | None:
    """Return kinds of rewards priced in points (积分商城 / 积分兑换) a reward's ``kind`` may name.

    Every implementation runs; each class is a :class:`~membership.rewards.kinds.RewardKind`
    with a unique ``name``, Chinese and English labels, its ``Params`` (a msgspec Struct of the
    reward's ``params``), ``describe`` (what the reward gives, in words) and ``coupon`` (the
    :class:`~membership.rewards.kinds.CouponTerms` of the coupon a redemption gives: the reward is
    delivered through the coupon engine, so a discount bought with points is applied at the till
    like any coupon). The built-in kinds (``gift``: a product given free; ``discount``: percent or
    amount off) are registered this way; a name registered twice is refused. A reward is checked
    against its kind when it is saved; a reward whose kind no plugin registers any more cannot be
    redeemed.

    :returns: a list of reward kind classes, or None.

    Example::

        from membership.plugin import CouponTerms, RewardKind, RewardParams

        class VoucherParams(RewardParams, frozen=True):
            yuan: Annotated[int, msgspec.Meta(ge=1, le=1000, title="面额（元）")]

        class Voucher(RewardKind):
            name, label_zh, label_en = "voucher", "代金券", "cash voucher"
            Params = VoucherParams

            def coupon(self, params):
                return CouponTerms("amount_off", amount_off=params.yuan * 100)

        @hookimpl
        def membership_register_reward_kinds():
            return [Voucher]
    """


@hookspec
def membership_register_promotion_kinds() -> list[type[PromotionKind]] | None:
    """Return kinds of promotions at the till (促销活动) a promotion's ``kind`` may name.

    Every implementation runs; each class is a :class:`~membership.promotions.kinds.PromotionKind`
    with a unique ``name``, Chinese and English labels, its ``Params`` (a msgspec Struct of the
    promotion's ``params``), ``describe`` (what it takes off, in words) and ``discounts`` (what it
    takes off each line the promotion's conditions selected, computed on the prices before
    promotions; the kernel caps each line at what it costs, combines stackable promotions and
    chooses the combination best for the customer). The built-in kinds (``percent_off``,
    ``amount_off``, ``fixed_price``, ``cheapest_item``, ``buy_n_get_m``) are registered this way;
    a name registered twice is refused. A promotion is checked against its kind when it is saved;
    one whose kind no plugin registers any more does not apply, and ``simulate`` says why.

    :returns: a list of promotion kind classes, or None.

    Example::

        from membership.plugin import PromotionKind

        class SecondHalf(PromotionKind):
            name, label_zh, label_en = "second_half", "第二件半价", "second unit half price"

            def discounts(self, params, lines):
                return [line.quantity // 2 * line.price // 2 for line in lines]

        @hookimpl
        def membership_register_promotion_kinds():
            return [SecondHalf]
    """


# --------------------------------------------------------------------------------------------
# Reader devices
# --------------------------------------------------------------------------------------------


@hookspec
def membership_register_reader_drivers() -> list[type[ReaderDriver]] | None:
    """Return reader driver classes (subclasses of ``ReaderDriver`` with a unique ``name``).

    Every implementation runs; two drivers with one name are refused with an error naming both.

    :returns: a list of driver classes, or None.

    Example::

        @hookimpl
        def membership_register_reader_drivers():
            return [Rdm6300Driver, Pn532Driver]
    """


# --------------------------------------------------------------------------------------------
# Notification channels
# --------------------------------------------------------------------------------------------


@hookspec
def membership_register_channels() -> list[type[Channel]] | None:
    """Return notification channel classes (subclasses of ``Channel`` with a unique ``name``).

    Every implementation runs; duplicate names are refused.

    :returns: a list of channel classes, or None.

    Example::

        @hookimpl
        def membership_register_channels():
            return [AliyunSms, SmtpEmail]
    """


# --------------------------------------------------------------------------------------------
# Analytics
# --------------------------------------------------------------------------------------------


@hookspec
def membership_register_reports() -> list[type[Report]] | None:
    """Return report classes (subclasses of ``Report`` with a unique ``name``).

    Every implementation runs; duplicate names are refused. The built-in plugin registers
    ``members_summary``, ``points_liability`` and ``sales_by_month``.

    :returns: a list of report classes, or None.

    Example::

        @hookimpl
        def membership_register_reports():
            return [TableTurnover]
    """


# --------------------------------------------------------------------------------------------
# Extension
# --------------------------------------------------------------------------------------------


@hookspec
def membership_plugin_meta() -> PluginMeta | None:
    """Say that this plugin is enabled per program, what staff call it, and what can be set.

    Each plugin answers for itself. A plugin that answers is *per program*: installed is not
    enabled — its hooks run only for the programs an owner turned it on for (console, API
    ``PUT /programs/{id}/plugins/{name}``), and the settings it declares (a msgspec Struct
    whose fields all have defaults) are kept per program, validated, shown as a form, and read
    with ``plugin_settings(program, name, Schema)``. A plugin that does not answer runs for every
    program (reader drivers, channels).

    Its hooks that are about one program (identify, tiers, points rules and redemption, expiry,
    demo data, events) are skipped for programs where it is off; registries (routes, console
    pages, jobs, reports, commands) stay: a plugin's route checks ``enabled(program, name)``.

    :returns: a :class:`~membership.org.program_plugins.PluginMeta`, or None.

    Example::

        class Settings(msgspec.Struct):
            stamps_for_a_reward: int = 10

        @hookimpl
        def membership_plugin_meta():
            return PluginMeta("集点卡", "Stamp cards", "买满 N 杯送 1 杯", "Buy N, get one free", Settings)
    """


@hookspec
def membership_piccolo_apps() -> list[str] | None:
    """Return the dotted paths of the plugin's Piccolo apps (``"membership_retail.piccolo_app"``).

    Every implementation runs. Their tables are bound to the kernel's engine and their
    migrations run with ``membership migrate`` after the kernel's (declare
    ``migration_dependencies`` on kernel apps to order them).

    :returns: a list of module paths, or None.

    Example::

        @hookimpl
        def membership_piccolo_apps():
            return ["membership_catering.piccolo_app"]
    """


@hookspec
def membership_register_routes() -> list[Any] | None:
    """Return Litestar route handlers or controllers to mount under ``/api/v1``.

    Every implementation runs. Routes sit behind the API-key guard: a handler names the scope it
    needs with ``opt={"scope": Scope.READ | Scope.POS | Scope.ADMIN}`` (from
    ``membership.access.service``); one that names none needs ``admin``.

    :returns: a list of handlers/controllers, or None.

    Example::

        @hookimpl
        def membership_register_routes():
            return [TableController]
    """


@hookspec
def membership_register_console_pages() -> list[ConsolePage] | None:
    """Return console pages (menu entry, handler, roles) the plugin adds.

    Every implementation runs; two pages on one path are refused. The page's handler is served
    under ``/console`` behind the staff login, open only to ``roles``; its templates are
    addressed with the plugin's ``namespace`` in front and may extend ``console/base.html``.

    :returns: a list of :class:`~membership.console.pages.ConsolePage`, or None.

    Example::

        @get("/tables")
        async def tables_page(request: Request) -> Template:
            return Template("catering/tables.html", context={"staff": request.state.staff, "active": ""})

        @hookimpl
        def membership_register_console_pages():
            return [ConsolePage("/tables", "桌台", "Tables", tables_page, roles=("owner", "manager"),
                                namespace="catering", templates=Path(__file__).parent / "templates")]
    """


@hookspec
def membership_counter_notes(program: ProgramConfig, member_id: uuid.UUID, language: str) -> list[str] | None:
    """Return short notes for the counter's member panel (前台提示: 口味偏好, 过敏), or None.

    Every implementation runs, for the member's program only (a per-program plugin that is off
    there is not asked); the counter shows every note, in plugin order, under the member's name,
    as plain text (escaped). Keep each note to one line, in ``language``.

    :param program: the member's program.
    :param member_id: the member the counter opened.
    :param language: the staff member's console language, ``zh_CN`` or ``en``.
    :returns: a list of notes, or None. May return an awaitable.

    Example::

        @hookimpl
        async def membership_counter_notes(program, member_id, language):
            allergies = await allergies_of(member_id)
            if allergies:
                return [("过敏：" if language == "zh_CN" else "Allergies: ") + "、".join(allergies)]
    """


@hookspec
def membership_register_commands(cli: typer.Typer) -> None:
    """Add commands to the ``membership`` CLI; every implementation runs.

    :param cli: the root Typer app; call ``cli.command()`` or ``cli.add_typer()`` on it.
    :returns: nothing.

    Example::

        @hookimpl
        def membership_register_commands(cli):
            @cli.command()
            def sync_pos():
                "Pull yesterday's receipts from the POS."
    """


@hookspec
def membership_register_jobs() -> list[type[Job]] | None:
    """Return job classes (subclasses of ``Job`` with a unique ``name``).

    Every implementation runs; ``membership jobs run NAME`` runs one. The built-in plugin
    registers ``expire-points``.

    :returns: a list of job classes, or None.

    Example::

        @hookimpl
        def membership_register_jobs():
            return [ExpireVouchers]
    """


@hookspec
def membership_demo_profile() -> DemoProfile | None:
    """Describe the business ``membership demo --industry NAME`` shows for this pack.

    The kernel asks only the plugin named ``NAME`` (an industry pack), builds the merchant,
    stores and a year of purchases from the answer, switches the pack on for the demo program
    and then runs its ``membership_demo_data``.

    :returns: a :class:`~membership.demo.service.DemoProfile`, or None.

    Example::

        @hookimpl
        def membership_demo_profile():
            return DemoProfile("湘味小馆餐饮集团", "湘味会员", (("CS01", "湘味小馆 · 五一广场店", "长沙"),),
                               (("D001", "剁椒鱼头", "热菜", 8_800), ("D002", "米饭", "主食", 200)))
    """


@hookspec
def membership_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """Add a plugin's demo data after ``membership demo`` created the kernel's.

    Every implementation runs, in its own use case. Use ``rng`` so demo data is reproducible.

    :param program: the demo program.
    :param store_ids: the demo stores.
    :param rng: a seeded random generator.
    :returns: nothing. May return an awaitable.

    Example::

        @hookimpl
        async def membership_demo_data(program, store_ids, rng):
            for name in ("大堂", "包间"):
                await create_area(program.id, name)
    """


@hookspec
def membership_event(event: Event) -> None:
    """Receive a domain event after the use case that emitted it committed.

    Every implementation runs. A failing listener is logged with its name and does not undo the
    committed change. Each event name has a payload type listing the keys of
    ``event.data`` (:mod:`membership.event_payloads`); ``payload_of(event)`` returns it.

    :param event: the event.
    :returns: nothing. May return an awaitable.

    Example::

        @hookimpl
        async def membership_event(event):
            if event.name == "member.enrolled":
                await send_welcome_sms(event.member_id)
    """
