"""Two industry packs in one deployment, each switched on for its own program: a supermarket chain
with the retail pack and a bank's card program with the finance pack. Both packs are loaded and
both programs hold the same set-up for both packs (a member price, a retail points rule, an MCC
rule); each program gets only its own pack's behaviour — prices, earning, credential kinds and
enrolment checks — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from membership.plugin import (
    LineInput,
    MembershipError,
    enrol_member,
    issue_credential,
    plugin_enabled,
    record_purchase,
)
from membership.testing import make_merchant, make_program, make_store
from membership_finance import mcc
from membership_finance.bank_card import check_digit
from membership_retail import earning as retail_earning
from membership_retail.member_prices import set_member_price

ID_NUMBER = "11010519491231002X"
BANK_PROFILE = {
    "name": "张伟",
    "id_number": ID_NUMBER,
    "preferences": {"kyc_status": "verified"},
    "consents": {"personal_info": True, "sensitive_info": True},
}
WATER = LineInput("6901", 2, 1_000, "矿泉水", "饮料")  # 20 yuan


@pytest.fixture
async def deployment(any_db, load_plugins):
    """Both packs loaded; 悦享超市's program with retail on, 银河银行's with finance on, each with
    the same set-up for both packs."""
    await load_plugins("retail", "finance")
    shop = await make_program(await make_merchant("悦享超市"), "悦享会员", plugins={"retail": {}})
    bank = await make_program(await make_merchant("银河银行"), "银河信用卡积分", plugins={"finance": {}})
    stores = {shop.id: await make_store(shop.merchant_id, "SH01"), bank.id: await make_store(bank.merchant_id, "CC01")}
    for program in (shop, bank):
        await set_member_price(program, "sku", "6901", price=800, actor="test")  # 会员价 8 元
        await retail_earning.create_rule(program.id, {"name": "饮料加送", "points_per_yuan": 2, "categories": ["饮料"]})
        await mcc.save_rule(program.id, "5411", {"name": "超市 3 倍积分", "multiplier_pct": 300}, "test")
    return shop, bank, stores


async def test_each_program_gets_only_its_own_packs_behaviour(deployment):
    shop, bank, stores = deployment
    assert plugin_enabled(shop, "retail") and not plugin_enabled(shop, "finance")
    assert plugin_enabled(bank, "finance") and not plugin_enabled(bank, "retail")

    # enrolment checks: the bank refuses a customer without an ID number, the shop does not
    shopper = await enrol_member(shop.id, {"name": "路人甲"})
    with pytest.raises(MembershipError) as refused:
        await enrol_member(bank.id, {"name": "路人甲"})
    assert refused.value.code == "enrolment_refused" and "身份证" in refused.value.detail("zh")
    holder = await enrol_member(bank.id, BANK_PROFILE)

    # credential kinds: a bank card is a kind of the bank's program only
    number = "622202000000001"
    number += check_digit(number)
    await issue_credential(holder.id, "bank_card", number, stores[bank.id], "test")
    with pytest.raises(MembershipError) as unknown:
        await issue_credential(shopper.id, "bank_card", number, stores[shop.id], "test")
    assert unknown.value.code == "unknown_credential_kind"

    # prices and earning: the shop's member price and points by category; the bank's MCC terms
    attributes = {"mcc": "5411"}
    at_shop = await record_purchase(shop.id, stores[shop.id], shopper.id, [WATER], actor="t", attributes=attributes)
    assert (at_shop.total, at_shop.member_discount) == (1_600, 400)
    assert sorted((a.rule, a.points) for a in at_shop.awards)[0][1] == 16  # base: 16 yuan, 1 point a yuan
    assert sum(a.points for a in at_shop.awards) == 16 + 32  # + 2 a yuan on drinks; no ×3 for the MCC
    assert not any(a.rule.startswith("finance:") for a in at_shop.awards)
    at_bank = await record_purchase(bank.id, stores[bank.id], holder.id, [WATER], actor="t", attributes=attributes)
    assert (at_bank.total, at_bank.member_discount) == (2_000, 0)  # no member price
    assert [(a.rule, a.points) for a in at_bank.awards] == [("base", 20), ("finance:mcc-5411", 40)]

    # an excluded MCC: nothing at the bank, the usual points at the shop
    cash = {"mcc": "6011"}
    assert (
        await record_purchase(bank.id, stores[bank.id], holder.id, [WATER], actor="t", attributes=cash)
    ).points_earned == 0
    assert (
        await record_purchase(shop.id, stores[shop.id], shopper.id, [WATER], actor="t", attributes=cash)
    ).points_earned == 48
