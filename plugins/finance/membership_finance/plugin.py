"""Finance (金融): the pack's hooks. The kernel loads this module through the ``membership`` entry
point ``finance`` (the pack's name everywhere: ``--industry finance``, the per-program switch,
``MEMBERSHIP_PLUGINS``). Installed is not enabled: its hooks run only for the programs an owner
switched it on for (its routes and pages answer other programs that the pack is off).

* identity: the credential kind ``bank_card`` (银行卡: Luhn-checked, kept as a keyed hash, shown
  622202******1234) identifies its holder at every till;
* enrolment: an ID number, a verified KYC and the required consents (:mod:`membership_finance.enrolment`);
* points: by merchant category code, instalments and bill payments at their rates, velocity caps
  (:mod:`membership_finance.earning`);
* tiers: by assets under management (:mod:`membership_finance.assets`);
* statements: the monthly job and the pages (:mod:`membership_finance.statements`);
* the counter: the tier by assets and the KYC status; an erased member's balances are deleted.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator
from typing import Any

from membership.plugin import (
    Award,
    ConsolePage,
    CredentialKindSpec,
    DemoProfile,
    EarnContext,
    Event,
    Job,
    PluginMeta,
    ProgramConfig,
    Reason,
    TierMetrics,
    execute,
    get_member,
    hookimpl,
)
from membership_finance import api, assets, bank_card, console, demo, earning, enrolment
from membership_finance.jobs import StatementsJob
from membership_finance.settings import FinanceSettings, settings_of
from membership_finance.values import yuan


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """The pack is switched on per program, with :class:`FinanceSettings`."""
    return PluginMeta(
        "金融（银行卡）",
        "Finance (bank cards)",
        "银行卡识别、按商户类别码（MCC）积分、分期与缴费积分、积分风控上限、按资产定等级、开户核验与授权、积分对账单",
        "Bank cards as member cards, points by merchant category (MCC), instalment and bill-payment rates,"
        " velocity caps, tiers by assets, KYC and consents at enrolment, monthly points statements",
        FinanceSettings,
    )


@hookimpl
def membership_piccolo_apps() -> list[str]:
    """The pack's tables (``finance_…``)."""
    return ["membership_finance.piccolo_app"]


@hookimpl
def membership_register_credential_kinds() -> list[CredentialKindSpec]:
    """``bank_card`` (银行卡)."""
    return [bank_card.KIND]


@hookimpl
def membership_check_enrolment(program: ProgramConfig, profile: dict[str, Any]) -> Reason | None:
    """Refuse an enrolment without an ID number, a verified KYC or a required consent."""
    return enrolment.refusal(program, profile)


@hookimpl
async def membership_points_awards(context: EarnContext) -> list[Award]:
    """The pack's decision about a card transaction (rate, exclusion, what the caps leave),
    applied by the wrapper below once the base points are known."""
    return await earning.terms(context)


@hookimpl(wrapper=True, specname="membership_points_awards")
def apply_card_terms(context: EarnContext) -> Generator[None, list[list[Award]], list[list[Award]]]:
    """Every plugin's awards with MCC rates, exclusions and the velocity caps applied."""
    results = yield
    return earning.priced(context, results)


@hookimpl(tryfirst=True)
async def membership_tier_for(program: ProgramConfig, member_id: uuid.UUID, metrics: TierMetrics) -> str | None:
    """The tier the member's assets earn (None when the program does not tier by assets)."""
    found = await assets.tiers_for(program, [member_id])
    return None if found is None else found[member_id]


@hookimpl(tryfirst=True)
async def membership_tiers_for(
    program: ProgramConfig, metrics: dict[uuid.UUID, TierMetrics]
) -> dict[uuid.UUID, str | None] | None:
    """The tiers of a chunk of members at once (the review job), from one query."""
    return await assets.tiers_for(program, list(metrics))


@hookimpl
def membership_register_routes() -> list[Any]:
    """``/api/v1/finance/…``."""
    return api.ROUTES


@hookimpl
def membership_register_console_pages() -> list[ConsolePage]:
    """银行卡会员 (``/console/finance``) with its own menu."""
    return [console.PAGE]


@hookimpl
def membership_register_jobs() -> list[type[Job]]:
    """``finance-statements``: last month's points statements, on the 1st."""
    return [StatementsJob]


@hookimpl
def membership_demo_profile() -> DemoProfile:
    """银河银行信用卡中心: a bank's card program."""
    return demo.PROFILE


@hookimpl
async def membership_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The bank's tiers, MCC rules, cards, three months of balances, instalments, bill payments and
    statements."""
    await demo.add_demo_data(program, store_ids, rng)


@hookimpl
async def membership_counter_notes(program: ProgramConfig, member_id: uuid.UUID, language: str) -> list[str]:
    """The tier the member's assets earn, their latest average, and the KYC status."""
    settings = settings_of(program)
    if not settings.show_at_counter:
        return []
    en = language == "en"
    notes = []
    if settings.tiers_by_assets:
        average = (await assets.averages(program, [member_id])).get(member_id)
        tier = assets.tier_name(program, settings.tier_for_balance(average or 0))
        if average is None:
            notes.append(f"Tier by assets: {tier} (no balance fed)" if en else f"资产等级：{tier}（暂无资产数据）")
        elif en:
            notes.append(f"Tier by assets: {tier} (average daily balance ¥{yuan(average)})")
        else:
            notes.append(f"资产等级：{tier}（月日均资产 ¥{yuan(average)}）")
    kyc = (await get_member(member_id)).preferences.get("kyc_status", "")
    names = enrolment.KYC_STATUSES.get(kyc, ("未登记", "not recorded"))
    notes.append(f"KYC: {names[1]}" if en else f"KYC：{names[0]}")
    return notes


@hookimpl
async def membership_event(event: Event) -> None:
    """An erased member's monthly balances are deleted (their points statements, like the ledger,
    keep only figures)."""
    if event.name == "member.erased" and event.member_id is not None:
        await execute(
            "DELETE FROM finance_balance WHERE program_id = {} AND member_id = {}", event.program_id, event.member_id
        )
