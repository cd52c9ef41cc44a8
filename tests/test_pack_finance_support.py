"""What the kernel gives a bank's pack (finance): a hook that refuses an enrolment
(``membership_check_enrolment``: an ID number, KYC, consents), ``enrol_member`` for a plugin's own
enrolment form, a secret credential kind that keeps its own mask (a bank card's 6+4), a demo whose
members carry what the business records at enrolment (``DemoProfile.enrolment``), and
``reevaluate_tier`` for a tier policy whose inputs change outside purchases (monthly balances)."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from membership import hookimpl
from membership.db import fetch, fetch_one
from membership.errors import EnrolmentRefused, Reason, ValidationError
from membership.ledger.rules import LineInput
from membership.members.credentials import CredentialKindSpec, shown
from membership.org.program_plugins import PluginMeta, set_program_plugin
from membership.org.service import create_program, get_program
from membership.plugin import enrol_member, reevaluate_tier
from membership.sales import service as sales
from tests.helpers import make_shop

ID_NUMBER = "11010519491231002X"


class KycRequired:
    """Per program: an ID number and a passed KYC before anyone is enrolled."""

    asked: list[str]

    def __init__(self) -> None:
        self.asked = []

    @hookimpl
    def membership_plugin_meta(self):
        return PluginMeta("开户核验", "KYC")

    @hookimpl
    async def membership_check_enrolment(self, program, profile):
        self.asked.append(profile["name"])
        if not profile.get("id_number"):
            return Reason("an ID number is required", "须登记身份证号")
        if (profile.get("preferences") or {}).get("kyc_status") != "verified":
            return "须先完成身份核验"
        return None


async def test_hook_check_enrolment(api, register_plugin):
    kyc = KycRequired()
    register_plugin(kyc, name="kyc")
    shop = api.shop
    await set_program_plugin(shop.program.id, "kyc", True, {}, "test")
    refused = await api.call("POST", "/members", json={"name": "李娜", "phone": "13900000001"}, lang="zh-CN")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "enrolment_refused" and "须登记身份证号" in refused.json()["detail"]
    english = await api.call("POST", "/members", json={"name": "李娜", "id_number": ID_NUMBER})
    assert english.status_code == 422 and "须先完成身份核验" in english.json()["detail"]
    body = {"name": "李娜", "id_number": ID_NUMBER.lower(), "preferences": {"kyc_status": "verified"}}
    enrolled = await api.call("POST", "/members", json=body)
    assert enrolled.status_code == 201, enrolled.text
    assert kyc.asked == ["李娜", "李娜", "李娜"]
    assert len(await fetch("SELECT id FROM member WHERE name = '李娜'")) == 1
    other = await create_program(shop.merchant_id, "不核验的方案")  # the plugin is off there: not asked
    member = await enrol_member(other.id, {"name": "王强"})
    assert member.name == "王强" and kyc.asked == ["李娜"] * 3


async def test_enrol_member_through_a_plugin_s_own_form_is_refused_like_any_other(db, register_plugin):
    shop = await make_shop()
    register_plugin(KycRequired(), name="kyc")
    await set_program_plugin(shop.program.id, "kyc", True, {}, "test")
    with pytest.raises(EnrolmentRefused) as refused:
        await enrol_member(shop.program.id, {"name": "赵敏", "phone": "13900000002"})
    assert refused.value.detail("zh") == "不能办理入会：须登记身份证号"
    assert await fetch_one("SELECT id FROM member WHERE name = '赵敏'") is None
    profile = {"name": "赵敏", "id_number": ID_NUMBER, "preferences": {"kyc_status": "verified"}}
    assert (await enrol_member(shop.program.id, profile, store_id=shop.store_id)).id


def _bank_card(value: str) -> str:
    digits = value.replace(" ", "")
    if not digits.isdigit():
        raise ValidationError(field="value", reason=Reason("not a bank card number", "不是有效的银行卡号"))
    return digits


class Cards:
    @hookimpl
    def membership_register_credential_kinds(self):
        six_four = lambda v: v[:6] + "*" * (len(v) - 10) + v[-4:]  # noqa: E731
        return [CredentialKindSpec("bank_card", "银行卡", "bank card", _bank_card, six_four, secret=True)]


async def test_a_secret_kind_with_its_own_mask_keeps_the_mask_and_never_the_number(api, register_plugin):
    register_plugin(Cards(), name="cards")
    member = str(api.shop.member_id)
    number = "6222 0212 3456 7890 123"
    issued = await api.call("POST", f"/members/{member}/credentials", json={"kind": "bank_card", "value": number})
    assert issued.status_code == 201, issued.text
    assert (issued.json()["hint"], issued.json()["value"]) == ("622202*********0123", None)
    row = await fetch_one("SELECT value_hint, value_enc FROM credential WHERE kind = 'bank_card'")
    assert row["value_hint"] == "622202*********0123" and "6222021234567890123" not in row["value_enc"]
    assert shown(row["value_hint"]) == "622202*********0123"
    found = await api.call("GET", "/identify", "read", params={"kind": "bank_card", "value": number})
    assert found.status_code == 200 and found.json()["member_id"] == member
    assert "6222021234567890123" not in found.text


async def test_a_demo_s_members_carry_what_the_business_records_at_enrolment(db, register_plugin):
    from membership.demo.service import create_demo
    from membership.plugin import DemoProfile

    def enrolment(rng):
        id_number = f"110105{rng.randrange(10**12):012d}"  # each member their own
        return {"id_number": id_number, "preferences": {"kyc_status": "verified"}, "consents": {"personal_info": True}}

    class Bank(KycRequired):
        @hookimpl
        def membership_demo_profile(self):
            return DemoProfile(
                "银行",
                "信用卡积分",
                (("BJ01", "总行营业部", "北京"),),
                (("M1", "消费", "消费", 10_000),),
                None,
                enrolment,
            )

    register_plugin(Bank(), name="bank")
    summary = await create_demo(members_count=4, purchases=6, seed=3, industry="bank")
    rows = await fetch(
        "SELECT consents, preferences, id_number_hash FROM member WHERE program_id = {}", summary.program.id
    )
    assert len(rows) == 4 and all(row["id_number_hash"] for row in rows)
    assert all('"personal_info": true' in row["consents"] and '"sms"' in row["consents"] for row in rows)


async def test_reevaluate_tier_applies_a_higher_tier_at_once_and_leaves_a_lower_one_for_the_review(db, register_plugin):
    from membership.tiers import service as tiers

    shop = await make_shop()
    await tiers.configure(
        shop.program.id,
        [{"code": "normal", "name": "普卡", "threshold": 0}, {"code": "gold", "name": "金卡", "threshold": 1}],
        None,
        "test",
    )
    assets = {shop.member_id: 0}

    class Assets:
        @hookimpl(tryfirst=True)
        def membership_tier_for(self, program, member_id, metrics):
            return "gold" if assets.get(member_id, 0) >= 500_000_00 else "normal"

    register_plugin(Assets(), name="assets")
    assert await reevaluate_tier(shop.member_id) == "normal"
    assets[shop.member_id] = 800_000_00  # the month's balances arrived
    assert await reevaluate_tier(shop.member_id) == "gold"
    change = await fetch_one("SELECT from_tier, to_tier, reason FROM tier_change ORDER BY created_at DESC LIMIT 1")
    assert (change["from_tier"], change["to_tier"], change["reason"]) == ("normal", "gold", "upgrade")
    assets[shop.member_id] = 0
    assert await reevaluate_tier(shop.member_id) == "gold"  # lower waits for the review
    program = await get_program(shop.program.id)
    sale = await sales.record_purchase(program.id, shop.store_id, shop.member_id, [LineInput("1", 1, 100)])
    assert sale.tier == "gold"


class _BankSettings(msgspec.Struct, kw_only=True):
    """A bank plugin's settings: an amount in fen, a rate in percent of the base points, a count."""

    gold_min: Annotated[int, msgspec.Meta(ge=0, title="金卡门槛（月日均资产）", extra={"unit": "money"})] = 5_000_000
    instalment_pct: Annotated[int, msgspec.Meta(ge=0, le=100, title="分期交易积分", extra={"unit": "multiplier"})] = 50
    daily_cap: Annotated[int, msgspec.Meta(ge=0, title="每日积分上限")] = 50_000


