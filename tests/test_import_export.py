"""Importing members from CSV and Excel files, and exporting members, the ledger and sales: good
rows land with their opening balances (the ledger stays balanced), duplicates in the file and
against the database are reported and not imported twice, bad rows go to the error file with
their row number and why (Chinese and English), the same file imported again adds nothing;
exports are masked unless revealed and every one is audited; the CLI and the console do the same.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import multiprocessing
import os
import random
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from membership.db import fetch, fetch_one
from membership.errors import InvalidBirthday, InvalidPhone
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import personal_data as pd
from membership.members import service as members
from membership.members.birthdays import solar_from_lunar
from membership.members.numbers import is_valid_member_no
from membership.org import service as org
from membership.sales import service as sales
from membership.tiers.service import configure
from membership.transfer import columns as cols
from membership.transfer import values
from membership.transfer.errors import ColumnMappingInvalid, ImportFileUnreadable, InvalidAmount, InvalidDate
from membership.transfer.exporting import export, mask_name
from membership.transfer.importing import import_members, new_member_no
from tests.console_client import csrf_of, text_of
from tests.helpers import ledger_violations, make_shop

HEADERS = ["姓名", "手机号", "性别", "生日", "历法", "标签", "卡号", "积分", "储值余额", "成长值", "会员等级"]
TIERS = [{"code": "silver", "name": "银卡", "threshold": 100}, {"code": "gold", "name": "金卡", "threshold": 1000}]
GOOD = {2, 3, 4}
IN_FILE = {5, 6}
ALREADY = {7, 8}
BAD = {9, 10, 11, 12, 13, 14, 16, 17, 18}


def rows() -> list[list[str]]:
    """The test file: header (row 1), then rows 2-18 (row 15 blank)."""
    return [
        HEADERS,
        ["李娜", "139 0000 0001", "女", "1985-04-15", "", "VIP、咖啡", "C0000001", "1200", "88.50", "300", ""],
        ["王芳", "+86 13900000002", "女", "农历1990-04-15", "", "", "C0000002", "", "0.01", "", "金卡"],
        ["赵敏", "13900000003", "", "1992/2/29", "", "", "", "0", "", "", ""],
        ["孙悦", "13900000001", "女", "", "", "", "", "50", "", "", ""],  # the phone of row 2
        ["周杰", "", "男", "", "", "", "c0-00-00-01", "", "", "", ""],  # the card of row 2 (written otherwise)
        ["张三", "13812345678", "男", "", "", "", "", "10", "", "", ""],  # the shop's member
        ["李四", "13900000008", "男", "", "", "", "0A0B0C0D", "", "", "", ""],  # a card issued already
        ["钱五", "12345", "男", "", "", "", "", "", "", "", ""],
        ["吴六", "13900000010", "男", "1990-02-30", "", "", "", "", "", "", ""],
        ["郑七", "13900000011", "男", "", "", "", "", "", "12.345", "", ""],
        ["冯八", "13900000012", "男", "", "", "", "", "-5", "", "", ""],
        ["陈九", "13900000013", "男", "", "", "", "", "", "abc", "", ""],
        ["褚十", "", "男", "", "", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", "", "", "", ""],
        ["卫一", "13900000016", "男", "2990-01-01", "", "", "", "", "", "", ""],
        ["蒋二", "13900000017", "男", "", "", "", "", "", "", "", "钻石"],
        ["沈三", "13900000018", "男", "1990-04-30", "农历", "", "", "", "", "", ""],  # lunar 1990-4 has 29 days
    ]


def write_csv(path: Path, table: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(table)
    return path


def read_errors(path: Path) -> dict[int, list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        found = list(csv.reader(handle))
    assert found[0][:3] == ["行号 row", "原因", "reason"] and found[0][3:] == HEADERS
    return {int(row[0]): row for row in found[1:]}


async def shop_with_tiers():
    shop = await make_shop()  # points valid 365 days; 张伟 13812345678
    await configure(shop.program.id, TIERS, None, actor="test")
    await members.issue_credential(shop.member_id, "card_uid", "0A0B0C0D")
    return shop


async def count(table: str) -> int:
    return (await fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]


async def test_a_file_lands_its_good_rows_and_reports_every_other_one(any_db, tmp_path):
    shop = await shop_with_tiers()
    path = write_csv(tmp_path / "members.csv", rows())
    before = dt.datetime.now(dt.UTC)
    summary = await import_members(path, shop.program.id, store_id=shop.store_id, actor="test")

    assert (summary.rows, summary.imported) == (16, 3)  # the blank row is no row
    assert (summary.duplicates_in_file, summary.already_imported, summary.errors) == (2, 2, 9)
    assert (summary.points, summary.stored_value, summary.growth, summary.cards) == (1200, 8851, 300, 2)
    assert await ledger_violations() == []

    li = await members.identify(shop.program.id, "phone", "13900000001")
    assert li == await members.identify(shop.program.id, "card_uid", "C0000001")
    balances = await ledger.balances(li)
    assert (balances.points, balances.stored_value, balances.growth) == (1200, 8850, 300)
    view = await members.get_member(li, reveal=True)
    assert (view.name, view.gender, view.birthday, view.birthday_calendar) == (
        "李娜",
        "female",
        dt.date(1985, 4, 15),
        "solar",
    )
    assert view.tags == ["VIP", "咖啡"] and view.tier == "silver"  # growth 300 qualifies for silver
    assert view.source_channel == "import" and view.created_store_id == shop.store_id
    lot = await fetch_one(
        "SELECT l.points, l.remaining, l.expires_at FROM points_lot l JOIN ledger_account a ON a.id = l.account_id"
        " WHERE a.member_id = {}",
        li,
    )
    assert lot["points"] == lot["remaining"] == 1200
    assert before + dt.timedelta(days=365) <= lot["expires_at"] <= dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    entries, _ = await ledger.ledger_page(li)
    assert {entry["reason"] for entry in entries} == {"导入期初余额 / imported"}

    wang = await members.get_member(await members.identify(shop.program.id, "phone", "13900000002"))
    assert wang.birthday == solar_from_lunar(1990, 4, 15) and wang.birthday_calendar == "lunar"
    assert wang.tier == "gold"  # named in the file
    zhao = await members.get_member(await members.identify(shop.program.id, "phone", "13900000003"))
    assert zhao.birthday == dt.date(1992, 2, 29) and zhao.gender == "unknown"
    assert (await fetch_one("SELECT tier_since FROM member WHERE id = {}", zhao.id))["tier_since"] is None  # no tier
    changes = await fetch("SELECT to_tier, reason FROM tier_change ORDER BY to_tier")
    assert changes == [{"to_tier": "gold", "reason": "import"}, {"to_tier": "silver", "reason": "import"}]

    errors = read_errors(tmp_path / "members.errors.csv")
    assert set(errors) == IN_FILE | ALREADY | BAD
    assert "第 2 行" in errors[5][1] and "row 2" in errors[5][2] and "手机号" in errors[5][1]
    assert "卡号" in errors[6][1] and "card number" in errors[6][2]
    assert "已导入" in errors[7][1] and "Already imported" in errors[7][2]
    assert "不是有效的手机号码" in errors[9][1] and "is not a valid phone number" in errors[9][2]
    assert "1990-02-30" in errors[10][1] and "not a date" in errors[10][2]
    assert "12.345" in errors[11][1] and "元" in errors[11][1] and "yuan" in errors[11][2]
    assert "整数" in errors[12][1] and "whole number" in errors[12][2]
    assert "abc" in errors[13][2]
    assert "手机号或卡号" in errors[14][1] and "phone or a card number" in errors[14][2]
    assert "将来" in errors[16][1] and "future" in errors[16][2]
    assert "钻石" in errors[17][1] and "金卡 (gold)" in errors[17][2]
    assert "29 天" in errors[18][1] and "29 days" in errors[18][2]
    assert errors[9][3:] == rows()[8]  # the row's own cells follow: fix them and import the error file
    assert oct((tmp_path / "members.errors.csv").stat().st_mode & 0o777) == "0o600"

    counts = {table: await count(table) for table in ("member", "ledger_entry", "credential", "points_lot")}
    again = await import_members(path, shop.program.id, store_id=shop.store_id, actor="test")
    assert again.imported == 0 and again.already_imported == 5  # rows 2-4 now, rows 7-8 as before
    assert {table: await count(table) for table in counts} == counts
    assert await ledger_violations() == []
    audit = await fetch("SELECT actor, details FROM audit_log WHERE action = 'members.import'")
    assert len(audit) == 2 and all(row["actor"] == "test" for row in audit)


@pytest.mark.parametrize("readers", [0, 2])  # a reading thread; two reading processes (a chunk each)
async def test_duplicates_across_chunks_are_named_as_duplicates_in_the_file(any_db, tmp_path, readers):
    shop = await make_shop()
    table = [
        ["姓名", "手机"],
        ["甲", "13900000001"],
        ["乙", "13900000002"],
        ["丙", "13900000001"],
        ["丁", "13900000002"],
    ]
    path = write_csv(tmp_path / "m.csv", table)
    summary = await import_members(
        path, shop.program.id, chunk_size=2, errors_to=tmp_path / "bad.csv", readers_count=readers
    )
    assert (summary.imported, summary.duplicates_in_file, summary.already_imported) == (2, 2, 0)
    with (tmp_path / "bad.csv").open(encoding="utf-8-sig") as handle:
        found = list(csv.reader(handle))
    assert [row[0] for row in found[1:]] == ["4", "5"] and "文件内重复" in found[1][1]
    assert "earlier row" in found[1][2]
    assert multiprocessing.active_children() == []  # the reading processes ended with the import


async def test_an_interrupted_import_carries_on_where_it_stopped(any_db, tmp_path):
    """Stopped after its first chunk (an operator's Ctrl-C), the import leaves that chunk in the
    database and nothing of the rest, and no reading process behind; the same command again
    imports the rest, names the first chunk's rows as imported already, and the ledger holds."""
    shop = await make_shop()
    table = [["姓名", "手机", "积分"]] + [[f"会员{i}", f"139000{i:05d}", str(i + 1)] for i in range(10)]
    path = write_csv(tmp_path / "m.csv", table)
    members_before = await count("member")

    class Stopped(Exception):
        pass

    def stop(done: int, total: int | None) -> None:
        raise Stopped

    with pytest.raises(Stopped):
        await import_members(path, shop.program.id, chunk_size=4, progress=stop)
    assert multiprocessing.active_children() == []
    assert await count("member") == members_before + 4
    assert await ledger_violations() == []

    summary = await import_members(path, shop.program.id, chunk_size=4)
    assert (summary.imported, summary.already_imported, summary.duplicates_in_file) == (6, 4, 0)
    assert await count("member") == members_before + 10
    issued = await fetch_one(
        "SELECT SUM(points) AS n FROM points_lot WHERE posting_id IN"
        " (SELECT id FROM ledger_posting WHERE kind = 'import')"
    )
    assert issued["n"] == sum(range(1, 11))  # every opening balance booked once
    assert await ledger_violations() == []


async def test_an_excel_workbook_imports_like_a_csv_file(any_db, tmp_path):
    shop = await make_shop()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Mobile", "Birthday", "Stored value", "Points", "Card No"])
    sheet.append(["Li Lei", 13900000021, dt.datetime(1991, 3, 8), 88.5, 100, "a1b2c3d4"])
    sheet.append(["Han Meimei", "13900000022", "1992-13-01", 10, None, None])
    sheet.append(["Jim", 13900000023, None, 0.125, None, None])
    book.save(tmp_path / "members.xlsx")
    summary = await import_members(tmp_path / "members.xlsx", shop.program.id, errors_to=tmp_path / "errors.xlsx")
    assert (summary.imported, summary.errors) == (1, 2)
    lei = await members.identify(shop.program.id, "card_uid", "A1B2C3D4")
    assert (await ledger.balances(lei)).stored_value == 8850 and (await ledger.balances(lei)).points == 100
    assert (await members.get_member(lei)).birthday == dt.date(1991, 3, 8)
    errors = list(openpyxl.load_workbook(tmp_path / "errors.xlsx").active.iter_rows(values_only=True))
    assert [row[0] for row in errors[1:]] == [3, 4] and "0.125" in errors[2][2]
    assert await ledger_violations() == []


async def test_columns_are_mapped_by_hand_and_a_mapping_that_cannot_work_is_refused(any_db, tmp_path):
    shop = await make_shop()
    path = write_csv(tmp_path / "m.csv", [["会员", "联系方式", "备注"], ["甲", "13900000031", "老客"]])
    with pytest.raises(ColumnMappingInvalid, match="no column holds the name"):
        await import_members(path, shop.program.id)
    mapping = cols.parse_map("会员=name，联系方式=phone,备注=")
    assert mapping == {"会员": "name", "联系方式": "phone", "备注": "ignore"}
    summary = await import_members(path, shop.program.id, mapping=mapping)
    assert summary.imported == 1 and summary.mapping == "会员=name,联系方式=phone"
    with pytest.raises(ColumnMappingInvalid, match="no column 'Phone'"):
        await import_members(path, shop.program.id, mapping={"Phone": "phone"})
    with pytest.raises(ColumnMappingInvalid, match="unknown field"):
        cols.parse_map("会员=nickname")
    with pytest.raises(ImportFileUnreadable):
        await import_members(tmp_path / "missing.csv", shop.program.id)
    (tmp_path / "m.pdf").write_text("x")
    with pytest.raises(ImportFileUnreadable, match=r"\.csv and \.xlsx"):
        await import_members(tmp_path / "m.pdf", shop.program.id)


async def test_a_gb18030_csv_as_chinese_excel_saves_it_is_read(db, tmp_path):
    shop = await make_shop()
    path = write_csv(tmp_path / "m.csv", [["姓名", "手机"], ["欧阳娜娜", "13900000041"]], encoding="gb18030")
    assert (await import_members(path, shop.program.id)).imported == 1
    found = await members.search_members(shop.program.id, "欧阳")
    assert [m.name for m in found[0]] == ["欧阳娜娜"]


def test_headers_are_recognised_in_chinese_and_english():
    headers = [
        "手机号码",
        "Name",
        "性别",
        "出生日期",
        "农历",
        "会员标签",
        "会员卡号",
        "积分余额",
        "储值 stored_value",
        "成长值",
    ]
    detected = cols.detect([*headers, "等级 tier", "备注", "电话"])
    assert [detected.get(i) for i in range(13)] == [
        "phone",
        "name",
        "gender",
        "birthday",
        "birthday_calendar",
        "tags",
        "card",
        "points",
        "stored_value",
        "growth",
        "tier",
        None,
        None,  # a second phone column waits for a person to choose
    ]


def test_cells_are_read_exactly():
    assert values.minor_units("储值", "12.5") == 1250
    assert values.minor_units("储值", "1,234.50") == 123450 and values.minor_units("储值", "¥88") == 8800
    assert values.minor_units("储值", "0.1") == 10  # a float would say 10.000000000000002
    for bad in ("12.345", "-1", "abc", "NaN", "Infinity", "1e400"):
        with pytest.raises(InvalidAmount):
            values.minor_units("储值", bad)
    assert values.whole_number("积分", "1,200") == 1200 and values.whole_number("积分", "1200.0") == 1200
    assert values.date_parts("生日", "1990年5月17日") == (1990, 5, 17, False)
    assert values.date_parts("生日", "19900517") == (1990, 5, 17, False)
    assert values.date_parts("生日", "1990/5/17 0:00:00") == (1990, 5, 17, False)
    assert values.date_parts("生日", "32874") == (1990, 1, 1, False)  # an Excel day number
    assert values.birthday("生日", "1990年腊月初八", True) == (solar_from_lunar(1990, 12, 8), "lunar")
    assert values.birthday("生日", "1990-闰5-01", False) == (solar_from_lunar(1990, 5, 1, leap=True), "lunar")
    with pytest.raises(InvalidBirthday):
        values.birthday("生日", "1991-闰5-01", False)  # 1991 has no leap fifth month
    with pytest.raises(InvalidDate):
        values.date_parts("生日", "May 17")
    assert values.tags("VIP、咖啡, VIP ;烘焙") == ["VIP", "咖啡", "烘焙"]
    assert values.gender("性别", "女士") == "female" and values.gender("性别", "") == "unknown"
    assert mask_name("欧阳娜娜") == "欧***"
    assert all(is_valid_member_no(new_member_no()) for _ in range(10_000))


def test_the_phone_fast_path_agrees_with_enrolment():
    rng = random.Random(5)
    numbers = [f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}" for _ in range(3000)]
    numbers += ["+86 138-1234-5678", "008613812345678", "(0)21 6234 5678", "12345", "14000000000"]
    for number in numbers:
        try:
            expected = pd.normalize_phone(number)
        except InvalidPhone:
            expected = None
        try:
            found = values.phone(number)
        except InvalidPhone:
            found = None
        assert found == expected, number


async def test_exports_are_masked_unless_revealed_and_always_audited(any_db, tmp_path):
    shop = await shop_with_tiers()
    await import_members(write_csv(tmp_path / "members.csv", rows()), shop.program.id, store_id=shop.store_id)
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 1_990)])

    masked = await export("members", shop.program.id, tmp_path / "masked.csv", actor="staff:analyst")
    text = (tmp_path / "masked.csv").read_text(encoding="utf-8-sig")
    assert masked.rows == 4 and "13900000001" not in text and "139****0001" in text
    assert "李*" in text and "李娜" not in text and "****-04-15" in text and "C0000001" not in text and "…0001" in text
    assert "88.50" in text and "0.01" in text
    revealed = await export("members", shop.program.id, tmp_path / "revealed.csv", reveal=True, actor="cli")
    lines = (tmp_path / "revealed.csv").read_text(encoding="utf-8-sig").splitlines()
    assert revealed.rows == 4 and lines[0].startswith("会员号 member_no,姓名 name,手机 phone")
    li = next(line for line in lines if "李娜" in line)
    assert "13900000001" in li and "C0000001" in li and "1985-04-15" in li and ",88.50," in li
    assert oct((tmp_path / "revealed.csv").stat().st_mode & 0o777) == "0o600"

    await export("ledger", shop.program.id, tmp_path / "ledger.xlsx", fmt="xlsx", header="two-rows")
    sheet = list(openpyxl.load_workbook(tmp_path / "ledger.xlsx").active.iter_rows(values_only=True))
    assert sheet[0][:3] == ("时间", "会员号", "姓名") and sheet[1][:3] == ("time", "member_no", "name")
    stored = [row for row in sheet[2:] if row[3] == "储值 stored_value"]
    assert [row[4] for row in stored] == [88.5, 0.01] and stored[0][5] == "元 CNY"
    await export("sales", shop.program.id, tmp_path / "sales.csv", header="en")
    sold = list(csv.reader(io.StringIO((tmp_path / "sales.csv").read_text(encoding="utf-8-sig"))))
    assert sold[0][:3] == ["time", "store", "receipt_no"] and sold[1][4] == "张*" and sold[1][7] == "39.80"

    audit = await fetch(
        "SELECT actor, action, details FROM audit_log WHERE action LIKE '%.export' ORDER BY occurred_at"
    )
    assert [(row["actor"], row["action"]) for row in audit] == [
        ("staff:analyst", "members.export"),
        ("cli", "members.export"),
        ("system", "ledger.export"),
        ("system", "sales.export"),
    ]
    assert ['"revealed": false' in row["details"] for row in audit] == [True, False, True, True]


