"""A member's rights over their personal data through the API and the CLI (PIPL arts. 45, 47):
a machine-readable copy of everything (audited), erasure that keeps the books adding up,
consent per purpose with its history, and a retention period for inactive members."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from membership.db import execute, fetch, fetch_one
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import rights
from membership.members import service as members
from membership.org.service import update_settings
from membership.sales import service as sales
from tests.helpers import ledger_violations


async def test_export_through_the_api_is_complete_machine_readable_and_audited(any_api):
    api = any_api
    shop = api.shop
    await members.issue_credential(shop.member_id, "card_uid", "04A1B2C3")
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("6901", 2, 1_500, "拿铁")])
    assert (await api.call("GET", f"/members/{shop.member_id}/export", "pos")).status_code == 403  # admin only
    answer = await api.call("GET", f"/members/{shop.member_id}/export", "admin")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["profile"]["phone"] == "+8613812345678"  # in clear: it is the member's own copy
    assert [c["value"] for c in data["credentials"]] == ["04A1B2C3"]
    assert data["sales"][0]["lines"][0]["name"] == "拿铁" and data["balances"]["points"] == 30
    assert data["points_lots"][0]["points"] == 30 and data["ledger"]
    audit = await fetch("SELECT action, actor FROM audit_log WHERE action = 'member.export'")
    assert len(audit) == 1 and audit[0]["actor"] == "api-key:test-admin"


async def test_erasure_through_the_api_keeps_the_books_and_frees_the_phone(any_api):
    api = any_api
    shop = api.shop
    await members.issue_credential(shop.member_id, "card_uid", "04A1B2C3")
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)])
    await ledger.top_up(shop.member_id, 5_000, shop.store_id)
    path = f"/members/{shop.member_id}/erasure"
    assert (await api.call("POST", path, "pos", {"reason": "本人申请注销"})).status_code == 403
    blocked = await api.call("POST", path, "admin", {"reason": "本人申请注销"}, lang="zh")
    assert blocked.status_code == 409 and blocked.json()["code"] == "erasure_blocked", blocked.text
    assert "50.00" in blocked.json()["detail"]  # the stored value is owed to the member first
    await ledger.cash_out(shop.member_id, 5_000, shop.store_id, "注销前退还储值", actor="admin")

    erased = await api.call("POST", path, "admin", {"reason": "本人申请注销"})
    assert erased.status_code == 200 and erased.json()["status"] == "erased", erased.text
    row = await fetch_one("SELECT * FROM member WHERE id = {}", shop.member_id)
    assert row["status"] == "erased" and row["name"] == "已注销" and row["data_key"] is None
    assert all(row[f"{f}_enc"] is None for f in ("phone", "email", "id_number", "address"))
    assert (await fetch_one("SELECT total FROM sale WHERE id = {}", sale.id))["total"] == 10_000
    assert await ledger_violations() == []
    again = await api.call("POST", path, "admin", {"reason": "再来一次"})
    assert again.status_code == 409 and again.json()["code"] == "member_erased"
    unknown = await api.call("GET", "/identify", "pos", params={"kind": "card_uid", "value": "04A1B2C3"})
    assert unknown.status_code == 404
    rejoined = await api.call("POST", "/members", "pos", {"name": "张伟", "phone": "13812345678"})
    assert rejoined.status_code == 201, rejoined.text


async def test_consents_have_a_history_per_purpose(any_api):
    api = any_api
    joined = await api.call(
        "POST", "/members", "pos", {"name": "王芳", "phone": "13900000001", "consents": {"marketing": True}}
    )
    member = joined.json()["id"]
    withdrawn = await api.call(
        "PUT", f"/members/{member}/consents/marketing", "pos", {"granted": False, "source": "sms"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    await api.call("PUT", f"/members/{member}/consents/email", "pos", {"granted": True})
    same = await api.call("PUT", f"/members/{member}/consents/email", "pos", {"granted": True})  # no change: no row
    answer = (await api.call("GET", f"/members/{member}/consents", "read")).json()
    assert same.status_code == 200 and answer["current"] == {"marketing": False, "email": True}
    changes = [(c["purpose"], c["granted"], c["source"]) for c in answer["history"]]
    assert changes == [("marketing", True, "enrol"), ("marketing", False, "sms"), ("email", True, "api")]
    assert (await api.call("PUT", f"/members/{member}/consents/Bad Purpose", "pos", {"granted": True})).status_code in (
        400,
        404,
        422,
    )
    profile = await api.call("PATCH", f"/members/{member}", "pos", {"consents": {"marketing": True, "email": True}})
    assert profile.status_code == 200
    history = (await api.call("GET", f"/members/{member}/consents", "read")).json()["history"]
    assert [(c["purpose"], c["granted"], c["source"]) for c in history][-1] == ("marketing", True, "profile")


async def test_the_retention_job_erases_only_long_inactive_members_without_stored_value(any_db):
    from tests.helpers import make_shop

    shop = await make_shop(settings={"retention_days": 365})
    program = shop.program.id
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=500)
    quiet = await members.enrol(program, {"name": "沉睡", "phone": "13900000002"})
    saver = await members.enrol(program, {"name": "储值", "phone": "13900000003"})
    await ledger.top_up(saver.id, 1_000, shop.store_id)
    for member_id in (quiet.id, saver.id):  # as if enrolled, and last seen, 500 days ago
        await execute("UPDATE member SET created_at = {}, updated_at = {} WHERE id = {}", old, old, member_id)
        await execute("UPDATE ledger_posting SET created_at = {} WHERE member_id = {}", old, member_id)
    result = await rights.apply_retention(program, 365, dt.datetime.now(dt.UTC))
    assert (result.erased, result.kept_for_stored_value) == (1, 1)
    states = {r["id"]: r["status"] for r in await fetch("SELECT id, status FROM member")}
    assert states == {shop.member_id: "active", quiet.id: "erased", saver.id: "active"}
    assert (await rights.apply_retention(program, 365, dt.datetime.now(dt.UTC))).erased == 0  # once
    await update_settings(program, {"retention_days": None})


def _cli(folder, *args, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
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


def test_member_export_and_erase_from_the_command_line(tmp_path):
    _cli(tmp_path, "init")
    _cli(tmp_path, "demo", "--members", "5", "--purchases", "5")
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3; print(sqlite3.connect('membership.db').execute("
            "\"SELECT id FROM member WHERE status = 'active' AND id NOT IN (SELECT member_id FROM ledger_account"
            " WHERE kind = 'stored_value' AND balance > 0) LIMIT 1\").fetchone()[0])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    member = found.stdout.strip()
    exported = _cli(tmp_path, "member", "export", member, "--out", "copy.json")
    data = json.loads((tmp_path / "copy.json").read_text())
    assert data["profile"]["id"] == member and data["profile"]["phone"].startswith("+86")
    assert oct((tmp_path / "copy.json").stat().st_mode & 0o777) == "0o600" and "copy.json" in exported.stderr
    assert json.loads(_cli(tmp_path, "member", "export", member).stdout)["profile"]["id"] == member
    _cli(tmp_path, "member", "erase", member, "--reason", "本人申请注销", "--yes")
    again = _cli(tmp_path, "member", "erase", member, "--reason", "x", "--yes", ok=False)
    assert again.returncode == 1 and "member_erased" in again.stderr and "Traceback" not in again.stderr
    bad = _cli(tmp_path, "member", "export", "not-an-id", ok=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
