"""Member merge through the API on SQLite and PostgreSQL: cards, ledgers with their lots and
expiry dates, tier history, coupons, sales and paid memberships move to the survivor; balances
add up; a merged member forwards to the survivor (GET by id, identify by phone, writes refused
naming it); audited; undone within a day (refused once what came with it was spent, or after a
day). A property-based test (SQLite) checks that balances and lots are conserved by any merge
and restored by its undo, and that the ledger's sums equal its balances throughout."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from membership.config import Settings
from membership.coupons.service import create_template
from membership.db import close_database, fetch, fetch_one, open_database
from membership.errors import InsufficientPoints, InsufficientStoredValue
from membership.ledger import service as ledger
from membership.ledger.pending import release_pending_points
from membership.ledger.rules import LineInput
from membership.members import merge
from membership.members import service as members
from membership.org.service import update_settings
from membership.sales import service as sales
from membership.tiers.service import configure
from tests.conftest import SECRET
from tests.helpers import ledger_violations, make_shop

KINDS = ("points", "points_pending", "points_debt", "stored_value", "stored_value_bonus", "growth")
TIERS = [
    {"code": "silver", "name": "银卡", "threshold": 0},
    {"code": "gold", "name": "金卡", "threshold": 3000},
]


async def _balances(member_id: uuid.UUID) -> dict[str, int]:
    rows = await fetch("SELECT kind, balance FROM ledger_account WHERE member_id = {}", member_id)
    return {row["kind"]: int(row["balance"]) for row in rows}


async def _lots(member_id: uuid.UUID) -> list[tuple]:
    rows = await fetch(
        "SELECT l.id, a.kind, l.points, l.remaining, l.expires_at FROM points_lot l"
        " JOIN ledger_account a ON a.id = l.account_id WHERE a.member_id = {} ORDER BY l.id",
        member_id,
    )
    return [(r["id"], r["kind"], int(r["points"]), int(r["remaining"]), r["expires_at"]) for r in rows]


async def _setup(api) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Survivor A (the shop's member), B with a card, a sale, stored value and gold, C with a sale;
    B and C both got the sign-up coupon."""
    program = api.shop.program.id
    await configure(program, TIERS, None, "test")
    await create_template(
        program,
        {
            "code": "welcome",
            "name": "入会礼",
            "kind": "amount_off",
            "amount_off": 500,
            "valid_days": 30,
            "issue_on": "sign_up",
        },
    )
    b = uuid.UUID((await api.call("POST", "/members", json={"name": "张伟", "phone": "13912345678"})).json()["id"])
    c = uuid.UUID((await api.call("POST", "/members", json={"name": "张伟（旧）"})).json()["id"])
    card = await api.call("POST", f"/members/{b}/credentials", json={"kind": "card_uid", "value": "04A1B2C3"})
    assert card.status_code == 201, card.text
    for member_id, amount in ((api.shop.member_id, 12_000), (b, 350_000), (c, 4_000)):
        assert (await api.buy({**api.sale(amount), "member_id": str(member_id)})).status_code == 201
    await ledger.top_up(b, 20_000)
    return api.shop.member_id, b, c