async def test_a_revealed_export_imports_again_into_another_program(any_db, tmp_path):
    shop = await shop_with_tiers()
    await import_members(write_csv(tmp_path / "members.csv", rows()), shop.program.id, store_id=shop.store_id)
    for style in ("zh-en", "two-rows"):
        await export("members", shop.program.id, tmp_path / f"{style}.csv", reveal=True, header=style)
    other = await org.create_program(shop.merchant_id, "第二方案", points_expiry_days=30)
    await configure(other.id, TIERS, None, actor="test")
    summary = await import_members(tmp_path / "zh-en.csv", other.id)
    assert summary.imported == 4 and summary.left_out == 0, summary
    li = await members.identify(other.id, "card_uid", "C0000001")
    assert (await ledger.balances(li)).stored_value == 8850 and (await members.get_member(li)).tier == "silver"
    wang = await members.get_member(await members.identify(other.id, "phone", "13900000002"))
    assert (wang.birthday, wang.birthday_calendar, wang.tier) == (solar_from_lunar(1990, 4, 15), "lunar", "gold")
    again = await import_members(tmp_path / "two-rows.csv", other.id)  # the English header row is skipped
    assert (again.rows, again.already_imported, again.errors) == (4, 4, 0)
    assert await ledger_violations() == []


# -- the command line --------------------------------------------------------------------------------


