"""Stricter personal data on SQLite and PostgreSQL: an ID number (well formed), a verified KYC and
the required consents before anyone is enrolled, through the kernel's API and the pack's form alike;
optional consents never required; consents given and withdrawn later keep their history; a program
without the pack enrols as before."""

from __future__ import annotations

import pytest
from finance_bank import ID_NUMBER, id_number, profile

from membership.plugin import (
    MembershipError,
    enrol_member,
    fetch,
    member_consent_history,
    set_member_consent,
)
from membership.testing import enable_plugin, make_program


async def _enrol(api, body, lang="en"):
    return await api.call("POST", "/members", "pos", json=body, lang=lang)


async def test_enrolment_requires_an_id_number_kyc_and_consents_through_the_api(api, bank):
    body = profile("陈静", id_number(7))
    cases = (
        ({k: v for k, v in body.items() if k != "id_number"}, "银行会员入会须登记身份证号码"),
        ({**body, "id_number": "110105194912310021"}, "身份证号码校验位不符"),
        ({**body, "id_number": "11010519491331002X"}, "出生日期有误"),
        ({**body, "preferences": {"kyc_status": "pending"}}, "须先完成客户身份识别（KYC）"),
        ({**body, "consents": {"personal_info": True}}, "须取得客户授权：敏感个人信息处理"),
        ({**body, "consents": {"sensitive_info": True, "marketing_sms": True}}, "须取得客户授权：个人信息处理"),
    )
    for sent, words in cases:
        refused = await _enrol(api, sent, "zh-CN")
        assert refused.status_code == 422 and refused.json()["code"] == "enrolment_refused", refused.text
        assert words in refused.json()["detail"], (words, refused.json()["detail"])
    english = await _enrol(api, cases[3][0])
    assert "identity must be verified first" in english.json()["detail"]
    assert await fetch("SELECT id FROM member WHERE name = '陈静'") == []
    enrolled = await _enrol(api, body)  # marketing texts declined: still enrolled
    assert enrolled.status_code == 201, enrolled.text
    member = enrolled.json()["id"]
    consents = await api.call("GET", f"/members/{member}/consents")
    assert consents.json()["current"] == {"personal_info": True, "sensitive_info": True, "marketing_sms": False}
    assert {h["source"] for h in consents.json()["history"]} == {"enrol"}


async def test_the_settings_say_which_consents_and_whether_kyc_are_required(bank):
    await enable_plugin(bank.program.id, "finance", {"require_credit_inquiry": True, "require_kyc": False})
    program = await bank.refreshed()
    with pytest.raises(MembershipError) as refused:
        await enrol_member(program.id, profile("赵磊", id_number(8)))
    assert "征信查询" in refused.value.detail("zh")
    unverified = profile("赵磊", id_number(8), preferences={"kyc_status": "pending"})
    unverified["consents"] |= {"credit_inquiry": True}
    assert (await enrol_member(program.id, unverified)).name == "赵磊"


async def test_consents_change_later_with_their_history_and_a_program_without_the_pack_is_untouched(api, bank):
    await set_member_consent(bank.member_id, "marketing_sms", True, "teller-7", "branch")
    withdrawn = await api.call(
        "PUT", f"/members/{bank.member_id}/consents/marketing_sms", "pos", json={"granted": False, "source": "app"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    history = [(h["purpose"], bool(h["granted"]), h["source"]) for h in await member_consent_history(bank.member_id)]
    assert history[-2:] == [("marketing_sms", True, "branch"), ("marketing_sms", False, "app")]
    required = await api.call("GET", f"/finance/programs/{bank.program.id}/enrolment")
    assert required.status_code == 200
    assert {p["purpose"]: p["required"] for p in required.json()["consents"]} == {
        "personal_info": True,
        "sensitive_info": True,
        "credit_inquiry": False,
        "marketing_sms": False,
        "third_party_sharing": False,
    }
    shop = await make_program(bank.merchant_id, "银河商城会员")
    assert (await enrol_member(shop.id, {"name": "路人甲"})).name == "路人甲"
    off = await api.call("GET", f"/finance/programs/{shop.id}/enrolment", lang="zh-CN")
    assert off.status_code == 409 and "未启用金融行业包" in off.json()["detail"]
    assert ID_NUMBER not in (await api.call("GET", f"/members/{bank.member_id}")).text
