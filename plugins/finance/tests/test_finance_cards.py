"""The bank card as a credential on SQLite and PostgreSQL: Luhn-checked with a clear refusal in
Chinese and English, kept only as a keyed hash (and sealed under the member's data key), shown as
its first six and last four digits, identifying its holder at the till and in a purchase."""

from __future__ import annotations

import pytest

from membership.plugin import MembershipError, fetch, fetch_one, identify
from membership_finance.bank_card import check_digit, luhn_ok, mask, normalize


def test_luhn_numbers_and_the_mask():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert check_digit("622202123456789012") == "8" and luhn_ok("6222021234567890128")
    assert normalize("6222 0212-3456 7890 128") == "6222021234567890128"
    assert mask("6222021234561234") == "622202******1234"
    assert mask("6222021234567890128") == "622202*********0128"
    for bad, words in (
        ("6222 0212 3456 7890 124", "校验不通过"),
        ("62220212", "13 到 19 位"),
        ("6222abc", "13 到 19 位"),
    ):
        with pytest.raises(MembershipError) as refused:
            normalize(bad)
        assert words in refused.value.detail("zh")
    with pytest.raises(MembershipError) as english:
        normalize("6222021234567890124")
    assert "check digit is wrong" in english.value.detail("en")


async def test_a_card_is_kept_as_a_hash_shown_6_4_and_finds_its_holder(api, bank):
    member, number = await bank.holder("王芳")
    issued = await api.call(
        "POST", f"/members/{member}/credentials", "pos", json={"kind": "bank_card", "value": "6222 0288 8888 8888"}
    )
    assert issued.status_code == 422 and "check digit" in issued.json()["detail"]
    zh = await api.call(
        "POST", f"/members/{member}/credentials", "pos", json={"kind": "bank_card", "value": "62220288"}, lang="zh-CN"
    )
    assert zh.status_code == 422 and "银行卡号应为 13 到 19 位数字" in zh.json()["detail"]
    second = "6222028888888888"
    second = second[:-1] + check_digit(second[:-1])
    added = await api.call("POST", f"/members/{member}/credentials", "pos", json={"kind": "bank_card", "value": second})
    assert added.status_code == 201, added.text
    assert added.json()["hint"] == "622202******" + second[-4:] and added.json()["value"] is None
    rows = await fetch("SELECT value_hint, value_enc, value_hash FROM credential WHERE kind = 'bank_card'")
    assert len(rows) == 3 and all(
        r["value_hint"].startswith("622202******") and len(r["value_hint"]) == 16 for r in rows
    )
    assert not any(second in (r["value_enc"] or "") or second in (r["value_hash"] or "") for r in rows)
    found = await api.call("GET", "/identify", kind="bank_card", value=" ".join([second[:4], second[4:]]))
    assert found.status_code == 200, found.text
    assert found.json()["member_id"] == str(member)
    assert second not in found.text
    assert await identify(bank.program.id, "bank_card", number) == member
    unknown = await api.call("GET", "/identify", kind="bank_card", value="4111111111111111", lang="zh-CN")
    assert unknown.status_code == 404
    taken = await api.call(
        "POST", f"/members/{bank.member_id}/credentials", "pos", json={"kind": "bank_card", "value": second}
    )
    assert taken.status_code == 409


async def test_a_card_pays_at_the_till_and_its_number_is_never_given_back(api, bank):
    body = {
        "credential": {"kind": "bank_card", "value": bank.card},
        "lines": [{"sku": "POS", "quantity": 1, "unit_price": 28_800}],
        "attributes": {"mcc": "5411"},
    }
    paid = await api.call("POST", "/transactions", "till", json=body, headers={"Idempotency-Key": "t-1"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["member_id"] == str(bank.member_id) and paid.json()["points_earned"] == 288
    member = await api.call("GET", f"/members/{bank.member_id}")
    assert member.status_code == 200 and bank.card not in member.text
    sale = await fetch_one("SELECT attributes FROM sale WHERE member_id = {}", bank.member_id)
    assert '"mcc": "5411"' in sale["attributes"] and bank.card not in sale["attributes"]