def cli(folder: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_the_command_line_imports_and_exports(tmp_path):
    cli(tmp_path, "init", "--merchant", "悦享咖啡", "--no-input")
    write_csv(tmp_path / "members.csv", rows())
    done = cli(tmp_path, "import", "members", "members.csv", "--store", "S01", "--errors", "left-out.csv")
    # a new deployment: no tiers (row 3 names 金卡), nobody yet (rows 7 and 8 land)
    assert "imported 4 members of 16 rows" in done.stdout and "━" in done.stdout  # a progress bar
    assert "0 already imported, 2 duplicates in the file, 10 errors → left-out.csv" in done.stdout
    assert (tmp_path / "left-out.csv").exists() and not (tmp_path / "members.errors.csv").exists()
    again = cli(tmp_path, "import", "members", "members.csv")
    assert "imported 0 members" in again.stdout and "4 already imported" in again.stdout

    cli(tmp_path, "export", "members", "--out", "masked.csv")
    assert "139****0001" in (tmp_path / "masked.csv").read_text(encoding="utf-8-sig")
    shown = cli(tmp_path, "export", "members", "--format", "xlsx", "--out", "all.xlsx", "--reveal")
    assert "revealed (audited)" in shown.stdout
    cells = [row for row in openpyxl.load_workbook(tmp_path / "all.xlsx").active.iter_rows(values_only=True)]
    assert any(row[2] == "13900000001" for row in cells)
    assert "exported 7 rows" in cli(tmp_path, "export", "ledger", "--out", "ledger.csv", "--since", "2020-01-01").stdout

    mapped = write_csv(tmp_path / "m.csv", [["会员", "联系方式"], ["甲", "13900000051"]])
    assert (
        "imported 1 members"
        in cli(tmp_path, "import", "members", str(mapped), "--map", "会员=name,联系方式=phone").stdout
    )
    for args in (
        ("import", "members", "missing.csv"),
        ("import", "members", str(mapped)),
        ("export", "sales", "--format", "pdf"),
    ):
        refused = cli(tmp_path, *args, ok=False)
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr and "━" not in refused.stdout  # refused before the bar


# -- the console -----------------------------------------------------------------------------------


async def test_an_owner_imports_a_file_from_the_console(console, tmp_path):
    await configure(console.shop.program.id, TIERS, None, actor="test")
    await members.issue_credential(console.shop.member_id, "card_uid", "0A0B0C0D")
    content = write_csv(tmp_path / "会员.csv", rows()).read_bytes()
    async with console.logged_in("owner") as client:
        form = (await client.get("/console/members/import")).text
        assert "导入会员" in form and "手机号码" in form  # the headers it recognises
        uploaded = await client.post(
            "/console/members/import",
            data={"_csrf_token": csrf_of(client)},
            files={"file": ("会员.csv", content, "text/csv")},
        )
        assert uploaded.status_code == 303
        page_url = uploaded.headers["location"]
        preview = await client.get(page_url)
        shown = text_of(preview.text)
        assert "会员.csv" in shown and "约 17 行" in shown and "可以导入" in shown
        assert "“12345” 不是有效的手机号码" in shown  # row 9: the first ten rows are checked
        assert "已导入：会员" in shown and "文件内重复" in shown  # row 7 (the shop's member), rows 5 and 6
        assert 'name="col_1"' in preview.text and '<option value="phone" selected>' in preview.text
        token = page_url.rsplit("/", 1)[1]
        fields = {f"col_{i}": key for i, key in cols.detect(HEADERS).items()}
        started = await client.post(
            page_url,
            data={
                **fields,
                "col_5": "ignore",
                "store_id": str(console.shop.store_id),
                "action": "start",
                "_csrf_token": csrf_of(client),
            },
        )
        assert started.status_code == 303
        for _ in range(200):
            status = await client.get(f"{page_url}/status")
            if 'data-status="done"' in status.text:
                break
            await asyncio.sleep(0.05)
        done = text_of(status.text)
        assert "共 16 行，导入 3 位会员" in done and "下载未导入的行" in done
        errors = await client.get(f"/console/members/import/{token}/errors")
        assert errors.status_code == 200 and "attachment" in errors.headers["content-disposition"]
        listed = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
        assert {int(row[0]) for row in listed[1:]} == IN_FILE | ALREADY | BAD
    li = await members.get_member(await members.identify(console.shop.program.id, "phone", "13900000001"))
    assert li.tags == [] and li.created_store_id == console.shop.store_id  # the tags column was left out
    assert await ledger_violations() == []
    async with console.logged_in("manager") as client:  # another staff member of the merchant may look
        assert (await client.get(page_url)).status_code == 200
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/members/import")).status_code == 403


async def test_console_downloads_are_masked_by_role_and_audited(console):
    shop = console.shop
    await ledger.top_up(shop.member_id, 10_050, shop.store_id)
    async with console.logged_in("analyst") as client:
        page = text_of((await client.get("/console/members/export")).text)
        assert "您的岗位无权查看完整信息" in page
        got = await client.post(
            "/console/members/export/members", data={"format": "csv", "reveal": "1", "_csrf_token": csrf_of(client)}
        )
        assert got.status_code == 200 and "members-" in got.headers["content-disposition"]
        text = got.content.decode("utf-8-sig")
        assert "138****5678" in text and "13812345678" not in text and "张*" in text and "100.50" in text
    async with console.logged_in("owner") as client:
        got = await client.post(
            "/console/members/export/members", data={"format": "xlsx", "reveal": "1", "_csrf_token": csrf_of(client)}
        )
        sheet = list(openpyxl.load_workbook(io.BytesIO(got.content)).active.iter_rows(values_only=True))
        assert sheet[1][1:3] == ("张伟", "13812345678")
        ledger_csv = await client.post(
            "/console/members/export/ledger", data={"format": "csv", "header": "zh", "_csrf_token": csrf_of(client)}
        )
        assert ledger_csv.content.decode("utf-8-sig").startswith("时间,会员号,姓名")
    async with console.logged_in("clerk") as client:
        assert (await client.get("/console/members/export")).status_code == 403
    audit = await fetch(
        "SELECT actor, action, details FROM audit_log WHERE action LIKE '%.export' ORDER BY occurred_at"
    )
    assert [(row["actor"], row["action"]) for row in audit] == [
        ("staff:analyst", "members.export"),
        ("staff:owner", "members.export"),
        ("staff:owner", "ledger.export"),
    ]
    assert ['"revealed": true' in row["details"] for row in audit] == [False, True, False]


# -- the console in a browser ------------------------------------------------------------------------

SHOTS = Path(os.environ.get("MEMBERSHIP_TEST_OUTPUT", Path(__file__).parent.parent / "test-output")) / "screenshots"


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_manager_uploads_previews_imports_and_downloads_the_rows_left_out(page, console_server, tmp_path):
    from playwright.sync_api import expect

    from tests.console_client import PASSWORD

    url = console_server.url
    path = write_csv(tmp_path / "门店会员.csv", rows())
    page.goto(f"{url}/console/members/import")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("导入会员")
    page.set_input_files("input[name=file]", str(path))
    page.click("text=上传并预览")

    expect(page.locator("h1")).to_contain_text("门店会员.csv")
    expect(page.locator("select[name=col_1]")).to_have_value("phone")  # 手机号, detected
    expect(page.locator("select[name=col_5]")).to_have_value("tags")
    expect(page.locator(".preview-rows")).to_contain_text("“12345” 不是有效的手机号码")
    page.select_option("select[name=col_5]", "ignore")  # leave the tags out
    page.click("button[value=preview]")
    expect(page.locator("select[name=col_5]")).to_have_value("ignore")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "import-preview.png", full_page=True)

    page.click("button[value=start]")
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=60_000)
    page.screenshot(path=SHOTS / "import-done.png", full_page=True)
    with page.expect_download() as download:
        page.click("text=下载未导入的行（附原因）")
    saved = tmp_path / "left-out.csv"
    download.value.save_as(saved)
    # this shop has no tiers (row 3 names 金卡) and no card 0A0B0C0D (row 8 lands)
    assert set(read_errors(saved)) == IN_FILE | {3, 7} | BAD
    expect(progress.locator(".notice")).to_have_text("共 16 行，导入 3 位会员。")

    page.goto(f"{url}/console/members?q=13900000001")
    expect(page.locator("table.list")).to_contain_text("李娜")