async def test_a_merge_moves_everything_and_forwards_the_merged_members(any_api):
    api = any_api
    a, b, c = await _setup(api)
    before = {m: await _balances(m) for m in (a, b, c)}
    lots_before = sorted([lot for m in (a, b, c) for lot in await _lots(m)])
    b_sale = await fetch_one("SELECT id FROM sale WHERE member_id = {}", b)
    denied = await api.call("POST", f"/members/{a}/merges", "pos", {"merged": [str(b)], "reason": "重复"})
    assert denied.status_code == 403
    answer = await api.call("POST", f"/members/{a}/merges", "admin", {"merged": [str(b), str(c)], "reason": "同一顾客"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["balances"]["points"] == sum(before[m]["points"] for m in (a, b, c)) == 120 + 3_500 + 40
    assert body["balances"]["stored_value"] == 20_000 and body["merged"] == [str(b), str(c)]
    after = await _balances(a)
    assert all(after[k] == sum(before[m][k] for m in (a, b, c)) for k in KINDS)
    assert await _balances(b) == dict.fromkeys(KINDS, 0)
    lots_after = await _lots(a)
    assert sorted(lots_after) == lots_before  # the same lots, same points and expiry dates
    # the card, the phone and the old id all find the survivor
    swiped = await api.call("GET", "/identify", "read", params={"kind": "card_uid", "value": "04A1B2C3"})
    by_phone = await api.call("GET", "/identify", "read", params={"kind": "phone", "value": "13912345678"})
    assert swiped.json()["member_id"] == by_phone.json()["member_id"] == str(a)
    old = await api.call("GET", f"/members/{b}", "read")
    assert old.status_code == 200 and old.json()["id"] == str(a) and old.json()["tier"] == "gold"
    refused = await api.buy({**api.sale(1_000), "member_id": str(b)})
    assert refused.status_code == 409 and refused.json()["code"] == "member_merged" and str(a) in refused.text
    # sales, coupons (the second sign-up coupon renamed, not lost) and tier history moved
    assert await fetch_one("SELECT member_id FROM sale WHERE id = {}", b_sale["id"]) == {"member_id": a}
    coupons = await fetch("SELECT occasion FROM coupon WHERE member_id = {} ORDER BY occasion", a)
    assert [c["occasion"][:7] for c in coupons] == ["sign_up", "sign_up"] and len({c["occasion"] for c in coupons}) == 2
    history = await api.call("GET", f"/members/{a}/tier-history", "read")
    assert history.json()["items"][0]["reason"] == "merge"
    assert {h["to_tier"] for h in history.json()["items"]} >= {"gold", "silver"}
    # an old sale of the merged member refunds from the survivor's ledger
    refunded = await api.call("POST", f"/transactions/{b_sale['id']}/refund", json={})
    assert refunded.status_code == 201 and refunded.json()["points_reversed"] == 3_500, refunded.text
    listed = await api.call("GET", f"/members/{a}/merges", "read")
    assert listed.json()[0]["reason"] == "同一顾客"
    assert await fetch("SELECT id FROM audit_log WHERE action = 'member.merge'")
    assert await ledger_violations() == []


async def test_undo_within_a_day_gives_every_member_back_what_they_had(any_api):
    api = any_api
    a, b, c = await _setup(api)
    before = {m: (await _balances(m), await _lots(m)) for m in (a, b, c)}
    tiers = {m: (await members.member_row(m))["tier"] for m in (a, b, c)}
    made = (await api.call("POST", f"/members/{a}/merges", "admin", {"merged": [str(b), str(c)], "reason": "x"})).json()
    undone = await api.call("POST", f"/member-merges/{made['id']}/undo", "admin", {"reason": "合并错了"})
    assert undone.status_code == 201 and undone.json()["undone"], undone.text
    for member_id in (a, b, c):
        assert (await _balances(member_id), await _lots(member_id)) == before[member_id]
        assert (await members.member_row(member_id))["tier"] == tiers[member_id]
    swiped = await api.call("GET", "/identify", "read", params={"kind": "card_uid", "value": "04A1B2C3"})
    assert swiped.json()["member_id"] == str(b)
    assert sorted(c["occasion"] for c in await fetch("SELECT occasion FROM coupon")) == ["sign_up", "sign_up"]
    assert (await api.buy({**api.sale(1_000), "member_id": str(b)})).status_code == 201
    again = await api.call("POST", f"/member-merges/{made['id']}/undo", "admin", {"reason": "再来"})
    assert again.status_code == 409 and again.json()["code"] == "merge_not_undoable"
    assert await ledger_violations() == []


async def test_undo_is_refused_once_merged_points_were_spent_or_after_a_day(any_api):
    api = any_api
    a, b, c = await _setup(api)
    made = (await api.call("POST", f"/members/{a}/merges", "admin", {"merged": [str(b)], "reason": "x"})).json()
    await ledger.redeem_points(a, 1_000, reason="兑换")  # more than A's own 120: B's lot was spent
    spent = await api.call("POST", f"/member-merges/{made['id']}/undo", "admin", {"reason": "撤销"}, lang="zh")
    assert spent.status_code == 409 and "合并转入的积分或储值此后已被使用" in spent.json()["detail"]
    other = (await api.call("POST", f"/members/{a}/merges", "admin", {"merged": [str(c)], "reason": "y"})).json()
    await fetch(
        "UPDATE member_merge SET created_at = {} WHERE id = {}",
        dt.datetime.now(dt.UTC) - dt.timedelta(days=1, minutes=1),
        uuid.UUID(other["id"]),
    )
    late = await api.call("POST", f"/member-merges/{other['id']}/undo", "admin", {"reason": "撤销"})
    assert late.status_code == 409 and "within a day" in late.json()["detail"]


async def test_bad_merges_are_refused(any_api):
    api = any_api
    a, b, c = await _setup(api)
    path = f"/members/{a}/merges"
    itself = await api.call("POST", path, "admin", {"merged": [str(a)], "reason": "x"})
    assert itself.status_code == 422
    elsewhere = await make_shop()  # another merchant's member: not found
    foreign = await api.call("POST", path, "admin", {"merged": [str(elsewhere.member_id)], "reason": "x"})
    assert foreign.status_code == 404
    assert (await api.call("POST", path, "admin", {"merged": [str(b)], "reason": "x"})).status_code == 201
    twice = await api.call("POST", path, "admin", {"merged": [str(b)], "reason": "x"})
    assert twice.status_code == 409 and twice.json()["code"] == "member_merged"
    into_merged = await api.call("POST", f"/members/{b}/merges", "admin", {"merged": [str(c)], "reason": "x"})
    assert into_merged.status_code == 409


# -- property: conservation by any merge and restoration by its undo ---------------------------

ops = st.lists(
    st.tuples(st.sampled_from(["buy", "adjust", "take", "top_up", "redeem", "refund", "debt"]), st.integers(1, 40_000)),
    max_size=5,
)


async def _totals(member_ids: list[uuid.UUID]) -> dict[str, int]:
    found = [await _balances(m) for m in member_ids]
    return {k: sum(f[k] for f in found) for k in KINDS}


async def _lot_totals(member_ids: list[uuid.UUID]) -> tuple[int, int, int]:
    lots = [lot for m in member_ids for lot in await _lots(m)]
    return len(lots), sum(lot[2] for lot in lots), sum(lot[3] for lot in lots)


async def _play(shop, member_id: uuid.UUID, plays: list[tuple[str, int]]) -> None:
    bought = []
    for op, amount in plays:
        try:
            if op == "buy":
                lines = [LineInput("A", 1, amount)]
                bought.append((await sales.record_purchase(shop.program.id, shop.store_id, member_id, lines)).id)
            elif op == "refund" and bought:
                await sales.refund(bought.pop())  # points spent since become debt
            elif op == "debt":  # buy, spend what it earned, return the goods: the member owes points
                sale = await sales.record_purchase(
                    shop.program.id, shop.store_id, member_id, [LineInput("D", 1, amount)]
                )
                spendable = (await ledger.balances(member_id)).points
                if spendable:
                    await ledger.redeem_points(member_id, spendable, reason="兑换")
                await sales.refund(sale.id)
            elif op == "adjust":
                await ledger.adjust_points(member_id, amount // 100 + 1, "补发", "test")
            elif op == "take":
                await ledger.adjust_points(member_id, -(amount // 200 + 1), "扣减", "test")
            elif op == "top_up":
                await ledger.top_up(member_id, amount)
            else:
                await ledger.redeem_points(member_id, amount // 300 + 1, reason="兑换")
        except (InsufficientPoints, InsufficientStoredValue):
            continue


def test_merge_conserves_balances_and_lots_and_undo_restores_them(sqlite_template):
    loop = asyncio.new_event_loop()
    folder = Path(tempfile.mkdtemp())
    shutil.copy(sqlite_template, folder / "m.db")
    loop.run_until_complete(open_database(Settings(database_url=f"sqlite:///{folder / 'm.db'}", secret_key=SECRET)))
    shops = [loop.run_until_complete(make_shop()), loop.run_until_complete(make_shop())]
    policy = {"points_policy": {"pending_days": 7, "expiry": "days_after", "expiry_days": 365}}
    loop.run_until_complete(update_settings(shops[1].program.id, policy))  # purchase points wait: pending lots
    checked, seen = [], set()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plays=st.lists(ops, min_size=2, max_size=4), pending=st.booleans())
    @example(plays=[[("debt", 20_000)], [("buy", 5_000), ("refund", 1)], [("top_up", 900)]], pending=False)
    def check(plays, pending):
        shop = shops[pending]

        async def run() -> None:
            ids = [(await members.enrol(shop.program.id, {"name": f"会员{i}"})).id for i in range(len(plays))]
            for member_id, played in zip(ids, plays, strict=True):
                await _play(shop, member_id, played)
            balances = {m: await _balances(m) for m in ids}
            lots = {m: await _lots(m) for m in ids}
            totals, lot_totals = await _totals(ids), await _lot_totals(ids)
            seen.update(kind for kind, total in totals.items() if total)
            made = await merge.merge_members(ids[0], ids[1:], "property", "test")
            assert await _totals([ids[0]]) == totals and await _lot_totals([ids[0]]) == lot_totals
            assert made.balances.points == totals["points"]
            assert await ledger_violations() == []
            await merge.undo_merge(made.id, "property", "test")
            for member_id in ids:
                assert await _balances(member_id) == balances[member_id]
                assert await _lots(member_id) == lots[member_id]
            assert await ledger_violations() == []
            checked.append(len(ids))

        loop.run_until_complete(run())

    try:
        check()
    finally:
        loop.run_until_complete(close_database())
        loop.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert len(checked) >= 10 and {"points", "points_pending", "points_debt", "stored_value"} <= seen


async def test_pending_points_released_after_the_merge_go_back_spendable(any_api):
    api = any_api
    a, b, _c = await _setup(api)
    policy = {"points_policy": {"pending_days": 7, "expiry": "days_after", "expiry_days": 365}}
    await update_settings(api.shop.program.id, policy)
    assert (await api.buy({**api.sale(9_000), "member_id": str(b)})).status_code == 201  # 90 pending
    made = (await api.call("POST", f"/members/{a}/merges", "admin", {"merged": [str(b)], "reason": "x"})).json()
    await release_pending_points(dt.datetime.now(dt.UTC) + dt.timedelta(days=8), lambda done, total: None)
    assert (await _balances(a))["points_pending"] == 0
    undone = await api.call("POST", f"/member-merges/{made['id']}/undo", "admin", {"reason": "撤销"})
    assert undone.status_code == 201, undone.text
    back = await _balances(b)
    assert back["points"] == 3_500 + 90 and back["points_pending"] == 0
    assert {lot[1] for lot in await _lots(b)} == {"points"}
    assert await ledger_violations() == []


def test_the_cli_merges_members_and_undoes_it(tmp_path, monkeypatch):
    import os
    import re
    import subprocess
    import sys

    from membership.config import load_settings
    from membership.org import service as org

    def cli(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
        found = subprocess.run(
            [sys.executable, "-m", "membership.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert found.returncode == 0, found.stderr
        return found.stdout

    cli("init", "--merchant", "悦享咖啡", "--program", "悦享会员", "--store-code", "SH01", "--store-name", "南京西路店")
    monkeypatch.chdir(tmp_path)

    async def enrol_two() -> list[uuid.UUID]:
        await open_database(load_settings(tmp_path / "membership.toml"))
        try:
            program = (await org.list_programs())[0]
            found = [(await members.enrol(program.id, {"name": name})).id for name in ("王芳", "王芳（旧卡）")]
            await ledger.adjust_points(found[1], 80, "旧卡积分", "test")
            return found
        finally:
            await close_database()

    survivor, old = asyncio.run(enrol_two())
    merged = cli("member", "merge", str(survivor), str(old), "--reason", "同一顾客", "--yes")
    assert "80" in merged and "merged 1" in merged
    merge_id = re.search(r"merge\s+([0-9a-f-]{36})", merged)[1]
    assert "undone" in cli("member", "undo-merge", merge_id, "--reason", "合并错了")