def test_a_plugin_setting_in_fen_is_typed_and_shown_in_yuan_and_a_rate_in_times():
    from membership.console.struct_forms import form_fields, read_form

    fields = {field.key: field for field in form_fields(_BankSettings, msgspec.to_builtins(_BankSettings()))}
    assert (fields["gold_min"].value, fields["gold_min"].kind, fields["gold_min"].label) == (
        "50000.00",
        "decimal",
        "金卡门槛（月日均资产）",
    )
    assert (fields["instalment_pct"].value, fields["daily_cap"].value) == ("0.5", "50000")
    posted = {"gold_min": ["80,000"], "instalment_pct": ["0.25"], "daily_cap": ["20000"]}
    assert read_form(_BankSettings, posted) == ({"gold_min": 8_000_000, "instalment_pct": 25, "daily_cap": 20_000}, {})
    values, errors = read_form(_BankSettings, {"gold_min": ["八万"]})
    assert "gold_min" in errors and not values


async def test_consents_given_and_withdrawn_through_the_public_api_keep_their_history(db):
    from membership.plugin import member_consent_history, set_member_consent

    shop = await make_shop()
    assert await set_member_consent(shop.member_id, "marketing_sms", True, "teller", "branch") == {
        "marketing_sms": True
    }
    after = await set_member_consent(shop.member_id, "marketing_sms", False, "app", "app")
    assert after == {"marketing_sms": False}
    history = await member_consent_history(shop.member_id)
    assert [(h["purpose"], bool(h["granted"]), h["source"]) for h in history] == [
        ("marketing_sms", True, "branch"),
        ("marketing_sms", False, "app"),
    ]
