"""Members: enrolment, personal data at rest, masking, credentials, export and erasure."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from membership.db import fetch, fetch_one
from membership.errors import (
    CredentialBlocked,
    CredentialExists,
    CredentialNotFound,
    CredentialReplaced,
    DuplicateMember,
    InvalidBirthday,
    InvalidEmail,
    InvalidPhone,
    MemberErased,
    MemberNotFound,
    StoreNotFound,
    ValidationError,
)
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import rights
from membership.members import service as members
from membership.members.birthdays import lunar_of, solar_from_lunar
from membership.members.numbers import is_valid_member_no
from membership.sales import service as sales
from tests.helpers import make_shop

PHONE = "13987654321"


async def test_known_phone_never_appears_in_plaintext_in_the_sqlite_file(db):
    shop = await make_shop()
    await members.enrol(
        shop.program.id,
        {
            "name": "王芳",
            "phone": PHONE,
            "email": "wang.fang@example.cn",
            "id_number": "11010119900307123x",
            "address": "上海市静安区南京西路1号",
        },
    )
    path = db.sqlite_path
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for secret in (PHONE, "+86" + PHONE, "wang.fang@example.cn", "11010119900307123X", "南京西路"):
        assert secret.encode() not in raw, secret
    assert "王芳".encode() in raw  # names are stored (search by name); this proves we read the file


async def test_enrol_normalises_masks_and_reveals_with_audit(any_db):
    shop = await make_shop()
    member = await members.enrol(
        shop.program.id,
        {
            "name": "  李娜 ",
            "phone": "139 8765 4321",
            "email": " LI.NA@Example.CN ",
            "id_number": "11010119900307123x",
            "birthday": dt.date(1990, 3, 7),
            "tags": ["生鲜", "生鲜", "母婴"],
            "consents": {"sms": True},
        },
        store_id=shop.store_id,
    )
    assert is_valid_member_no(member.member_no)
    assert member.name == "李娜" and member.tags == ["生鲜", "母婴"]
    assert member.phone == "139****4321" and member.email == "l***@example.cn"
    assert member.id_number == "110***********123X"
    assert not await fetch("SELECT id FROM audit_log WHERE action = 'member.view_personal_data'")
    shown = await members.get_member(member.id, reveal=True, actor="staff:wang")
    assert shown.phone == "+8613987654321" and shown.email == "li.na@example.cn"
    audit = await fetch_one("SELECT actor, object_id FROM audit_log WHERE action = 'member.view_personal_data'")
    assert audit == {"actor": "staff:wang", "object_id": str(member.id)}
    found, total = await members.search_members(shop.program.id, "13987654321")
    assert total == 1 and found[0].id == member.id
    assert (await members.search_members(shop.program.id, "李"))[1] == 1
    assert (await members.search_members(shop.program.id, member.member_no))[1] == 1


async def test_duplicate_phone_is_refused(any_db):
    shop = await make_shop()
    with pytest.raises(DuplicateMember) as caught:
        await members.enrol(shop.program.id, {"name": "张伟二", "phone": "+86 138-1234-5678"})
    assert caught.value.code == "duplicate_member"
    assert (await fetch_one("SELECT COUNT(*) AS n FROM member"))["n"] == 1


@pytest.mark.parametrize(
    ("profile", "error"),
    [
        ({"name": "赵六", "phone": "12345"}, InvalidPhone),
        ({"name": "赵六", "email": "not-an-email"}, InvalidEmail),
        ({"name": "", "phone": "13700000001"}, ValidationError),
        ({"name": "赵六", "gender": "robot"}, ValidationError),
        ({"name": "赵六", "birthday": dt.date(2999, 1, 1)}, InvalidBirthday),
        ({"name": "赵六", "shoe_size": 42}, ValidationError),
        ({"phone": "13700000001"}, ValidationError),
    ],
)
async def test_bad_profiles_are_refused_with_a_typed_error_and_nothing_written(db, profile, error):
    shop = await make_shop()
    accounts_before = (await fetch_one("SELECT COUNT(*) AS n FROM ledger_account"))["n"]
    with pytest.raises(error) as caught:
        await members.enrol(shop.program.id, profile)
    assert caught.value.code and caught.value.detail("zh") and caught.value.detail("en")
    assert (await fetch_one("SELECT COUNT(*) AS n FROM member"))["n"] == 1
    assert (await fetch_one("SELECT COUNT(*) AS n FROM ledger_account"))["n"] == accounts_before


async def test_bad_use_case_input_is_refused_without_partial_writes(db):
    shop = await make_shop()
    import uuid

    with pytest.raises(MemberNotFound):
        await ledger.redeem_points(uuid.uuid4(), 1)
    with pytest.raises(ValidationError):
        await ledger.top_up(shop.member_id, -100)
    with pytest.raises(ValidationError):
        await ledger.top_up(shop.member_id, 12.5)
    with pytest.raises(ValidationError):
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("x", 1, -5)])
    with pytest.raises(StoreNotFound):
        await sales.record_purchase(shop.program.id, uuid.uuid4(), shop.member_id, [LineInput("x", 1, 5)])
    with pytest.raises(CredentialNotFound):
        await members.identify(shop.program.id, "card_uid", "DEADBEEF")
    with pytest.raises(InvalidPhone):
        await members.identify(shop.program.id, "phone", "not a phone")
    for table in ("sale", "ledger_posting", "ledger_entry", "points_lot", "idempotency_key"):
        assert (await fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"] == 0, table


async def test_credentials_issue_identify_block_replace(any_db):
    shop = await make_shop()
    card = await members.issue_credential(shop.member_id, "card_uid", "04:a1:b2:c3", store_id=shop.store_id)
    assert card["value"] == "04A1B2C3" and card["hint"] == "B2C3"
    assert await members.identify(shop.program.id, "card_uid", "04-A1-B2-C3") == shop.member_id
    assert await members.identify(shop.program.id, "phone", "138 1234 5678") == shop.member_id
    other = await members.enrol(shop.program.id, {"name": "刘洋", "phone": "13700000002"})
    with pytest.raises(CredentialExists):
        await members.issue_credential(other.id, "card_uid", "04A1B2C3")
    new = await members.replace_credential(card["id"], "0A0B0C0D", actor="staff:li", reason="卡片损坏")
    with pytest.raises(CredentialReplaced):
        await members.identify(shop.program.id, "card_uid", "04A1B2C3")
    assert await members.identify(shop.program.id, "card_uid", "0a0b0c0d") == shop.member_id
    await members.block_credential(new["id"], actor="staff:li", reason="挂失", lost=True)
    with pytest.raises(CredentialBlocked) as caught:
        await members.identify(shop.program.id, "card_uid", "0A0B0C0D")
    assert "挂失" in caught.value.detail("zh")
    qr = await members.issue_credential(shop.member_id, "qr_token")
    assert await members.identify(shop.program.id, "qr_token", qr["value"]) == shop.member_id
    states = [c["state"] for c in await members.list_credentials(shop.member_id)]
    assert sorted(states) == ["active", "lost", "replaced"]


async def test_export_then_erase_keeps_amounts_but_drops_personal_data(any_db):
    shop = await make_shop()
    await members.issue_credential(shop.member_id, "card_uid", "AABBCCDD")
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("x", 1, 10_000)])
    exported = await rights.export_member(shop.member_id, actor="staff:dpo")
    assert exported["profile"]["phone"] == "+8613812345678"
    assert exported["balances"]["points"] == 100 and len(exported["sales"]) == 1 and exported["ledger"]
    await rights.erase_member(shop.member_id, actor="staff:dpo", reason="本人申请注销")
    row = await fetch_one("SELECT name, phone_enc, phone_hash, status FROM member WHERE id = {}", shop.member_id)
    assert row == {"name": "已注销", "phone_enc": None, "phone_hash": None, "status": "erased"}
    assert (await fetch_one("SELECT total FROM sale"))["total"] == 10_000
    with pytest.raises(MemberErased):
        await ledger.redeem_points(shop.member_id, 1)
    with pytest.raises(CredentialNotFound):
        await members.identify(shop.program.id, "phone", "13812345678")
    actions = {r["action"] for r in await fetch("SELECT action FROM audit_log")}
    assert {"member.export", "member.erase"} <= actions
    # the phone number is free again for a new enrolment
    await members.enrol(shop.program.id, {"name": "张伟", "phone": "13812345678"})


def test_lunar_birthdays_convert_and_refuse_days_that_do_not_exist():
    assert solar_from_lunar(1990, 8, 15) == dt.date(1990, 10, 3)  # 中秋
    assert lunar_of(dt.date(1990, 10, 3)) == (8, 15, False)
    leap = solar_from_lunar(2023, 2, 1, leap=True)  # 2023 has a leap 2nd month
    assert lunar_of(leap) == (2, 1, True)
    with pytest.raises(InvalidBirthday):
        solar_from_lunar(2023, 2, 30, leap=True)  # 闰二月 has 29 days
    with pytest.raises(InvalidBirthday):
        solar_from_lunar(2024, 6, 1, leap=True)  # 2024 has no leap 6th month
